package storage

import (
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// benchEnvelope is the random body the benchmark envelopes start from.
var benchEnvelope = func() []byte {
	b := make([]byte, 256)
	_, _ = rand.Read(b)
	return b
}()

// benchEntry is an entry of 256-byte envelope and 256-byte record.
func benchEntry(author [16]byte, seq uint64) Entry {
	e := Entry{Author: author, Seq: seq, Epoch: 1, Lamport: seq, Envelope: make([]byte, 256), Record: make([]byte, 256)}
	copy(e.Envelope, benchEnvelope)
	binary.BigEndian.PutUint64(e.Envelope, seq)
	copy(e.Envelope[8:], author[:])
	binary.BigEndian.PutUint64(e.Record, seq)
	return e
}

func BenchmarkAppend(b *testing.B) {
	s, _ := newStore(b)
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		if _, err := s.Append(circleA, benchEntry(alice, seq)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendBatch reports the time per entry, in batches of 100.
func BenchmarkAppendBatch(b *testing.B) {
	s, _ := newStore(b)
	const batch = 100
	es := make([]Entry, batch)
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		for i := range es {
			seq++
			es[i] = benchEntry(alice, seq)
		}
		if _, err := s.AppendBatch(circleA, es); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/entry")
}

// fillBench stores n entries spread over 50 authors.
func fillBench(b *testing.B, s *Store, n int) {
	b.Helper()
	var authors [50][16]byte
	for i := range authors {
		authors[i] = id(byte(i + 1))
	}
	es := make([]Entry, 0, 1000)
	for i := range n {
		a := authors[i%len(authors)]
		e := benchEntry(a, uint64(i/len(authors)+1))
		e.Lamport = uint64(i)
		es = append(es, e)
		if len(es) == cap(es) || i == n-1 {
			if _, err := s.AppendBatch(circleA, es); err != nil {
				b.Fatal(err)
			}
			es = es[:0]
		}
	}
}

// BenchmarkLatest reads a page of 50 from the end of a circle of 100,000
// entries, and one from its middle.
func BenchmarkLatest(b *testing.B) {
	s, home := newStore(b)
	fillBench(b, s, 100_000)
	// Reopen so that the pages come from tables on disk, not the memtable.
	must(b, s.Close())
	s = openStore(b, home)
	b.Cleanup(func() { _ = s.Close() })
	mid := &Cursor{Lamport: 50_000}
	for _, bc := range []struct {
		name   string
		before *Cursor
	}{{"end", nil}, {"middle", mid}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				items, err := s.Latest(circleA, bc.before, 50)
				if err != nil || len(items) != 50 {
					b.Fatalf("Latest: got (%d items, %v), want 50", len(items), err)
				}
			}
		})
	}
}

// BenchmarkHighWater reads the marks of 50 authors in a circle of 100,000
// entries.
func BenchmarkHighWater(b *testing.B) {
	s, _ := newStore(b)
	fillBench(b, s, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		hw, err := s.HighWater(circleA)
		if err != nil || len(hw) != 50 {
			b.Fatalf("HighWater: got (%d authors, %v), want 50", len(hw), err)
		}
	}
}

// BenchmarkCount walks the index of a circle of 100,000 entries.
func BenchmarkCount(b *testing.B) {
	s, _ := newStore(b)
	fillBench(b, s, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		n, err := s.Count(circleA)
		if err != nil || n != 100_000 {
			b.Fatalf("Count: got (%d, %v), want 100000", n, err)
		}
	}
}

// BenchmarkOpen opens and closes a store of 100,000 entries, which includes
// verifying every table.
func BenchmarkOpen(b *testing.B) {
	s, home := newStore(b)
	fillBench(b, s, 100_000)
	must(b, s.Close())
	for b.Loop() {
		s := openStore(b, home)
		must(b, s.Close())
	}
}

// BenchmarkBadgerFloor commits transactions of the shape an append writes
// (a 273-byte envelope value, a 313-byte record value and a 16-byte mark)
// straight to Badger with the store's options: the floor under
// BenchmarkAppend ("txn") and BenchmarkAppendBatch ("batch", per entry).
func BenchmarkBadgerFloor(b *testing.B) {
	db, err := badger.Open(badgerOptions(b.TempDir(), testKey, badgerLogger{slog.New(slog.DiscardHandler)}, DefaultMemTableSize).WithBypassLockGuard(false))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	n := uint64(0)
	stage := func(txn *badger.Txn) {
		n++
		for _, kv := range []struct{ klen, vlen int }{{41, 273}, {49, 313}, {33, 16}} {
			k, v := make([]byte, kv.klen), make([]byte, kv.vlen)
			k[0] = byte(kv.klen)
			binary.BigEndian.PutUint64(k[1:], n)
			if kv.klen == 33 {
				binary.BigEndian.PutUint64(k[1:], n/100) // one mark per author and batch
			}
			if err := txn.Set(k, v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("txn", func(b *testing.B) {
		for b.Loop() {
			txn := db.NewTransaction(true)
			stage(txn)
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			txn := db.NewTransaction(true)
			for range 100 {
				stage(txn)
			}
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/entry")
	})
}
