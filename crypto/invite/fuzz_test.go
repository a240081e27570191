package invite

import (
	"errors"
	"testing"
	"time"
)

// fuzzNow is fixed so that committed seeds keep their meaning.
var fuzzNow = time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)

func FuzzParse(f *testing.F) {
	f.Add(typical(f).String())
	f.Add("")
	f.Add("HEARTH-")
	f.Fuzz(func(t *testing.T, code string) {
		inv, err := Parse(code, fuzzNow)
		if err != nil {
			for _, want := range []error{ErrChecksum, ErrExpired, ErrVersion, ErrMalformed, ErrAddress, ErrTooLong} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("Parse: got %v, want one of the package's errors", err)
		}
		again := inv.String()
		if again == "" {
			t.Fatalf("String of a parsed invite: got \"\"")
		}
		inv2, err := Parse(again, fuzzNow)
		if err != nil {
			t.Fatalf("Parse(String()): got %v, want nil", err)
		}
		if !equal(inv, inv2) {
			t.Fatalf("Parse(String()): got %+v, want %+v", inv2, inv)
		}
		if inv2.String() != again {
			t.Fatalf("String is not stable: got %s, want %s", inv2.String(), again)
		}
	})
}
