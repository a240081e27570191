package storage

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func TestAppendReplayStoredOnce(t *testing.T) {
	s, _ := newStore(t)
	e := entry(alice, 1)
	for i, want := range []bool{true, false, false} {
		got, err := s.Append(circleA, e)
		if err != nil || got != want {
			t.Fatalf("Append #%d: got (%v, %v), want (%v, nil)", i+1, got, err, want)
		}
	}
	n, err := s.Count(circleA)
	must(t, err)
	if n != 1 {
		t.Errorf("Count: got %d, want 1", n)
	}
	items, err := s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 1 {
		t.Errorf("Latest: got %d items, want 1", len(items))
	}
	eqs, err := s.Equivocations(circleA)
	must(t, err)
	if len(eqs) != 0 {
		t.Errorf("Equivocations: got %d, want 0", len(eqs))
	}
}

func TestEquivocationKeepsFirst(t *testing.T) {
	s, _ := newStore(t)
	appendOK(t, s, circleA, entry(alice, 1))
	for variant := byte(1); variant <= 3; variant++ {
		e := entry(alice, 1)
		e.Envelope = env(alice, 1, variant)
		e.Record = []byte("forged")
		stored, err := s.Append(circleA, e)
		if stored || !errors.Is(err, ErrEquivocation) {
			t.Fatalf("conflicting Append %d: got (%v, %v), want (false, ErrEquivocation)", variant, stored, err)
		}
	}
	envs, err := s.Envelopes(circleA, alice, 0, 10)
	must(t, err)
	if len(envs) != 1 || !bytes.Equal(envs[0], env(alice, 1, 0)) {
		t.Errorf("Envelopes: got %q, want only the first envelope", envs)
	}
	items, err := s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 1 || !bytes.Equal(items[0].Record, rec(alice, 1)) {
		t.Errorf("Latest: got %+v, want only the first record", items)
	}
	eqs, err := s.Equivocations(circleA)
	must(t, err)
	want := Equivocation{Author: alice, Seq: 1, Kept: env(alice, 1, 0), Conflicting: env(alice, 1, 1), ConflictingEpoch: 1}
	if len(eqs) != 1 || eqs[0].Author != want.Author || eqs[0].Seq != want.Seq ||
		!bytes.Equal(eqs[0].Kept, want.Kept) || !bytes.Equal(eqs[0].Conflicting, want.Conflicting) || eqs[0].ConflictingEpoch != 1 {
		t.Errorf("Equivocations: got %+v, want [%+v]", eqs, want)
	}
}

func TestHighWaterOutOfOrder(t *testing.T) {
	tests := []struct {
		name  string
		seqs  []uint64
		want  uint64 // 0: no mark at all
		count int
	}{
		{"in order", []uint64{1, 2, 3}, 3, 3},
		{"reversed", []uint64{3, 2, 1}, 3, 3},
		{"gap stays", []uint64{1, 2, 4, 5}, 2, 4},
		{"gap fills", []uint64{1, 2, 4, 5, 3}, 5, 5},
		{"no first", []uint64{2, 3, 4}, 0, 3},
		{"first last", []uint64{5, 4, 3, 2, 1}, 5, 5},
		{"huge seq", []uint64{1, 1 << 63, 2}, 2, 3},
		{"max seq", []uint64{math.MaxUint64, 1, math.MaxUint64 - 1}, 1, 3},
		{"duplicates", []uint64{1, 1, 2, 2, 3}, 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			for _, seq := range tc.seqs {
				if _, err := s.Append(circleA, entry(alice, seq)); err != nil {
					t.Fatalf("Append(%d): got %v, want nil", seq, err)
				}
			}
			hw, err := s.HighWater(circleA)
			must(t, err)
			got, ok := hw[alice]
			if tc.want == 0 && ok || got != tc.want {
				t.Errorf("HighWater: got %d (present %v), want %d", got, ok, tc.want)
			}
			n, err := s.Count(circleA)
			must(t, err)
			if n != tc.count {
				t.Errorf("Count: got %d, want %d", n, tc.count)
			}
		})
	}
}

