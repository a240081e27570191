package storage

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzKeyring feeds arbitrary bytes to the keyring decoder: it must refuse
// with ErrCorrupt or decode to a keyring that encodes back to the same bytes
// (the format has one encoding per keyring).
func FuzzKeyring(f *testing.F) {
	f.Add(appendKeyring(nil, &keyring{}))
	f.Add(appendKeyring(nil, &keyring{
		circles: []circleKeys{
			{id: id(1), root: key32(1), floor: 2, cleared: 1, epochs: []epochKeys{{2, key32(2), key32(3)}, {3, key32(4), key32(5)}}},
			{id: id(2), root: key32(6)},
		},
		tombstones: [][16]byte{id(9)},
	}))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := decodeKeyring(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeKeyring: got %v, want nil or ErrCorrupt", err)
			}
			return
		}
		if again := appendKeyring(nil, k); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding: got %x, want %x", again, b)
		}
	})
}

// FuzzOpenSealed feeds arbitrary values to the sealed-value opener and the
// keyring file opener: anything but an intact seal under the right key and
// associated data must be ErrCorrupt, and nothing may panic.
func FuzzOpenSealed(f *testing.F) {
	a := newAEAD(key32(7))
	aad := []byte("k-aad")
	f.Add(seal(nil, a, aad, []byte("hello")), aad)
	f.Add(seal(nil, a, aad, nil), aad)
	f.Add(sealKeyring(newAEAD(keyringKey(testKey)), &keyring{circles: []circleKeys{{id: id(1), root: key32(1)}}}), []byte{})
	f.Add([]byte{sealVersion}, []byte{})
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		pt, err := openSealed(a, aad, sealed)
		switch {
		case err == nil:
			// Only a value this test sealed can open: check it re-seals.
			if _, err := openSealed(a, aad, seal(nil, a, aad, pt)); err != nil {
				t.Fatalf("re-sealed value: got %v, want nil", err)
			}
		case !errors.Is(err, ErrCorrupt):
			t.Fatalf("openSealed: got %v, want nil or ErrCorrupt", err)
		}
		if _, err := openKeyring(newAEAD(keyringKey(testKey)), sealed); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("openKeyring: got %v, want nil or ErrCorrupt", err)
		}
	})
}
