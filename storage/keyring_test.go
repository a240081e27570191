package storage

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestKeyringOperations(t *testing.T) {
	s, home := newStore(t)
	if err := s.AddCircle(circleA); !errors.Is(err, ErrExists) {
		t.Errorf("AddCircle twice: got %v, want ErrExists", err)
	}
	if err := s.AddEpoch(circleB, 1, key32(1), key32(2)); !errors.Is(err, ErrNoCircle) {
		t.Errorf("AddEpoch on unknown circle: got %v, want ErrNoCircle", err)
	}
	must(t, s.AddEpoch(circleA, 1, key32(1), key32(101))) // same values: no-op
	if err := s.AddEpoch(circleA, 1, key32(9), key32(101)); !errors.Is(err, ErrExists) {
		t.Errorf("AddEpoch with other values: got %v, want ErrExists", err)
	}
	must(t, s.AddEpoch(circleA, 0, key32(0), key32(100)))
	if _, err := s.Epoch(circleA, 7); !errors.Is(err, ErrNoEpoch) {
		t.Errorf("Epoch(7): got %v, want ErrNoEpoch", err)
	}
	if _, err := s.Epoch(circleB, 1); !errors.Is(err, ErrNoCircle) {
		t.Errorf("Epoch on unknown circle: got %v, want ErrNoCircle", err)
	}
	if _, err := s.Epochs(circleB); !errors.Is(err, ErrNoCircle) {
		t.Errorf("Epochs on unknown circle: got %v, want ErrNoCircle", err)
	}
	must(t, s.AddCircle(circleB))
	must(t, s.AddEpoch(circleB, 5, key32(5), key32(105)))
	must(t, s.Close())

	s = openStore(t, home)
	defer s.Close()
	got, err := s.Epochs(circleA)
	must(t, err)
	if want := []uint64{0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("Epochs(A) after reopen: got %v, want %v", got, want)
	}
	sec, err := s.Epoch(circleB, 5)
	must(t, err)
	if sec != key32(5) {
		t.Errorf("Epoch(B, 5): got %x, want %x", sec, key32(5))
	}
}

// fill stores entries of epochs 1 and 2 in circle, a KV value and evidence.
func fill(t *testing.T, s *Store, circle [16]byte) {
	t.Helper()
	for seq := uint64(1); seq <= 6; seq++ {
		e := entry(alice, seq)
		if seq > 3 {
			e.Epoch = 2
		}
		appendOK(t, s, circle, e)
	}
	appendOK(t, s, circle, Entry{Author: bob, Seq: 1, Epoch: 1, Envelope: env(bob, 1, 0)})
	bad := entry(alice, 2)
	bad.Envelope = env(alice, 2, 5)
	if _, err := s.Append(circle, bad); !errors.Is(err, ErrEquivocation) {
		t.Fatalf("equivocation: got %v, want ErrEquivocation", err)
	}
	must(t, s.Put(circle, "roster", []byte("alice"), []byte("facilitator"), true))
}

// rawKeys counts the Badger keys that start with any of circle's prefixes.
func rawKeys(t *testing.T, s *Store, circle [16]byte) int {
	t.Helper()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		for _, p := range circlePrefixes(circle) {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
			for it.Seek(p); it.ValidForPrefix(p); it.Next() {
				n++
			}
			it.Close()
		}
		return nil
	})
	must(t, err)
	return n
}

