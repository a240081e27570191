package storage

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// A store whose every file opens but one record no longer authenticates:
// Latest refuses the page (ErrCorrupt), Salvage hands over every other
// record, in display order, and counts the damaged one.
func TestSalvageSkipsDamagedRecords(t *testing.T) {
	s, _ := newStore(t)
	var batch []Entry
	for seq := uint64(1); seq <= 50; seq++ {
		batch = append(batch, entry(alice, seq))
	}
	_, err := s.AppendBatch(circleA, batch)
	must(t, err)
	// Damage record 25 and put a value too short for its format beside it.
	must(t, s.write(func(db *badger.DB, _ *ring) error {
		return db.Update(func(txn *badger.Txn) error {
			k := recordKey(circleA, 25*10, alice, 25)
			it, err := txn.Get(k)
			if err != nil {
				return err
			}
			v, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			v[len(v)-1] ^= 1
			if err := txn.Set(k, v); err != nil {
				return err
			}
			return txn.Set(recordKey(circleA, 999, alice, 999), binary.BigEndian.AppendUint64(nil, 1)[:3])
		})
	}))
	if _, err := s.Latest(circleA, nil, 100); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Latest over a damaged record: got %v, want ErrCorrupt", err)
	}
	var got []uint64
	skipped, err := s.Salvage(circleA, func(it Item) error {
		if string(it.Record) != string(rec(alice, it.Seq)) {
			t.Errorf("seq %d: got record %q, want %q", it.Seq, it.Record, rec(alice, it.Seq))
		}
		got = append(got, it.Seq)
		return nil
	})
	must(t, err)
	if skipped != 2 || len(got) != 49 {
		t.Fatalf("got %d records and %d skipped, want 49 and 2", len(got), skipped)
	}
	for i, seq := range got {
		want := uint64(i + 1)
		if want >= 25 {
			want++
		}
		if seq != want {
			t.Fatalf("record %d: got seq %d, want %d (display order)", i, seq, want)
		}
	}
	stop := errors.New("stop")
	if _, err := s.Salvage(circleA, func(Item) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("an error from fn: got %v, want it returned", err)
	}
	if _, err := s.Salvage([16]byte{9}, func(Item) error { return nil }); !errors.Is(err, ErrNoCircle) {
		t.Fatalf("unknown circle: got %v, want ErrNoCircle", err)
	}
}
