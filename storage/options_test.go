package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4/skl"
)

// The memtable arena Badger allocates whole stays small, and its largest
// transaction still holds the largest entry and key-value the store takes,
// at each memtable size Hearth uses.
func TestBadgerOptionsBounds(t *testing.T) {
	for _, tc := range []struct {
		memTable, maxArena int64
	}{{DefaultMemTableSize, 11 << 20}, {SmallMemTableSize, 3 << 20}} {
		t.Run(fmt.Sprintf("%dMiB", tc.memTable>>20), func(t *testing.T) {
			opt := badgerOptions(t.TempDir(), testKey, badgerLogger{slog.New(slog.DiscardHandler)}, tc.memTable)
			// As Badger sizes them (db.go: Open and arenaSize).
			maxBatch := 15 * opt.MemTableSize / 100
			arena := opt.MemTableSize + maxBatch + maxBatch/int64(skl.MaxNodeSize)*int64(skl.MaxNodeSize)
			if arena > tc.maxArena {
				t.Errorf("memtable arena of %.1f MiB, want at most %.0f MiB held for as long as a store is open", float64(arena)/(1<<20), float64(tc.maxArena)/(1<<20))
			}
			if diskReserve < 64<<20 {
				t.Errorf("the store refuses writes below %d MiB free, want at least 64 MiB (app's TestFaultDiskFull)", diskReserve>>20)
			}
			if opt.NumMemtables > 2 {
				t.Errorf("%d memtables, want at most 2", opt.NumMemtables)
			}
			threshold := opt.ValueThreshold
			if threshold < 128<<10 {
				t.Errorf("value threshold of %d bytes, want at least 128 KiB: larger values go to the value log, which the store never collects", threshold)
			}

			home := t.TempDir()
			s, err := Open(home, testKey, Options{MemTableSize: tc.memTable})
			must(t, err)
			defer s.Close()
			must(t, s.AddCircle(circleA))
			must(t, s.AddEpoch(circleA, 1, key32(1), key32(101)))
			if got := s.db.MaxBatchSize(); got != maxBatch {
				t.Fatalf("Badger's largest transaction is %d bytes, this test reckons %d: update its arithmetic", got, maxBatch)
			}
			big := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
			// Values from the threshold up go to the value log and weigh a
			// pointer in a transaction; the heaviest entry is one whose
			// envelope is stored just below the threshold (its value is the
			// envelope and 17 bytes), with a record as large as may be.
			// Each must fit one transaction (Badger refuses a larger one
			// with ErrTxnTooBig), alone and three in a batch.
			below := int(threshold) - 17
			seq := uint64(0)
			for _, size := range []int{MaxEnvelopeSize, MaxEnvelopeSize - 1024, below + 1, below, below - 1, below - 64, below - 1024} {
				for _, rshort := range []int{0, 64, 1024} {
					seq++
					appendOK(t, s, circleA, Entry{Author: alice, Seq: seq, Epoch: 1, Lamport: seq,
						Envelope: big(size, 'e'), Record: big(MaxRecordSize-rshort, 'r')})
				}
			}
			n, err := s.AppendBatch(circleA, []Entry{
				{Author: bob, Seq: 1, Epoch: 1, Lamport: 100, Envelope: big(below-1, 'e'), Record: big(MaxRecordSize, 'r')},
				{Author: bob, Seq: 2, Epoch: 1, Lamport: 101, Envelope: big(below-1, 'f'), Record: big(MaxRecordSize, 's')},
				{Author: bob, Seq: 3, Epoch: 1, Lamport: 102, Envelope: big(MaxEnvelopeSize, 'g'), Record: big(MaxRecordSize, 't')},
			})
			if err != nil || n != 3 {
				t.Fatalf("AppendBatch of three largest entries: got (%d, %v), want (3, nil)", n, err)
			}
			// Key-values around the threshold and up to MaxValueSize fit
			// one transaction too.
			for _, size := range []int{MaxValueSize, MaxValueSize - 1, int(threshold), int(threshold) - 41, int(threshold) - 42, int(threshold) - 1024} {
				must(t, s.Put(circleA, "b", big(MaxKeySize, byte(size)), big(size, 'v'), false))
			}

			items, err := s.Latest(circleA, nil, 1)
			if err != nil || len(items) != 1 || !bytes.Equal(items[0].Record, big(MaxRecordSize, 't')) {
				t.Errorf("reading back the latest, largest record: %d items, %v", len(items), err)
			}
			_, err = s.Append(circleA, Entry{Author: alice, Seq: seq + 1, Epoch: 1, Envelope: env(alice, seq+1, 0), Record: big(MaxRecordSize+1, 'r')})
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("a record past MaxRecordSize: got %v, want ErrTooLarge", err)
			}
		})
	}
	if _, err := Open(t.TempDir(), testKey, Options{MemTableSize: 1 << 20}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with 1 MiB memtables: got %v, want ErrInvalid", err)
	}
}