func TestForgetCircle(t *testing.T) {
	s, home := newStore(t)
	must(t, s.AddCircle(circleB))
	must(t, s.AddEpoch(circleB, 1, key32(1), key32(201)))
	must(t, s.AddEpoch(circleB, 2, key32(2), key32(202)))
	fill(t, s, circleA)
	fill(t, s, circleB)

	must(t, s.ForgetCircle(circleA))
	if err := s.ForgetCircle(circleA); !errors.Is(err, ErrNoCircle) {
		t.Errorf("ForgetCircle twice: got %v, want ErrNoCircle", err)
	}
	check := func(s *Store) {
		t.Helper()
		circles, err := s.Circles()
		must(t, err)
		if want := [][16]byte{circleB}; !slices.Equal(circles, want) {
			t.Errorf("Circles: got %x, want %x", circles, want)
		}
		if n := rawKeys(t, s, circleA); n != 0 {
			t.Errorf("Badger keys of forgotten circle: got %d, want 0", n)
		}
		for name, err := range map[string]error{
			"Latest":    second(s.Latest(circleA, nil, 10)),
			"Get":       second(s.Get(circleA, "roster", []byte("alice"))),
			"Envelopes": second(s.Envelopes(circleA, alice, 0, 10)),
			"Epochs":    second(s.Epochs(circleA)),
			"Append":    second(s.Append(circleA, entry(alice, 9))),
		} {
			if !errors.Is(err, ErrNoCircle) {
				t.Errorf("%s on forgotten circle: got %v, want ErrNoCircle", name, err)
			}
		}
		// The other circle is intact.
		items, err := s.Latest(circleB, nil, 100)
		must(t, err)
		if len(items) != 6 {
			t.Errorf("Latest(B): got %d items, want 6", len(items))
		}
		v, err := s.Get(circleB, "roster", []byte("alice"))
		must(t, err)
		if string(v) != "facilitator" {
			t.Errorf("Get(B): got %q, want %q", v, "facilitator")
		}
		hw, err := s.HighWater(circleB)
		must(t, err)
		if hw[alice] != 6 || hw[bob] != 1 {
			t.Errorf("HighWater(B): got %v, want alice 6 bob 1", hw)
		}
	}
	check(s)
	must(t, s.Close())
	s = openStore(t, home)
	defer s.Close()
	check(s)

	// Adding the circle again starts empty, under a new root key.
	must(t, s.AddCircle(circleA))
	if _, err := s.Get(circleA, "roster", []byte("alice")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after re-adding: got %v, want ErrNotFound", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestForgetCircleFinishedByOpen(t *testing.T) {
	s, home := newStore(t)
	fill(t, s, circleA)
	// Simulate a stop between the keyring write and the drop: the keyring
	// says forgotten, Badger still holds the keys.
	k := s.ring.Load().kr.clone()
	k.circles = nil
	k.tombstones = [][16]byte{circleA}
	s.wmu.Lock()
	must(t, s.saveKeyring(k))
	s.wmu.Unlock()
	if n := rawKeys(t, s, circleA); n == 0 {
		t.Fatalf("setup: got no Badger keys, want the circle's keys still present")
	}
	must(t, s.Close())

	s = openStore(t, home)
	defer s.Close()
	if n := rawKeys(t, s, circleA); n != 0 {
		t.Errorf("Badger keys after reopen: got %d, want 0", n)
	}
	if got := s.ring.Load().kr.tombstones; len(got) != 0 {
		t.Errorf("tombstones after reopen: got %x, want none", got)
	}
}

func TestShredEpochsBefore(t *testing.T) {
	s, home := newStore(t)
	fill(t, s, circleA)
	must(t, s.ShredEpochsBefore(circleA, 2))
	if c := s.ring.Load().kr.circles[0]; c.floor != 2 || c.cleared != 2 {
		t.Errorf("keyring after shred: got floor %d cleared %d, want 2 and 2", c.floor, c.cleared)
	}

	check := func(s *Store) {
		t.Helper()
		epochs, err := s.Epochs(circleA)
		must(t, err)
		if want := []uint64{2}; !slices.Equal(epochs, want) {
			t.Errorf("Epochs: got %v, want %v", epochs, want)
		}
		if _, err := s.Epoch(circleA, 1); !errors.Is(err, ErrNoEpoch) {
			t.Errorf("Epoch(1): got %v, want ErrNoEpoch", err)
		}
		items, err := s.Latest(circleA, nil, 100)
		must(t, err)
		var seqs []uint64
		for _, it := range items {
			seqs = append(seqs, it.Seq)
		}
		if want := []uint64{6, 5, 4}; !slices.Equal(seqs, want) {
			t.Errorf("Latest seqs: got %v, want %v", seqs, want)
		}
		for seq, want := range map[uint64]bool{1: false, 3: false, 4: true, 6: true} {
			has, err := s.HasEnvelope(circleA, alice, seq)
			must(t, err)
			if has != want {
				t.Errorf("HasEnvelope(%d): got %v, want %v", seq, has, want)
			}
		}
		if has, _ := s.HasEnvelope(circleA, bob, 1); has {
			t.Errorf("HasEnvelope(bob 1, epoch 1, no record): got true, want false")
		}
		eqs, err := s.Equivocations(circleA)
		must(t, err)
		if len(eqs) != 0 {
			t.Errorf("Equivocations of shredded epoch: got %d, want 0", len(eqs))
		}
		hw, err := s.HighWater(circleA)
		must(t, err)
		if hw[alice] != 6 {
			t.Errorf("HighWater kept: got %d, want 6", hw[alice])
		}
		n, err := s.Count(circleA)
		must(t, err)
		if n != 3 {
			t.Errorf("Count: got %d, want 3", n)
		}
		// Shredded epochs are not taken back.
		late := entry(alice, 7)
		late.Record = nil
		if _, err := s.Append(circleA, late); !errors.Is(err, ErrShredded) {
			t.Errorf("Append of epoch 1: got %v, want ErrShredded", err)
		}
		if err := s.AddEpoch(circleA, 1, key32(1), key32(101)); !errors.Is(err, ErrShredded) {
			t.Errorf("AddEpoch(1): got %v, want ErrShredded", err)
		}
		replay := entry(alice, 2)
		replay.Epoch = 2
		if stored, err := s.Append(circleA, replay); stored || err != nil {
			t.Errorf("replay below the mark: got (%v, %v), want (false, nil)", stored, err)
		}
		v, err := s.Get(circleA, "roster", []byte("alice"))
		must(t, err)
		if string(v) != "facilitator" {
			t.Errorf("Get after shred: got %q, want %q", v, "facilitator")
		}
	}
	check(s)
	must(t, s.Close())
	s = openStore(t, home)
	defer s.Close()
	check(s)
	// A lower floor later changes nothing.
	must(t, s.ShredEpochsBefore(circleA, 1))
	check(s)
}

func TestShredFinishedByOpen(t *testing.T) {
	s, home := newStore(t)
	fill(t, s, circleA)
	k := s.ring.Load().kr.clone()
	k.circles[0].floor = 2
	k.circles[0].epochs = k.circles[0].epochs[1:]
	s.wmu.Lock()
	must(t, s.saveKeyring(k))
	s.wmu.Unlock()
	must(t, s.Close())
	s = openStore(t, home)
	defer s.Close()
	if c := s.ring.Load().kr.circles[0]; c.cleared != 2 {
		t.Errorf("cleared after reopen: got %d, want 2", c.cleared)
	}
	has, err := s.HasEnvelope(circleA, alice, 1)
	must(t, err)
	if has {
		t.Errorf("HasEnvelope(1) after reopen: got true, want false")
	}
	n, err := s.Count(circleA)
	must(t, err)
	if n != 3 {
		t.Errorf("Count: got %d, want 3", n)
	}
}

func TestKeyringRoundTrip(t *testing.T) {
	tests := []*keyring{
		{},
		{circles: []circleKeys{{id: id(1), root: key32(1)}}},
		{
			circles: []circleKeys{
				{id: id(1), root: key32(1), floor: 3, cleared: 2, epochs: []epochKeys{{3, key32(3), key32(4)}, {9, key32(5), key32(6)}}},
				{id: id(2), root: key32(2)},
			},
			tombstones: [][16]byte{id(0), id(7)},
		},
	}
	for i, k := range tests {
		b := appendKeyring(nil, k)
		got, err := decodeKeyring(b)
		if err != nil {
			t.Fatalf("case %d: decode: got %v, want nil", i, err)
		}
		if again := appendKeyring(nil, got); !bytes.Equal(again, b) {
			t.Errorf("case %d: re-encoding: got %x, want %x", i, again, b)
		}
		a := newAEAD(keyringKey(testKey))
		got, err = openKeyring(a, sealKeyring(a, k))
		if err != nil {
			t.Fatalf("case %d: open sealed: got %v, want nil", i, err)
		}
		if again := appendKeyring(nil, got); !bytes.Equal(again, b) {
			t.Errorf("case %d: sealed round trip: got %x, want %x", i, again, b)
		}
	}
}

func TestDecodeKeyringRefuses(t *testing.T) {
	good := appendKeyring(nil, &keyring{
		circles: []circleKeys{
			{id: id(1), root: key32(1), floor: 2, epochs: []epochKeys{{2, key32(3), key32(4)}, {5, key32(5), key32(6)}}},
			{id: id(2), root: key32(2)},
		},
		tombstones: [][16]byte{id(3)},
	})
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	epoch0 := 4 + circleRecLen // offset of circle 1's first epoch number
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short count", []byte{0, 0}},
		{"count too large", mod(func(b []byte) []byte { b[0] = 0xff; return b })},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"missing tombstone", good[:len(good)-1]},
		{"circles out of order", mod(func(b []byte) []byte {
			second := 4 + circleRecLen + 2*epochRecLen
			b[second] = 0 // id(2) → 00 02 02 ..., below id(1)
			return b
		})},
		{"epoch below floor", mod(func(b []byte) []byte { b[epoch0+7] = 1; return b })},
		{"cleared above floor", mod(func(b []byte) []byte { b[epoch0-4-1] = 3; return b })},
		{"epochs out of order", mod(func(b []byte) []byte { b[epoch0+epochRecLen+7] = 2; return b })},
		{"epoch count too large", mod(func(b []byte) []byte { b[epoch0-4] = 0x7f; return b })},
		{"tombstone of live circle", mod(func(b []byte) []byte { copy(b[len(b)-idLen:], bytes.Repeat([]byte{2}, idLen)); return b })},
	}
	for _, tc := range tests {
		if _, err := decodeKeyring(tc.b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", tc.name, err)
		}
	}
	if _, err := decodeKeyring(good); err != nil {
		t.Errorf("good keyring: got %v, want nil", err)
	}
}

