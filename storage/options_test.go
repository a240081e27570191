package storage

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/dgraph-io/badger/v4/skl"
)

// The memtable arena Badger allocates whole stays small, and its largest
// transaction still holds the largest entry and key-value the store takes.
func TestBadgerOptionsBounds(t *testing.T) {
	opt := badgerOptions(t.TempDir(), testKey, badgerLogger{slog.New(slog.DiscardHandler)})
	// As Badger sizes them (db.go: Open and arenaSize).
	maxBatch := 15 * opt.MemTableSize / 100
	arena := opt.MemTableSize + maxBatch + maxBatch/int64(skl.MaxNodeSize)*int64(skl.MaxNodeSize)
	if arena > 11<<20 {
		t.Errorf("memtable arena of %.1f MiB, want at most 11 MiB held for as long as a store is open", float64(arena)/(1<<20))
	}
	if diskReserve < 64<<20 {
		t.Errorf("the store refuses writes below %d MiB free, want at least 64 MiB (app's TestFaultDiskFull)", diskReserve>>20)
	}
	if opt.NumMemtables > 2 {
		t.Errorf("%d memtables, want at most 2", opt.NumMemtables)
	}

	s, _ := newStore(t)
	if got := s.db.MaxBatchSize(); got != maxBatch {
		t.Fatalf("Badger's largest transaction is %d bytes, this test reckons %d: update its arithmetic", got, maxBatch)
	}
	big := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	// Values of 1 MiB and more go to the value log and weigh a pointer in a
	// transaction; the heaviest entry is one whose envelope is stored just
	// below that threshold, with a record as large as may be, also stored
	// below it.
	seq := uint64(0)
	for _, short := range []int{0, 1, 16, 32, 64, 128, 1024, 64 << 10} {
		for _, rshort := range []int{0, 64, 1024} {
			seq++
			appendOK(t, s, circleA, Entry{Author: alice, Seq: seq, Epoch: 1, Lamport: seq,
				Envelope: big(MaxEnvelopeSize-short, 'e'), Record: big(MaxRecordSize-rshort, 'r')})
		}
	}
	n, err := s.AppendBatch(circleA, []Entry{
		{Author: bob, Seq: 1, Epoch: 1, Lamport: 100, Envelope: big(MaxEnvelopeSize-32, 'e'), Record: big(MaxRecordSize, 'r')},
		{Author: bob, Seq: 2, Epoch: 1, Lamport: 101, Envelope: big(MaxEnvelopeSize-32, 'f'), Record: big(MaxRecordSize, 's')},
	})
	if err != nil || n != 2 {
		t.Fatalf("AppendBatch of two largest entries: got (%d, %v), want (2, nil)", n, err)
	}
	// A value just below Badger's value threshold stays in the tree; at
	// MaxValueSize it goes to the value log.
	for _, short := range []int{0, 1, 16, 32, 64, 128} {
		must(t, s.Put(circleA, "b", big(MaxKeySize, byte(short)), big(MaxValueSize-short, 'v'), false))
	}

	items, err := s.Latest(circleA, nil, 1)
	if err != nil || len(items) != 1 || !bytes.Equal(items[0].Record, big(MaxRecordSize, 's')) {
		t.Errorf("reading back the latest, largest record: %d items, %v", len(items), err)
	}
	_, err = s.Append(circleA, Entry{Author: alice, Seq: seq + 1, Epoch: 1, Envelope: env(alice, seq+1, 0), Record: big(MaxRecordSize+1, 'r')})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("a record past MaxRecordSize: got %v, want ErrTooLarge", err)
	}
}

// A store leaves no level-0 table when it closes, so that the next open
// does not begin with a compaction.
func TestCloseCompactsLevelZero(t *testing.T) {
	home := t.TempDir()
	for session := range 3 {
		s := openStore(t, home)
		if session == 0 {
			must(t, s.AddCircle(circleA))
			must(t, s.AddEpoch(circleA, 1, key32(1), key32(101)))
		}
		if l0 := s.db.Levels()[0].NumTables; l0 != 0 {
			t.Fatalf("session %d opened with %d level-0 tables, want 0", session, l0)
		}
		for i := range 200 {
			seq := uint64(session*200 + i + 1)
			appendOK(t, s, circleA, Entry{Author: alice, Seq: seq, Epoch: 1, Lamport: seq,
				Envelope: env(alice, seq, 0), Record: []byte("a record")})
		}
		must(t, s.Close())
	}
	s := openStore(t, home)
	defer s.Close()
	n, err := s.Count(circleA)
	if err != nil || n != 600 {
		t.Fatalf("after three sessions: %d records (%v), want 600", n, err)
	}
}
