package storage

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// A closed store stamps its tables; the stamps name exactly the manifest's
// tables, authenticate under the store's key only, and the store reopens.
func TestStampsWrittenOnClose(t *testing.T) {
	home := corruptFixture(t)
	dir := filepath.Join(home, storeDirName)
	tables, err := manifestTables(dir, nil)
	must(t, err)
	if len(tables) == 0 {
		t.Fatal("the fixture has no tables")
	}
	st := loadStamps(dir, stampsKey(testKey))
	if len(st) != len(tables) {
		t.Fatalf("stamps: got %d, want one per table (%d)", len(st), len(tables))
	}
	for id := range tables {
		if _, ok := st[id]; !ok {
			t.Errorf("table %d has no stamp", id)
		}
	}
	if other := loadStamps(dir, stampsKey([32]byte{9})); other != nil {
		t.Errorf("stamps read under another key: got %d, want none", len(other))
	}
	s, err := Open(home, testKey, Options{})
	must(t, err)
	must(t, s.Close())
}

// A table whose bytes changed after it was stamped gets the full check,
// whatever a stamps file says unless the store's own key signed it.
func TestStampsDoNotHideDamage(t *testing.T) {
	home := corruptFixture(t)
	dir := filepath.Join(home, storeDirName)
	matches, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	must(t, err)
	if len(matches) != 1 {
		t.Fatalf("tables: got %v, want one", matches)
	}
	must(t, flip(matches[0], func(n int64) int64 { return n / 4 })) // inside a data block
	// Stamps of the damaged bytes, under a key that is not the store's:
	// ignored, so the damage is found.
	forged, err := stampTables(dir, nil, nil)
	must(t, err)
	must(t, saveStamps(dir, stampsKey([32]byte{9}), forged))
	if s, err := Open(home, testKey, Options{}); !errors.Is(err, ErrCorrupt) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open with forged stamps over a damaged table: got %v, want ErrCorrupt", err)
	}
	// The same stamps under the store's own key are taken (only this
	// store's Hearth can write them): the block-by-block check is skipped,
	// which is what spares an open the decryption of every table.
	must(t, saveStamps(dir, stampsKey(testKey), forged))
	s, err := Open(home, testKey, Options{})
	if err != nil {
		t.Fatalf("Open with the store's own stamps: got %v, want the full check skipped", err)
	}
	s.Close()
}

func TestDecodeStampsRefuses(t *testing.T) {
	key := stampsKey(testKey)
	good := encodeStamps(tableStamps{1: {size: 10, sum: 7}, 5: {size: 99, sum: 8}}, key)
	st, err := decodeStamps(good, key)
	if err != nil || len(st) != 2 || st[5] != (tableStamp{size: 99, sum: 8}) {
		t.Fatalf("round trip: got %v, %v", st, err)
	}
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 1
		if _, err := decodeStamps(b, key); err == nil {
			t.Errorf("byte %d flipped: accepted", i)
		}
	}
	for n := range len(good) {
		if _, err := decodeStamps(good[:n], key); err == nil {
			t.Errorf("cut to %d bytes: accepted", n)
		}
	}
}

func FuzzDecodeStamps(f *testing.F) {
	key := stampsKey(testKey)
	f.Add(encodeStamps(tableStamps{1: {size: 10, sum: 7}}, key))
	f.Add([]byte(stampsMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeStamps(b, key)
		if err != nil {
			return
		}
		if again := encodeStamps(st, key); !bytes.Equal(again, b) {
			t.Fatalf("accepted stamps that do not encode back to themselves")
		}
	})
}