// A winning commit's secret replaces a losing one's; what was stored under
// the epoch still reads, since its storage key stays.
func TestReplaceEpochSecret(t *testing.T) {
	s, home := newStore(t)
	e := entry(alice, 1) // epoch 1, stored under the epoch's storage key
	appendOK(t, s, circleA, e)
	if err := s.ReplaceEpochSecret(circleA, 9, key32(9)); !errors.Is(err, ErrNoEpoch) {
		t.Errorf("ReplaceEpochSecret of an unknown epoch: got %v, want ErrNoEpoch", err)
	}
	if err := s.ReplaceEpochSecret(circleB, 1, key32(9)); !errors.Is(err, ErrNoCircle) {
		t.Errorf("ReplaceEpochSecret of an unknown circle: got %v, want ErrNoCircle", err)
	}
	must(t, s.ReplaceEpochSecret(circleA, 1, key32(77)))
	must(t, s.Close())
	s = openStore(t, home)
	defer s.Close()
	sec, err := s.Epoch(circleA, 1)
	must(t, err)
	if sec != key32(77) {
		t.Errorf("Epoch(A, 1) after the replacement and a reopen: got %x, want %x", sec, key32(77))
	}
	items, err := s.Latest(circleA, nil, 10)
	must(t, err)
	if len(items) != 1 || !bytes.Equal(items[0].Record, e.Record) {
		t.Errorf("records of the epoch after the replacement: got %d items, want the one stored before", len(items))
	}
}