func TestHighWaterBatchAcrossAuthors(t *testing.T) {
	s, _ := newStore(t)
	var batch []Entry
	for _, seq := range []uint64{3, 1, 2, 5} {
		batch = append(batch, entry(alice, seq), entry(bob, seq+1))
	}
	batch = append(batch, entry(alice, 1)) // replay inside the batch
	n, err := s.AppendBatch(circleA, batch)
	must(t, err)
	if n != 8 {
		t.Errorf("AppendBatch stored: got %d, want 8", n)
	}
	hw, err := s.HighWater(circleA)
	must(t, err)
	if hw[alice] != 3 {
		t.Errorf("alice: got %d, want 3", hw[alice])
	}
	if _, ok := hw[bob]; ok {
		t.Errorf("bob: got a mark %d, want none (seq 1 missing)", hw[bob])
	}
	appendOK(t, s, circleA, entry(bob, 1))
	hw, err = s.HighWater(circleA)
	must(t, err)
	if hw[bob] != 4 {
		t.Errorf("bob after seq 1: got %d, want 4", hw[bob])
	}
}

func TestAppendBatchEquivocationDoesNotStopOthers(t *testing.T) {
	s, _ := newStore(t)
	appendOK(t, s, circleA, entry(alice, 1))
	bad := entry(alice, 1)
	bad.Envelope = env(alice, 1, 9)
	n, err := s.AppendBatch(circleA, []Entry{entry(alice, 2), bad, entry(alice, 3)})
	if n != 2 || !errors.Is(err, ErrEquivocation) {
		t.Fatalf("AppendBatch: got (%d, %v), want (2, ErrEquivocation)", n, err)
	}
	hw, err := s.HighWater(circleA)
	must(t, err)
	if hw[alice] != 3 {
		t.Errorf("HighWater: got %d, want 3", hw[alice])
	}
}

func TestAppendBatchInvalidWritesNothing(t *testing.T) {
	s, _ := newStore(t)
	bad := entry(alice, 0)
	n, err := s.AppendBatch(circleA, []Entry{entry(alice, 1), bad})
	if n != 0 || !errors.Is(err, ErrInvalid) {
		t.Fatalf("AppendBatch: got (%d, %v), want (0, ErrInvalid)", n, err)
	}
	has, err := s.HasEnvelope(circleA, alice, 1)
	must(t, err)
	if has {
		t.Errorf("HasEnvelope(1): got true, want false (batch refused whole)")
	}
}

func TestAppendBatchLargeSplits(t *testing.T) {
	s, _ := newStore(t)
	// 40 entries of ~200 KiB are far beyond one Badger transaction.
	var batch []Entry
	for seq := uint64(1); seq <= 40; seq++ {
		e := entry(alice, seq)
		e.Envelope = bytes.Repeat([]byte{byte(seq)}, 200<<10)
		batch = append(batch, e)
	}
	n, err := s.AppendBatch(circleA, batch)
	must(t, err)
	if n != 40 {
		t.Errorf("stored: got %d, want 40", n)
	}
	envs, err := s.Envelopes(circleA, alice, 0, 100)
	must(t, err)
	// Envelopes stops once it has returned 4 MiB.
	if len(envs) != 21 {
		t.Errorf("Envelopes: got %d, want 21 (the page that reaches 4 MiB)", len(envs))
	}
	hw, err := s.HighWater(circleA)
	must(t, err)
	if hw[alice] != 40 {
		t.Errorf("HighWater: got %d, want 40", hw[alice])
	}
}

func TestAppendRefuses(t *testing.T) {
	s, _ := newStore(t)
	big := make([]byte, MaxEnvelopeSize+1)
	tests := []struct {
		name   string
		circle [16]byte
		mod    func(*Entry)
		want   error
	}{
		{"seq 0", circleA, func(e *Entry) { e.Seq = 0 }, ErrInvalid},
		{"no envelope and no record", circleA, func(e *Entry) { e.Envelope, e.Record = nil, nil }, ErrInvalid},
		{"oversize envelope", circleA, func(e *Entry) { e.Envelope = big }, ErrTooLarge},
		{"oversize record", circleA, func(e *Entry) { e.Record = big }, ErrTooLarge},
		{"negative ttl", circleA, func(e *Entry) { e.TTL = -time.Second }, ErrInvalid},
		{"unknown epoch with record", circleA, func(e *Entry) { e.Epoch = 9 }, ErrNoEpoch},
		{"unknown circle", circleB, func(*Entry) {}, ErrNoCircle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := entry(alice, 1)
			tc.mod(&e)
			stored, err := s.Append(tc.circle, e)
			if stored || !errors.Is(err, tc.want) {
				t.Errorf("got (%v, %v), want (false, %v)", stored, err, tc.want)
			}
		})
	}
	n, err := s.Count(circleA)
	must(t, err)
	if n != 0 {
		t.Errorf("Count after refusals: got %d, want 0", n)
	}
	// Unknown epoch without a record is what a mailbox stores: accepted.
	appendOK(t, s, circleA, Entry{Author: alice, Seq: 1, Epoch: 9, Envelope: env(alice, 1, 0)})
	// A maximal envelope is accepted.
	appendOK(t, s, circleA, Entry{Author: alice, Seq: 2, Epoch: 9, Envelope: big[:MaxEnvelopeSize]})
}