// TestMemTableSizeChange: a store that a crash left with a full memtable
// log of 8 MiB memtables opens with 2 MiB ones (Badger alone would replay
// the log into a 2.6 MiB arena and end the process), keeps every entry,
// and the other way round.
func TestMemTableSizeChange(t *testing.T) {
	for _, tc := range []struct{ from, to int64 }{{DefaultMemTableSize, SmallMemTableSize}, {SmallMemTableSize, DefaultMemTableSize}} {
		t.Run(fmt.Sprintf("%dMiBto%dMiB", tc.from>>20, tc.to>>20), func(t *testing.T) {
			home := t.TempDir()
			s, err := Open(home, testKey, Options{MemTableSize: tc.from})
			must(t, err)
			must(t, s.AddCircle(circleA))
			must(t, s.AddEpoch(circleA, 1, key32(1), key32(101)))
			// Most of a memtable, in small entries (the most skiplist nodes
			// per log byte), about 260 bytes of arena each; none flushed.
			n := uint64(tc.from * 5 / 8 / 260)
			es := make([]Entry, 0, 1000)
			for seq := uint64(1); seq <= n; seq++ {
				es = append(es, Entry{Author: alice, Seq: seq, Epoch: 1, Lamport: seq, Envelope: []byte{byte(seq)}, Record: []byte{1}})
				if len(es) == cap(es) || seq == n {
					_, err := s.AppendBatch(circleA, es)
					must(t, err)
					es = es[:0]
				}
			}
			if l0 := s.db.Levels()[0].NumTables; l0 != 0 {
				t.Fatalf("%d level-0 tables before the crash, want 0: the entries must stay in the memtable log", l0)
			}
			crashed, _ := crashCopy(t, s, home)

			c, err := Open(crashed, testKey, Options{MemTableSize: tc.to})
			must(t, err)
			defer c.Close()
			if got, err := c.Count(circleA); err != nil || got != int(n) {
				t.Fatalf("after the crash: %d entries (%v), want %d", got, err, n)
			}
			if c.db.Opts().MemTableSize != tc.to {
				t.Errorf("memtables of %d bytes after replaying, want %d", c.db.Opts().MemTableSize, tc.to)
			}
			left, err := filepath.Glob(filepath.Join(crashed, "store", "*.mem"))
			must(t, err)
			if len(left) != 1 {
				t.Errorf("memtable logs after opening: got %v, want only the new memtable's", left)
			}
		})
	}
}

// A memtable log larger than any store writes is damage, refused before
// Badger would allocate an arena for it.
func TestMemTableLogTooLarge(t *testing.T) {
	s, home := newStore(t)
	appendOK(t, s, circleA, entry(alice, 1))
	crashed, mems := crashCopy(t, s, home)
	must(t, os.Truncate(mems[0], 2*maxMemTableSize+1))
	if _, err := Open(crashed, testKey, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open with a %d-byte memtable log: got %v, want ErrCorrupt", 2*maxMemTableSize+1, err)
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

// The memtable size a recovery asks for follows the data in the logs, not
// their files: a recovery open that crashed leaves its own empty log, twice
// its memtables' size, which must not make the next recovery larger.
func TestReplaySizeFollowsData(t *testing.T) {
	s, home := newStore(t)
	for seq := uint64(1); seq <= 2000; seq++ {
		appendOK(t, s, circleA, entry(alice, seq))
	}
	crashed, _ := crashCopy(t, s, home)
	dir := filepath.Join(crashed, "store")
	want, err := replayMemTableSize(dir)
	must(t, err)
	if want == 0 || want >= DefaultMemTableSize {
		t.Fatalf("replay size of a log with 2000 small entries: %d bytes, want over 0 and under %d", want, DefaultMemTableSize)
	}
	// The empty log a recovery open with 64 MiB memtables makes: a header,
	// then zeros.
	empty := make([]byte, logHeaderLen)
	for i := range empty {
		empty[i] = byte(i + 1)
	}
	path := filepath.Join(dir, "99999.mem")
	must(t, os.WriteFile(path, empty, 0o600))
	must(t, os.Truncate(path, 2*maxMemTableSize))
	if got, err := replayMemTableSize(dir); err != nil || got != want {
		t.Errorf("replay size with a recovery's empty log beside: got (%d, %v), want (%d, nil)", got, err, want)
	}
	must(t, os.Remove(path))
	c, err := Open(crashed, testKey, Options{MemTableSize: SmallMemTableSize})
	must(t, err)
	defer c.Close()
	if n, err := c.Count(circleA); err != nil || n != 2000 {
		t.Errorf("after the crash: %d entries (%v), want 2000", n, err)
	}
}
