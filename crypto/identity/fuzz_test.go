package identity

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParsePublic(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, PublicSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePublic(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParsePublic: got %v, want ErrMalformed", err)
			}
			return
		}
		if got := p.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("ParsePublic(b).Marshal(): got %x, want %x", got, b)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, PrivateSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse: got %v, want ErrMalformed", err)
			}
			return
		}
		if got := id.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("Parse(b).Marshal(): got %x, want %x", got, b)
		}
		msg := []byte("fuzz")
		if !Verify(id.Public().SignKey, msg, id.Sign(msg)) {
			t.Fatalf("Verify of own signature: got false, want true")
		}
	})
}