func TestRecordAttachedLater(t *testing.T) {
	s, _ := newStore(t)
	e := entry(alice, 1)
	e.Record = nil
	appendOK(t, s, circleA, e)
	items, err := s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 0 {
		t.Fatalf("Latest before decoding: got %d items, want 0", len(items))
	}
	stored, err := s.Append(circleA, entry(alice, 1))
	if stored || err != nil {
		t.Fatalf("Append with record: got (%v, %v), want (false, nil)", stored, err)
	}
	items, err = s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 1 || !bytes.Equal(items[0].Record, rec(alice, 1)) {
		t.Errorf("Latest after decoding: got %+v, want the record", items)
	}
	// A second record for the same envelope does not replace the first.
	again := entry(alice, 1)
	again.Record = []byte("other")
	again.Lamport = 999
	if _, err := s.Append(circleA, again); err != nil {
		t.Fatalf("Append again: got %v, want nil", err)
	}
	items, err = s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 1 || items[0].Lamport != 10 {
		t.Errorf("Latest: got %+v, want one item at Lamport 10", items)
	}
}

func TestLatestPagesInDisplayOrder(t *testing.T) {
	s, _ := newStore(t)
	authors := [][16]byte{alice, bob, id(3)}
	var batch []Entry
	// Lamport clocks collide across authors and arrive out of order.
	for seq := uint64(1); seq <= 40; seq++ {
		for i, a := range authors {
			e := entry(a, seq)
			e.Lamport = (seq*7 + uint64(i)*3) % 50
			batch = append(batch, e)
		}
	}
	for i, j := 0, len(batch)-1; i < j; i, j = i+1, j-1 {
		batch[i], batch[j] = batch[j], batch[i]
	}
	_, err := s.AppendBatch(circleA, batch)
	must(t, err)

	want := make([]Cursor, 0, len(batch))
	for _, e := range batch {
		want = append(want, Cursor{e.Lamport, e.Author, e.Seq})
	}
	slices.SortFunc(want, func(a, b Cursor) int { return -cmpCursor(a, b) })

	for _, page := range []int{1, 7, 50, 120, 500} {
		t.Run(fmt.Sprint("page ", page), func(t *testing.T) {
			var got []Cursor
			var before *Cursor
			for {
				items, err := s.Latest(circleA, before, page)
				must(t, err)
				if len(items) > page {
					t.Fatalf("page of %d items, want at most %d", len(items), page)
				}
				for _, it := range items {
					got = append(got, it.Cursor())
					if !bytes.Equal(it.Record, rec(it.Author, it.Seq)) {
						t.Fatalf("record of %x/%d: got %q, want %q", it.Author[:1], it.Seq, it.Record, rec(it.Author, it.Seq))
					}
				}
				if len(items) < page {
					break
				}
				c := items[len(items)-1].Cursor()
				before = &c
			}
			if !slices.Equal(got, want) {
				t.Errorf("display order: got %d cursors, want %d; first got %v want %v", len(got), len(want), head(got), head(want))
			}
		})
	}
}

func head(c []Cursor) []Cursor { return c[:min(3, len(c))] }

func cmpCursor(a, b Cursor) int {
	if c := cmpU64(a.Lamport, b.Lamport); c != 0 {
		return c
	}
	if c := bytes.Compare(a.Author[:], b.Author[:]); c != 0 {
		return c
	}
	return cmpU64(a.Seq, b.Seq)
}

