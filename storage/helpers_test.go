package storage

import (
	"bytes"
	"fmt"
	"testing"
)

func id(b byte) (v [16]byte) {
	for i := range v {
		v[i] = b
	}
	return v
}

func key32(b byte) (v [32]byte) {
	for i := range v {
		v[i] = b ^ byte(i)
	}
	return v
}

var (
	circleA = id(0xa1)
	circleB = id(0xb2)
	alice   = id(0x01)
	bob     = id(0x02)
)

// openStore opens a store in home with testKey, failing the test on error.
func openStore(t testing.TB, home string) *Store {
	t.Helper()
	s, err := Open(home, testKey, Options{})
	if err != nil {
		t.Fatalf("Open: got error %v, want nil", err)
	}
	return s
}

// newStore returns an open store in a fresh directory, closed at cleanup,
// with circleA holding epochs 1 and 2.
func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	home := t.TempDir()
	s := openStore(t, home)
	t.Cleanup(func() { _ = s.Close() })
	must(t, s.AddCircle(circleA))
	must(t, s.AddEpoch(circleA, 1, key32(1), key32(101)))
	must(t, s.AddEpoch(circleA, 2, key32(2), key32(102)))
	return s, home
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
}

// env is a deterministic envelope for author, seq and a variant.
func env(author [16]byte, seq uint64, variant byte) []byte {
	return fmt.Appendf(nil, "env|%x|%d|%d|%s", author[:2], seq, variant, bytes.Repeat([]byte{'.'}, 32))
}

func rec(author [16]byte, seq uint64) []byte {
	return fmt.Appendf(nil, "record %x %d", author[:2], seq)
}

// entry is a full entry of epoch 1 with a record and Lamport = seq*10.
func entry(author [16]byte, seq uint64) Entry {
	return Entry{Author: author, Seq: seq, Epoch: 1, Envelope: env(author, seq, 0), Record: rec(author, seq), Lamport: seq * 10}
}

func appendOK(t testing.TB, s *Store, circle [16]byte, e Entry) {
	t.Helper()
	stored, err := s.Append(circle, e)
	if err != nil || !stored {
		t.Fatalf("Append(seq %d): got (%v, %v), want (true, nil)", e.Seq, stored, err)
	}
}
