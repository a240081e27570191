package storage

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestKV(t *testing.T) {
	s, _ := newStore(t)
	must(t, s.Put(circleA, "roster", []byte("b"), []byte("2"), false))
	must(t, s.Put(circleA, "roster", []byte("a"), []byte("1"), true))
	must(t, s.Put(circleA, "roster", []byte("c"), nil, false))
	must(t, s.Put(circleA, "roster2", []byte("z"), []byte("other bucket"), false))
	must(t, s.Put(circleA, "roste", []byte("rz"), []byte("prefix bucket"), false))

	var got []string
	must(t, s.List(circleA, "roster", func(k, v []byte) error {
		got = append(got, fmt.Sprintf("%s=%s", k, v))
		return nil
	}))
	if want := "a=1 b=2 c="; strings.Join(got, " ") != want {
		t.Errorf("List: got %q, want %q", strings.Join(got, " "), want)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.List(circleA, "roster", func(k, v []byte) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("List stopping: got (%v, %d calls), want (stop, 1)", err, calls)
	}
	must(t, s.Delete(circleA, "roster", []byte("b")))
	must(t, s.Delete(circleA, "roster", []byte("never")))
	if _, err := s.Get(circleA, "roster", []byte("b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get deleted: got %v, want ErrNotFound", err)
	}
	v, err := s.Get(circleA, "roster2", []byte("z"))
	must(t, err)
	if string(v) != "other bucket" {
		t.Errorf("Get: got %q, want %q", v, "other bucket")
	}

	tests := []struct {
		name   string
		err    error
		wanted error
	}{
		{"empty bucket", s.Put(circleA, "", []byte("k"), nil, false), ErrInvalid},
		{"long bucket", s.Put(circleA, strings.Repeat("b", 256), []byte("k"), nil, false), ErrTooLarge},
		{"empty key", s.Put(circleA, "b", nil, nil, false), ErrInvalid},
		{"long key", s.Put(circleA, "b", make([]byte, MaxKeySize+1), nil, false), ErrTooLarge},
		{"long value", s.Put(circleA, "b", []byte("k"), make([]byte, MaxValueSize+1), false), ErrTooLarge},
		{"unknown circle", s.Put(circleB, "b", []byte("k"), nil, false), ErrNoCircle},
		{"get unknown circle", second(s.Get(circleB, "b", []byte("k"))), ErrNoCircle},
		{"global empty", s.PutGlobal(nil, nil), ErrInvalid},
		{"global missing", second(s.GetGlobal([]byte("nope"))), ErrNotFound},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, tc.wanted) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.wanted)
		}
	}
}

func TestKVValuesAreSealed(t *testing.T) {
	s, _ := newStore(t)
	secret := []byte("pseudonym: quiet-river")
	must(t, s.Put(circleA, "identity", []byte("name"), secret, false))
	k := kvKey(circleA, "identity", []byte("name"))
	var raw []byte
	must(t, s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		raw, err = item.ValueCopy(nil)
		return err
	}))
	if bytes.Contains(raw, secret) {
		t.Errorf("raw Badger value contains the plaintext")
	}
	// Moving a sealed value to another key fails to open.
	other := kvKey(circleA, "identity", []byte("other"))
	must(t, s.db.Update(func(txn *badger.Txn) error { return txn.Set(other, raw) }))
	if _, err := s.Get(circleA, "identity", []byte("other")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of a moved value: got %v, want ErrCorrupt", err)
	}
	// A flipped byte fails to open.
	raw[len(raw)-1] ^= 1
	must(t, s.db.Update(func(txn *badger.Txn) error { return txn.Set(k, raw) }))
	if _, err := s.Get(circleA, "identity", []byte("name")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of a flipped value: got %v, want ErrCorrupt", err)
	}
}

func TestGlobal(t *testing.T) {
	s, _ := newStore(t)
	must(t, s.PutGlobal([]byte("lang"), []byte("fr")))
	must(t, s.PutGlobal([]byte("lang"), []byte("de")))
	v, err := s.GetGlobal([]byte("lang"))
	must(t, err)
	if string(v) != "de" {
		t.Errorf("GetGlobal: got %q, want %q", v, "de")
	}
	must(t, s.DeleteGlobal([]byte("lang")))
	if _, err := s.GetGlobal([]byte("lang")); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetGlobal after delete: got %v, want ErrNotFound", err)
	}
}