func TestLatestLimits(t *testing.T) {
	s, _ := newStore(t)
	if _, err := s.Latest(circleA, nil, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("limit 0: got %v, want ErrInvalid", err)
	}
	if _, err := s.Envelopes(circleA, alice, 0, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("Envelopes limit -1: got %v, want ErrInvalid", err)
	}
	items, err := s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 0 {
		t.Errorf("empty circle: got %d items, want 0", len(items))
	}
}

func TestEnvelopesRange(t *testing.T) {
	s, _ := newStore(t)
	for _, seq := range []uint64{1, 2, 3, 5, 8, math.MaxUint64} {
		appendOK(t, s, circleA, entry(alice, seq))
	}
	appendOK(t, s, circleA, entry(bob, 4))
	tests := []struct {
		after uint64
		limit int
		want  []uint64
	}{
		{0, 100, []uint64{1, 2, 3, 5, 8, math.MaxUint64}},
		{2, 2, []uint64{3, 5}},
		{5, 100, []uint64{8, math.MaxUint64}},
		{math.MaxUint64 - 1, 10, []uint64{math.MaxUint64}},
		{math.MaxUint64, 10, nil},
	}
	for _, tc := range tests {
		envs, err := s.Envelopes(circleA, alice, tc.after, tc.limit)
		must(t, err)
		var want [][]byte
		for _, seq := range tc.want {
			want = append(want, env(alice, seq, 0))
		}
		if !slices.EqualFunc(envs, want, bytes.Equal) {
			t.Errorf("Envelopes(after %d, limit %d): got %q, want %q", tc.after, tc.limit, envs, want)
		}
	}
	for _, tc := range []struct {
		seq  uint64
		want bool
	}{{1, true}, {4, false}, {8, true}, {9, false}} {
		has, err := s.HasEnvelope(circleA, alice, tc.seq)
		must(t, err)
		if has != tc.want {
			t.Errorf("HasEnvelope(%d): got %v, want %v", tc.seq, has, tc.want)
		}
	}
}

func TestTTLSetsExpiry(t *testing.T) {
	s, _ := newStore(t)
	e := entry(alice, 1)
	e.TTL = 90 * time.Minute
	before := time.Now()
	appendOK(t, s, circleA, e)
	keys := map[string][]byte{
		"envelope": envelopeKey(circleA, alice, 1),
		"record":   recordKey(circleA, 10, alice, 1),
	}
	lo := uint64(before.Add(e.TTL).Unix())
	hi := uint64(time.Now().Add(e.TTL).Unix()) + 1
	err := s.db.View(func(txn *badger.Txn) error {
		for name, k := range keys {
			item, err := txn.Get(k)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if got := item.ExpiresAt(); got < lo || got > hi {
				t.Errorf("%s ExpiresAt: got %d, want within [%d, %d]", name, got, lo, hi)
			}
		}
		item, err := txn.Get(highKey(circleA, alice))
		if err != nil {
			return err
		}
		if got := item.ExpiresAt(); got != 0 {
			t.Errorf("high-water ExpiresAt: got %d, want 0 (never)", got)
		}
		return nil
	})
	must(t, err)
}

func TestTTLExpires(t *testing.T) {
	s, _ := newStore(t)
	short := entry(alice, 1)
	short.TTL = time.Second
	appendOK(t, s, circleA, short)
	appendOK(t, s, circleA, entry(alice, 2)) // kept
	// Badger's expiry has one-second granularity: after two whole seconds
	// the first entry is past its expiry on any machine, however loaded.
	time.Sleep(2100 * time.Millisecond)
	has, err := s.HasEnvelope(circleA, alice, 1)
	must(t, err)
	if has {
		t.Errorf("HasEnvelope(1) after its TTL: got true, want false")
	}
	items, err := s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 1 || items[0].Seq != 2 {
		t.Errorf("Latest: got %+v, want only seq 2", items)
	}
	n, err := s.Count(circleA)
	must(t, err)
	if n != 1 {
		t.Errorf("Count: got %d, want 1", n)
	}
	// The mark still covers seq 1, and a replay is not taken back.
	stored, err := s.Append(circleA, entry(alice, 1))
	if stored || err != nil {
		t.Errorf("replay of expired entry: got (%v, %v), want (false, nil)", stored, err)
	}
	hw, err := s.HighWater(circleA)
	must(t, err)
	if hw[alice] != 2 {
		t.Errorf("HighWater: got %d, want 2", hw[alice])
	}
}

