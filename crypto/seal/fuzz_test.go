package seal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearth-circles/hearth/crypto/identity"
)

// fuzzIdentity is fixed so that committed seeds sealed to it stay valid.
func fuzzIdentity(t testing.TB) *identity.Identity {
	id, err := identity.Parse(bytes.Repeat([]byte{0xf2}, identity.PrivateSize))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func FuzzOpen(f *testing.F) {
	id := fuzzIdentity(f)
	sealed, err := Secret(id.Public().SealKey, [16]byte{1}, 2, []byte("a thirty-two byte epoch secret!!"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, uint64(2))
	f.Add(sealed[:Overhead+1], uint64(2))
	f.Add([]byte{}, uint64(0))
	f.Fuzz(func(t *testing.T, sealed []byte, epoch uint64) {
		got, err := Open(id, [16]byte{1}, epoch, sealed)
		if err != nil {
			if got != nil {
				t.Fatalf("Open: got %x with error %v, want nil", got, err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrOpen) {
				t.Fatalf("Open: got %v, want ErrMalformed or ErrOpen", err)
			}
			return
		}
		if len(got) != len(sealed)-Overhead {
			t.Fatalf("Open: got %d bytes from %d sealed, want %d", len(got), len(sealed), len(sealed)-Overhead)
		}
	})
}
