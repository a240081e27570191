package storage

import (
	"bytes"
	"errors"
	"maps"
	"testing"

	"pgregory.net/rapid"
)

// hwModel is the reference for the log: which sequence numbers of each
// author are stored, with the envelope variant stored first, and each
// author's floor (sequence numbers marked seen without being stored).
type hwModel struct {
	stored map[[16]byte]map[uint64]byte
	floor  map[[16]byte]uint64
}

func newModel() *hwModel {
	return &hwModel{stored: map[[16]byte]map[uint64]byte{}, floor: map[[16]byte]uint64{}}
}

func (m *hwModel) mark(a [16]byte) uint64 {
	s := m.floor[a]
	for {
		if _, ok := m.stored[a][s+1]; !ok {
			return s
		}
		s++
	}
}

func (m *hwModel) marks() map[[16]byte]uint64 {
	out := make(map[[16]byte]uint64)
	authors := maps.Clone(m.floor)
	for a := range m.stored {
		authors[a] = 0
	}
	for a := range authors {
		if s := m.mark(a); s > 0 {
			out[a] = s
		}
	}
	return out
}

// apply returns what Append must return for one entry, and records it.
func (m *hwModel) apply(a [16]byte, seq uint64, variant byte) (stored, equivocation bool) {
	if m.stored[a] == nil {
		m.stored[a] = make(map[uint64]byte)
	}
	if first, ok := m.stored[a][seq]; ok {
		return false, first != variant
	}
	if seq <= m.mark(a) {
		return false, false // below the floor: seen, never stored
	}
	m.stored[a][seq] = variant
	return true, false
}

func TestHighWaterProperty(t *testing.T) {
	s, _ := newStore(t)
	authors := [][16]byte{alice, bob, id(3)}
	circleN := uint16(0)
	rapid.Check(t, func(rt *rapid.T) {
		// Each run gets a circle of its own in the one store.
		circleN++
		circle := id(0)
		circle[0], circle[14], circle[15] = 0xc0, byte(circleN>>8), byte(circleN)
		if err := s.AddCircle(circle); err != nil {
			rt.Fatalf("AddCircle: %v", err)
		}
		if err := s.AddEpoch(circle, 1, key32(1), key32(2)); err != nil {
			rt.Fatalf("AddEpoch: %v", err)
		}
		model := newModel()
		seqGen := rapid.OneOf(rapid.Uint64Range(1, 12), rapid.Uint64Range(1, 12), rapid.Uint64Range(1<<62, 1<<63))
		entryGen := rapid.Custom(func(t *rapid.T) Entry {
			a := rapid.SampledFrom(authors).Draw(t, "author")
			seq := seqGen.Draw(t, "seq")
			variant := byte(0)
			if rapid.IntRange(0, 9).Draw(t, "conflict") == 0 {
				variant = 1
			}
			e := Entry{Author: a, Seq: seq, Epoch: 1, Envelope: env(a, seq, variant)}
			if rapid.Bool().Draw(t, "record") {
				e.Record, e.Lamport = rec(a, seq), seq
			}
			return e
		})
		variantOf := func(e Entry) byte {
			if bytes.Equal(e.Envelope, env(e.Author, e.Seq, 0)) {
				return 0
			}
			return 1
		}
		check := func(rt *rapid.T) {
			got, err := s.HighWater(circle)
			if err != nil {
				rt.Fatalf("HighWater: %v", err)
			}
			if want := model.marks(); !maps.Equal(got, want) {
				rt.Fatalf("HighWater: got %v, want %v", got, want)
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"append": func(rt *rapid.T) {
				e := entryGen.Draw(rt, "entry")
				wantStored, wantEq := model.apply(e.Author, e.Seq, variantOf(e))
				stored, err := s.Append(circle, e)
				if stored != wantStored || errors.Is(err, ErrEquivocation) != wantEq || (err != nil && !wantEq) {
					rt.Fatalf("Append(%x/%d): got (%v, %v), want (%v, equivocation %v)", e.Author[:1], e.Seq, stored, err, wantStored, wantEq)
				}
			},
			"batch": func(rt *rapid.T) {
				es := rapid.SliceOfN(entryGen, 1, 8).Draw(rt, "entries")
				wantStored, wantEq := 0, false
				for _, e := range es {
					st, eq := model.apply(e.Author, e.Seq, variantOf(e))
					if st {
						wantStored++
					}
					wantEq = wantEq || eq
				}
				n, err := s.AppendBatch(circle, es)
				if n != wantStored || errors.Is(err, ErrEquivocation) != wantEq || (err != nil && !wantEq) {
					rt.Fatalf("AppendBatch: got (%d, %v), want (%d, equivocation %v)", n, err, wantStored, wantEq)
				}
			},
			"has": func(rt *rapid.T) {
				a := rapid.SampledFrom(authors).Draw(rt, "author")
				seq := seqGen.Draw(rt, "seq")
				_, want := model.stored[a][seq]
				has, err := s.HasEnvelope(circle, a, seq)
				if err != nil || has != want {
					rt.Fatalf("HasEnvelope(%x/%d): got (%v, %v), want %v", a[:1], seq, has, err, want)
				}
			},
			"envelope": func(rt *rapid.T) {
				a := rapid.SampledFrom(authors).Draw(rt, "author")
				seq := seqGen.Draw(rt, "seq")
				variant, want := model.stored[a][seq]
				got, err := s.Envelope(circle, a, seq)
				if err != nil || (got != nil) != want || (want && !bytes.Equal(got, env(a, seq, variant))) {
					rt.Fatalf("Envelope(%x/%d): got (%q, %v), want stored %v", a[:1], seq, got, err, want)
				}
			},
			"floor": func(rt *rapid.T) {
				a := rapid.SampledFrom(authors).Draw(rt, "author")
				seq := rapid.Uint64Range(1, 12).Draw(rt, "floor")
				model.floor[a] = max(model.floor[a], seq)
				if err := s.SetFloor(circle, a, seq); err != nil {
					rt.Fatalf("SetFloor: %v", err)
				}
			},
			"": check,
		})
		// What Badger holds agrees with the marks kept in memory.
		stored := make(map[[16]byte]mark)
		if err := loadMarks(s.db, circle, stored); err != nil {
			rt.Fatalf("loadMarks: %v", err)
		}
		fromDisk := make(map[[16]byte]uint64)
		for a, m := range stored {
			if m.hw > 0 {
				fromDisk[a] = m.hw
			}
		}
		if want := model.marks(); !maps.Equal(fromDisk, want) {
			rt.Fatalf("marks in Badger: got %v, want %v", fromDisk, want)
		}
		// Every envelope the model holds is stored, first variant kept.
		for a, seqs := range model.stored {
			for seq, variant := range seqs {
				envs, err := s.Envelopes(circle, a, seq-1, 1)
				if err != nil || len(envs) != 1 || !bytes.Equal(envs[0], env(a, seq, variant)) {
					rt.Fatalf("Envelopes(%x/%d): got (%q, %v), want the variant %d", a[:1], seq, envs, err, variant)
				}
			}
		}
	})
}