func TestExpiresAtRoundsUp(t *testing.T) {
	tests := []struct {
		ttl  time.Duration
		zero bool
	}{{0, true}, {time.Nanosecond, false}, {time.Second, false}, {1500 * time.Millisecond, false}}
	for _, tc := range tests {
		now := time.Now()
		got := expiresAt(tc.ttl)
		if tc.zero {
			if got != 0 {
				t.Errorf("expiresAt(%v): got %d, want 0", tc.ttl, got)
			}
			continue
		}
		if min := now.Add(tc.ttl); int64(got) < min.Unix() || (int64(got) == min.Unix() && min.Nanosecond() > 0) {
			t.Errorf("expiresAt(%v): got %d, want at least %v", tc.ttl, got, min)
		}
	}
}

func TestSetFloor(t *testing.T) {
	s, home := newStore(t)
	appendOK(t, s, circleA, entry(alice, 7)) // stored beyond the floor
	must(t, s.SetFloor(circleA, alice, 5))
	must(t, s.SetFloor(circleA, alice, 3)) // never falls
	must(t, s.SetFloor(circleA, bob, 2))
	if err := s.SetFloor(circleB, alice, 1); !errors.Is(err, ErrNoCircle) {
		t.Errorf("SetFloor on unknown circle: got %v, want ErrNoCircle", err)
	}
	check := func(s *Store) {
		t.Helper()
		hw, err := s.HighWater(circleA)
		must(t, err)
		if want := map[[16]byte]uint64{alice: 5, bob: 2}; !maps.Equal(hw, want) {
			t.Errorf("HighWater: got %v, want %v", hw, want)
		}
		// Below the floor nothing is taken; above it, appends go on as usual.
		if stored, err := s.Append(circleA, entry(alice, 4)); stored || err != nil {
			t.Errorf("Append below the floor: got (%v, %v), want (false, nil)", stored, err)
		}
	}
	check(s)
	must(t, s.Close())
	s = openStore(t, home)
	defer s.Close()
	check(s)
	appendOK(t, s, circleA, entry(alice, 6))
	hw, err := s.HighWater(circleA)
	must(t, err)
	if hw[alice] != 7 {
		t.Errorf("HighWater after filling 6: got %d, want 7", hw[alice])
	}
}

// A record that came without its envelope (a welcome-pack item) is kept and
// shown, once, and leaves the author's marks alone.
func TestAppendRecordOnly(t *testing.T) {
	s, _ := newStore(t)
	e := entry(alice, 7)
	e.Envelope = nil
	for i, want := range []bool{true, false} {
		stored, err := s.Append(circleA, e)
		must(t, err)
		if stored != want {
			t.Fatalf("append %d: got stored=%v, want %v", i, stored, want)
		}
	}
	items, err := s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 1 || items[0].Seq != 7 || string(items[0].Record) != string(e.Record) {
		t.Fatalf("got %+v, want the one record", items)
	}
	hw, err := s.HighWater(circleA)
	must(t, err)
	if hw[alice] != 0 {
		t.Fatalf("got high-water %d, want 0", hw[alice])
	}
}

func TestEnvelopeByPosition(t *testing.T) {
	s, _ := newStore(t)
	e := entry(alice, 2)
	appendOK(t, s, circleA, e)
	got, err := s.Envelope(circleA, alice, 2)
	must(t, err)
	if !bytes.Equal(got, e.Envelope) {
		t.Fatalf("Envelope(alice, 2): got %x, want %x", got, e.Envelope)
	}
	for _, seq := range []uint64{1, 3} {
		got, err := s.Envelope(circleA, alice, seq)
		must(t, err)
		if got != nil {
			t.Errorf("Envelope(alice, %d), never stored: got %x, want nil", seq, got)
		}
	}
	if got, err := s.Envelope(circleA, bob, 2); err != nil || got != nil {
		t.Errorf("Envelope(bob, 2): got %x, %v; want nil, nil", got, err)
	}
	if _, err := s.Envelope([16]byte{9}, alice, 2); err == nil {
		t.Errorf("Envelope of an unknown circle: got no error")
	}
}
