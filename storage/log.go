package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Entry is one envelope of a circle's log, with what the node could decode
// of it.
type Entry struct {
	Author [16]byte // author id from the envelope header
	Seq    uint64   // author sequence number, from 1
	Epoch  uint64   // epoch number from the envelope header
	// Envelope is the envelope as received, at most MaxEnvelopeSize. It may
	// be nil only for a record that came without one (a welcome-pack item):
	// then only the record is kept, and the high-water marks are untouched.
	Envelope []byte
	// Record is the decoded record plaintext, sealed in the store under the
	// epoch's storage key; nil when the node cannot decrypt the envelope
	// (a mailbox, or an epoch whose key has not arrived).
	Record  []byte
	Lamport uint64        // display order; ignored when Record is nil
	TTL     time.Duration // 0 keeps the entry; otherwise rounded up to whole seconds
	Durable bool          // sync the store before returning (membership records)
}

// Item is one decoded record in display order.
type Item struct {
	Author  [16]byte
	Seq     uint64
	Epoch   uint64
	Lamport uint64
	Record  []byte
}

// Cursor is a position in a circle's display order: by Lamport clock, then
// author id, then sequence number.
type Cursor struct {
	Lamport uint64
	Author  [16]byte
	Seq     uint64
}

// Cursor returns the position of it, to pass to Latest for the page before it.
func (it Item) Cursor() Cursor {
	return Cursor{Lamport: it.Lamport, Author: it.Author, Seq: it.Seq}
}

// Equivocation is evidence that an author (or someone forging its header)
// sent two different envelopes under one sequence number.
type Equivocation struct {
	Author [16]byte
	Seq    uint64
	// Kept is the envelope stored in the log; nil once it has expired or
	// been shredded.
	Kept []byte
	// Conflicting is the first different envelope received for the same
	// author and sequence, and ConflictingEpoch the epoch given with it.
	Conflicting      []byte
	ConflictingEpoch uint64
}

// errUnreadable reports a value too short for its format. No stored value
// is empty, and Badger returns an empty value, without an error, when a
// value in its value log cannot be read or fails its checksum.
var errUnreadable = fmt.Errorf("stored value cannot be read: %w", ErrCorrupt)

// expiresAt turns a TTL into Badger's expiry second, rounding up so that an
// entry lives at least ttl.
func expiresAt(ttl time.Duration) uint64 {
	if ttl == 0 {
		return 0
	}
	t := time.Now().Add(ttl)
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return uint64(sec)
}

// checkEntry validates e against the limits and the keyring.
func checkEntry(cs *circleState, e *Entry) error {
	switch {
	case e.Seq == 0:
		return fmt.Errorf("sequence number 0: %w", ErrInvalid)
	case len(e.Envelope) == 0 && e.Record == nil:
		return fmt.Errorf("empty envelope: %w", ErrInvalid)
	case len(e.Envelope) > MaxEnvelopeSize:
		return fmt.Errorf("envelope of %d bytes exceeds %d: %w", len(e.Envelope), MaxEnvelopeSize, ErrTooLarge)
	case len(e.Record) > MaxRecordSize:
		return fmt.Errorf("record of %d bytes exceeds %d: %w", len(e.Record), MaxRecordSize, ErrTooLarge)
	case e.TTL < 0:
		return fmt.Errorf("negative ttl: %w", ErrInvalid)
	case e.Epoch < cs.keys.floor:
		return fmt.Errorf("epoch %d: %w", e.Epoch, ErrShredded)
	}
	if e.Record != nil {
		if _, ok := cs.epochs[e.Epoch]; !ok {
			return fmt.Errorf("record of epoch %d: %w", e.Epoch, ErrNoEpoch)
		}
	}
	return nil
}

// entryCost is a generous estimate of the bytes an entry adds to a Badger
// transaction, used to split batches before Badger refuses them.
func entryCost(e *Entry) int64 {
	return int64(len(e.Envelope)+len(e.Record)) + 512
}

// entryOps is the most Badger writes one entry makes: envelope, record and
// the author's mark.
const entryOps = 3

// Append adds one entry to circle's log. It is idempotent on
// circle+author+seq: the same envelope again returns (false, nil) — and, if
// only the envelope was stored before and e carries a record, stores the
// record. A different envelope for a stored author+seq keeps the first,
// records the newcomer as evidence (see Equivocations) and returns
// (false, ErrEquivocation). An envelope whose sequence number is at or below
// the author's high-water mark but is no longer stored (expired, shredded)
// is not taken back: (false, nil).
//
// Errors: ErrNoCircle; ErrInvalid for seq 0, an empty envelope or a negative
// TTL; ErrTooLarge past MaxEnvelopeSize or MaxRecordSize; ErrNoEpoch for a
// record whose epoch has no storage key; ErrShredded for an epoch below the
// circle's shredding floor.
func (s *Store) Append(circle [16]byte, e Entry) (stored bool, err error) {
	err = s.write(func(db *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		if err := checkEntry(cs, &e); err != nil {
			return err
		}
		txn := db.NewTransaction(true)
		defer txn.Discard()
		ms := s.markSet(circle)
		var aerr error
		stored, aerr = appendTxn(txn, cs, circle, &e, ms)
		if aerr != nil && !errors.Is(aerr, ErrEquivocation) {
			stored = false
			return aerr
		}
		if err := txn.Commit(); err != nil {
			stored = false
			return fmt.Errorf("commit: %w", err)
		}
		ms.committed()
		if e.Durable {
			if err := db.Sync(); err != nil {
				return fmt.Errorf("sync: %w", err)
			}
		}
		return aerr
	})
	if err != nil {
		err = fmt.Errorf("append seq %d: %w", e.Seq, err)
	}
	return stored, err
}

// AppendBatch appends many entries with Append's semantics, in as few
// transactions as Badger's batch limit allows (one for a typical catch-up
// page; each transaction is atomic). Every entry is validated first: one
// invalid entry refuses the whole batch, naming its index, and nothing is
// written. An equivocating entry does not stop the others; the count of
// newly stored entries is returned with an error wrapping ErrEquivocation.
// On any other error, stored counts the entries of the transactions that
// committed before it.
func (s *Store) AppendBatch(circle [16]byte, es []Entry) (stored int, err error) {
	err = s.write(func(db *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		durable := false
		for i := range es {
			if err := checkEntry(cs, &es[i]); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			durable = durable || es[i].Durable
		}
		maxBytes, maxOps := db.MaxBatchSize()/2, db.MaxBatchCount()/2
		ms := s.markSet(circle)
		equivocations := 0
		txn := db.NewTransaction(true)
		defer func() { txn.Discard() }()
		var bytesIn, opsIn int64
		storedIn := 0 // stored in the transaction under way
		commit := func() error {
			if err := txn.Commit(); err != nil {
				return fmt.Errorf("commit: %w", err)
			}
			ms.committed()
			stored += storedIn
			storedIn = 0
			return nil
		}
		for i := range es {
			e := &es[i]
			cost := entryCost(e)
			if opsIn > 0 && (bytesIn+cost > maxBytes || opsIn+entryOps > maxOps) {
				if err := commit(); err != nil {
					return err
				}
				txn = db.NewTransaction(true)
				bytesIn, opsIn = 0, 0
			}
			bytesIn += cost
			opsIn += entryOps
			ok, err := appendTxn(txn, cs, circle, e, ms)
			switch {
			case errors.Is(err, ErrEquivocation):
				equivocations++
			case err != nil:
				return fmt.Errorf("entry %d: %w", i, err)
			case ok:
				storedIn++
			}
		}
		if err := commit(); err != nil {
			return err
		}
		if durable {
			if err := db.Sync(); err != nil {
				return fmt.Errorf("sync: %w", err)
			}
		}
		if equivocations > 0 {
			return fmt.Errorf("%d entries: %w", equivocations, ErrEquivocation)
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("append batch: %w", err)
	}
	return stored, err
}

// mark is an author's 'h' value: the contiguous high-water mark, and the
// highest sequence number ever stored (no envelope of the author is stored
// above top, so an entry beyond it needs no lookup).
type mark struct{ hw, top uint64 }

// markSet holds the marks of one circle's authors for a write: the store's
// cache of committed marks, and those read or changed by the transaction
// under way, which join the cache once it commits.
type markSet struct {
	mu    *sync.RWMutex // the store's mmu
	cache map[[16]byte]mark
	txn   map[[16]byte]mark
}

// circleMarks caches the committed marks of one circle's authors; complete
// says that every author's mark is present.
type circleMarks struct {
	byAuthor map[[16]byte]mark
	complete bool
}

// circleMarks returns the cache of circle; the caller holds s.wmu.
func (s *Store) circleMarks(circle [16]byte) *circleMarks {
	c := s.marks[circle]
	if c == nil {
		c = &circleMarks{byAuthor: make(map[[16]byte]mark)}
		s.mmu.Lock()
		s.marks[circle] = c
		s.mmu.Unlock()
	}
	return c
}

// absent reports, from the cached marks alone, that author+seq is not
// stored: it is above the author's highest stored sequence number. False
// means the cache cannot tell. It takes only mmu, so checks of new records
// do not wait for a write under way.
func (s *Store) absent(circle, author [16]byte, seq uint64) bool {
	s.mmu.RLock()
	defer s.mmu.RUnlock()
	c := s.marks[circle]
	if c == nil {
		return false
	}
	m, ok := c.byAuthor[author]
	return (ok || c.complete) && seq > m.top
}

// markSet returns the marks of circle; the caller holds s.wmu.
func (s *Store) markSet(circle [16]byte) *markSet {
	return &markSet{mu: &s.mmu, cache: s.circleMarks(circle).byAuthor, txn: make(map[[16]byte]mark, 1)}
}

func (ms *markSet) get(txn *badger.Txn, circle, author [16]byte) (mark, error) {
	if m, ok := ms.txn[author]; ok {
		return m, nil
	}
	if m, ok := ms.cache[author]; ok {
		return m, nil
	}
	m, err := readMark(txn, circle, author)
	if err == nil {
		ms.txn[author] = m
	}
	return m, err
}

// committed moves the transaction's marks into the cache.
func (ms *markSet) committed() {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for a, m := range ms.txn {
		ms.cache[a] = m
	}
	clear(ms.txn)
}

// appendTxn stages one validated entry in txn; ms tracks the authors' marks.
func appendTxn(txn *badger.Txn, cs *circleState, circle [16]byte, e *Entry, ms *markSet) (bool, error) {
	if len(e.Envelope) == 0 {
		return appendRecordOnly(txn, cs, circle, e)
	}
	m, err := ms.get(txn, circle, e.Author)
	if err != nil {
		return false, err
	}
	ek := envelopeKey(circle, e.Author, e.Seq)
	if e.Seq <= m.top {
		item, err := txn.Get(ek)
		switch {
		case err == nil:
			return false, existingEntry(txn, cs, circle, e, item)
		case !errors.Is(err, badger.ErrKeyNotFound):
			return false, corruptUnlessClosed(err)
		case e.Seq <= m.hw:
			return false, nil // seen before, since expired or shredded
		}
	}

	if err := setEntry(txn, cs, circle, e, ek, expiresAt(e.TTL)); err != nil {
		return false, err
	}
	old := m
	m.top = max(m.top, e.Seq)
	if e.Seq == m.hw+1 {
		next, err := advanceHigh(txn, circle, e.Author, e.Seq, m.top)
		if err != nil {
			return false, err
		}
		m.hw = next
	}
	if m != old {
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 2*u64), m.hw)
		if err := txn.Set(highKey(circle, e.Author), binary.BigEndian.AppendUint64(v, m.top)); err != nil {
			return false, err
		}
		ms.txn[e.Author] = m
	}
	return true, nil
}

// appendRecordOnly stages a record that came without its envelope (an item
// of a welcome pack, from before this member's log starts): only the sealed
// record is kept, and the author's marks are left alone.
func appendRecordOnly(txn *badger.Txn, cs *circleState, circle [16]byte, e *Entry) (bool, error) {
	rk := recordKey(circle, e.Lamport, e.Author, e.Seq)
	switch _, err := txn.Get(rk); {
	case err == nil:
		return false, nil
	case !errors.Is(err, badger.ErrKeyNotFound):
		return false, corruptUnlessClosed(err)
	}
	return true, txn.SetEntry(&badger.Entry{Key: rk, Value: sealRecord(cs, rk, e.Epoch, e.Record), ExpiresAt: expiresAt(e.TTL)})
}

// existingEntry handles an entry whose slot is taken: the same envelope is
// a no-op (or attaches a record stored without one), a different one is
// recorded as evidence and reported as ErrEquivocation.
func existingEntry(txn *badger.Txn, cs *circleState, circle [16]byte, e *Entry, item *badger.Item) error {
	var h entryHeader
	var same bool
	if err := item.Value(func(v []byte) (err error) {
		h, err = parseEntryValue(v)
		same = err == nil && bytes.Equal(v[entryHeaderLen:], e.Envelope)
		return err
	}); err != nil {
		return corruptUnlessClosed(err)
	}
	if same {
		if e.Record != nil && h.flags&flagRecord == 0 && h.epoch == e.Epoch {
			return setEntry(txn, cs, circle, e, item.KeyCopy(nil), item.ExpiresAt())
		}
		return nil
	}
	xk := evidenceKey(circle, e.Author, e.Seq)
	if _, err := txn.Get(xk); errors.Is(err, badger.ErrKeyNotFound) {
		v := make([]byte, u64, u64+len(e.Envelope))
		binary.BigEndian.PutUint64(v, e.Epoch)
		v = append(v, e.Envelope...)
		if err := txn.SetEntry(&badger.Entry{Key: xk, Value: v, ExpiresAt: expiresAt(e.TTL)}); err != nil {
			return err
		}
	} else if err != nil {
		return corruptUnlessClosed(err)
	}
	return ErrEquivocation
}

// entryHeaderLen is the header of an 'e' value: epoch u64 | lamport u64 |
// flags u8, followed by the envelope.
const entryHeaderLen = u64 + u64 + 1

// flagRecord in an entry header says that a decoded record is stored under
// the header's Lamport clock.
const flagRecord = 1

type entryHeader struct {
	epoch, lamport uint64
	flags          byte
}

// parseEntryValue reads the header of an 'e' value. A value too short to
// hold a header and a non-empty envelope wraps ErrCorrupt (see errUnreadable).
func parseEntryValue(v []byte) (entryHeader, error) {
	if len(v) <= entryHeaderLen {
		return entryHeader{}, errUnreadable
	}
	return entryHeader{
		epoch:   binary.BigEndian.Uint64(v),
		lamport: binary.BigEndian.Uint64(v[u64:]),
		flags:   v[2*u64],
	}, nil
}

// setEntry stages the 'e' value of e and, if e has one, its sealed record,
// both expiring at exp.
func setEntry(txn *badger.Txn, cs *circleState, circle [16]byte, e *Entry, ek []byte, exp uint64) error {
	v := make([]byte, entryHeaderLen, entryHeaderLen+len(e.Envelope))
	binary.BigEndian.PutUint64(v, e.Epoch)
	if e.Record != nil {
		binary.BigEndian.PutUint64(v[u64:], e.Lamport)
		v[2*u64] = flagRecord
		rk := recordKey(circle, e.Lamport, e.Author, e.Seq)
		if err := txn.SetEntry(&badger.Entry{Key: rk, Value: sealRecord(cs, rk, e.Epoch, e.Record), ExpiresAt: exp}); err != nil {
			return err
		}
	}
	v = append(v, e.Envelope...)
	return txn.SetEntry(&badger.Entry{Key: ek, Value: v, ExpiresAt: exp})
}

// recordAAD is the associated data of a sealed record: its Badger key and
// the epoch that precedes the seal in the value.
func recordAAD(buf *[recordKeyLen + u64]byte, rk []byte, epoch uint64) []byte {
	aad := append(buf[:0], rk...)
	return binary.BigEndian.AppendUint64(aad, epoch)
}

// sealRecord returns the 'r' value: epoch (8) | sealed record.
func sealRecord(cs *circleState, rk []byte, epoch uint64, record []byte) []byte {
	v := make([]byte, u64, u64+sealOverhead+len(record))
	binary.BigEndian.PutUint64(v, epoch)
	var buf [recordKeyLen + u64]byte
	return seal(v, cs.epochs[epoch], recordAAD(&buf, rk, epoch), record)
}

func readMark(txn *badger.Txn, circle, author [16]byte) (mark, error) {
	item, err := txn.Get(highKey(circle, author))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return mark{}, nil
	}
	if err != nil {
		return mark{}, corruptUnlessClosed(err)
	}
	var m mark
	err = item.Value(func(v []byte) (err error) {
		m, err = decodeMark(v)
		return err
	})
	return m, corruptUnlessNil(err)
}

func decodeMark(v []byte) (mark, error) {
	if len(v) != 2*u64 {
		return mark{}, fmt.Errorf("high-water value of %d bytes: %w", len(v), ErrCorrupt)
	}
	m := mark{hw: binary.BigEndian.Uint64(v), top: binary.BigEndian.Uint64(v[u64:])}
	if m.hw > m.top {
		return mark{}, fmt.Errorf("high-water mark above the top: %w", ErrCorrupt)
	}
	return m, nil
}

// advanceHigh returns the highest s >= seq, up to top, such that seq..s are
// all stored. It probes one key per stored successor, so its work is
// bounded by what is stored, never by the size of a gap.
func advanceHigh(txn *badger.Txn, circle, author [16]byte, seq, top uint64) (uint64, error) {
	k := envelopeKey(circle, author, seq)
	s := seq
	for s < top {
		binary.BigEndian.PutUint64(k[1+2*idLen:], s+1)
		_, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			break
		}
		if err != nil {
			return 0, corruptUnlessClosed(err)
		}
		s++
	}
	return s, nil
}

func corruptUnlessNil(err error) error {
	if err == nil {
		return nil
	}
	return corruptUnlessClosed(err)
}

// SetFloor marks author's sequence numbers 1..seq in circle as seen without
// storing them, for a member who joins late and has no right to what came
// before: sync then neither fetches them nor does Append take them back
// ((false, nil), as for expired entries). The author's high-water mark rises
// to at least seq, and on over any later entries already stored; it never
// falls. The change is synced.
func (s *Store) SetFloor(circle, author [16]byte, seq uint64) error {
	err := s.write(func(db *badger.DB, r *ring) error {
		if _, err := r.circle(circle); err != nil {
			return err
		}
		txn := db.NewTransaction(true)
		defer txn.Discard()
		ms := s.markSet(circle)
		m, err := ms.get(txn, circle, author)
		if err != nil || seq <= m.hw {
			return err
		}
		m.top = max(m.top, seq)
		if m.hw, err = advanceHigh(txn, circle, author, seq, m.top); err != nil {
			return err
		}
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 2*u64), m.hw)
		if err := txn.Set(highKey(circle, author), binary.BigEndian.AppendUint64(v, m.top)); err != nil {
			return err
		}
		ms.txn[author] = m
		if err := txn.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		ms.committed()
		return db.Sync()
	})
	if err != nil {
		return fmt.Errorf("set floor: %w", err)
	}
	return nil
}

// HighWater returns, per author with at least seq 1 stored, the highest
// sequence number s such that 1..s have all been stored (entries that
// expired or were shredded since still count). The marks are read from
// Badger once per circle and then kept in memory, written through by every
// append.
func (s *Store) HighWater(circle [16]byte) (map[[16]byte]uint64, error) {
	out := make(map[[16]byte]uint64)
	err := s.write(func(db *badger.DB, r *ring) error {
		if _, err := r.circle(circle); err != nil {
			return err
		}
		c := s.circleMarks(circle)
		if !c.complete {
			loaded := make(map[[16]byte]mark)
			if err := loadMarks(db, circle, loaded); err != nil {
				return err
			}
			s.mmu.Lock()
			maps.Copy(c.byAuthor, loaded)
			c.complete = true
			s.mmu.Unlock()
		}
		for a, m := range c.byAuthor {
			if m.hw > 0 {
				out[a] = m.hw
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("high water: %w", err)
	}
	return out, nil
}

// loadMarks reads every author's mark of circle into into.
func loadMarks(db *badger.DB, circle [16]byte, into map[[16]byte]mark) error {
	return db.View(func(txn *badger.Txn) error {
		prefix := circlePrefix(tagHigh, circle)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != highKeyLen {
				return fmt.Errorf("high-water key of %d bytes: %w", len(k), ErrCorrupt)
			}
			var a [16]byte
			copy(a[:], k[1+idLen:])
			if err := item.Value(func(v []byte) error {
				m, err := decodeMark(v)
				into[a] = m
				return err
			}); err != nil {
				return corruptUnlessClosed(err)
			}
		}
		return nil
	})
}

// Envelopes returns author's envelopes in circle with sequence numbers
// above after, ascending, as stored: at most limit of them (clamped to
// MaxPage), and no more once their total reaches 4 MiB. Gaps are skipped;
// the sequence numbers are in the envelopes' headers. limit < 1 is ErrInvalid.
func (s *Store) Envelopes(circle [16]byte, author [16]byte, after uint64, limit int) ([][]byte, error) {
	if limit < 1 {
		return nil, fmt.Errorf("envelopes: limit %d: %w", limit, ErrInvalid)
	}
	limit = min(limit, MaxPage)
	var out [][]byte
	err := s.read(func(db *badger.DB, r *ring) error {
		if _, err := r.circle(circle); err != nil {
			return err
		}
		if after == math.MaxUint64 {
			return nil
		}
		return db.View(func(txn *badger.Txn) error {
			prefix := authorPrefix(circle, author)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			total := 0
			for it.Seek(envelopeKey(circle, author, after+1)); it.ValidForPrefix(prefix) && len(out) < limit && total < maxEnvelopesBytes; it.Next() {
				var env []byte
				if err := it.Item().Value(func(v []byte) error {
					if _, err := parseEntryValue(v); err != nil {
						return err
					}
					env = bytes.Clone(v[entryHeaderLen:])
					return nil
				}); err != nil {
					return corruptUnlessClosed(err)
				}
				out = append(out, env)
				total += len(env)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("envelopes: %w", err)
	}
	return out, nil
}

// HasEnvelope reports whether the envelope of author+seq is stored (and not
// expired or shredded).
func (s *Store) HasEnvelope(circle, author [16]byte, seq uint64) (bool, error) {
	var has bool
	err := s.read(func(db *badger.DB, r *ring) error {
		if _, err := r.circle(circle); err != nil {
			return err
		}
		// Above the author's highest stored sequence number nothing is
		// stored: the cached marks answer without a read, as they do for
		// every new record a member receives.
		if s.absent(circle, author, seq) {
			return nil
		}
		return db.View(func(txn *badger.Txn) error {
			_, err := txn.Get(envelopeKey(circle, author, seq))
			switch {
			case err == nil:
				has = true
			case errors.Is(err, badger.ErrKeyNotFound):
			default:
				return corruptUnlessClosed(err)
			}
			return nil
		})
	})
	if err != nil {
		return false, fmt.Errorf("has envelope: %w", err)
	}
	return has, nil
}

// Envelope returns the envelope of author+seq as stored, or nil when it is
// not stored (or expired or shredded).
func (s *Store) Envelope(circle, author [16]byte, seq uint64) ([]byte, error) {
	var env []byte
	err := s.read(func(db *badger.DB, r *ring) error {
		if _, err := r.circle(circle); err != nil {
			return err
		}
		if s.absent(circle, author, seq) {
			return nil
		}
		return db.View(func(txn *badger.Txn) error {
			item, err := txn.Get(envelopeKey(circle, author, seq))
			switch {
			case errors.Is(err, badger.ErrKeyNotFound):
				return nil
			case err != nil:
				return corruptUnlessClosed(err)
			}
			if err := item.Value(func(v []byte) error {
				if _, err := parseEntryValue(v); err != nil {
					return err
				}
				env = bytes.Clone(v[entryHeaderLen:])
				return nil
			}); err != nil {
				return corruptUnlessClosed(err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return env, nil
}

// Latest returns up to limit decoded records of circle, newest first in
// display order (Lamport clock, then author id, then sequence number),
// strictly before the cursor, or from the end when before is nil. limit is
// clamped to MaxPage; limit < 1 is ErrInvalid. Pass the last item's Cursor
// to get the page before it. Records of epochs whose keys are gone are
// skipped; a record that does not authenticate is ErrCorrupt.
func (s *Store) Latest(circle [16]byte, before *Cursor, limit int) ([]Item, error) {
	if limit < 1 {
		return nil, fmt.Errorf("latest: limit %d: %w", limit, ErrInvalid)
	}
	limit = min(limit, MaxPage)
	var out []Item
	err := s.read(func(db *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		prefix := circlePrefix(tagRecord, circle)
		var seek []byte
		if before == nil {
			seek = append(prefix[:len(prefix):len(prefix)], bytes.Repeat([]byte{0xff}, recordKeyLen-len(prefix))...)
		} else {
			seek = recordKey(circle, before.Lamport, before.Author, before.Seq)
		}
		return db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
			defer it.Close()
			for it.Seek(seek); it.ValidForPrefix(prefix) && len(out) < limit; it.Next() {
				item := it.Item()
				k := item.Key()
				if before != nil && bytes.Equal(k, seek) {
					continue
				}
				c, ok := parseRecordKey(k)
				if !ok {
					return fmt.Errorf("record key of %d bytes: %w", len(k), ErrCorrupt)
				}
				var it2 Item
				skip := false
				if err := item.Value(func(v []byte) error {
					if len(v) < u64 {
						return fmt.Errorf("record value of %d bytes: %w", len(v), ErrCorrupt)
					}
					epoch := binary.BigEndian.Uint64(v)
					a, ok := cs.epochs[epoch]
					if !ok {
						skip = true // shredded; its deletion is under way
						return nil
					}
					var buf [recordKeyLen + u64]byte
					pt, err := openSealed(a, recordAAD(&buf, k, epoch), v[u64:])
					if err != nil {
						return err
					}
					it2 = Item{Author: c.Author, Seq: c.Seq, Epoch: epoch, Lamport: c.Lamport, Record: pt}
					return nil
				}); err != nil {
					return corruptUnlessClosed(err)
				}
				if !skip {
					out = append(out, it2)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("latest: %w", err)
	}
	return out, nil
}

// Count returns how many entries (envelopes) of circle are stored, expired
// ones excluded. It walks the circle's envelope keys without copying values,
// so its cost grows with the log (tens of milliseconds per hundred thousand
// entries; see BenchmarkCount).
func (s *Store) Count(circle [16]byte) (int, error) {
	n := 0
	err := s.read(func(db *badger.DB, r *ring) error {
		if _, err := r.circle(circle); err != nil {
			return err
		}
		return db.View(func(txn *badger.Txn) error {
			prefix := circlePrefix(tagEnvelope, circle)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				n++
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

// Equivocations returns the evidence recorded for circle, by author and
// sequence number.
func (s *Store) Equivocations(circle [16]byte) ([]Equivocation, error) {
	var out []Equivocation
	err := s.read(func(db *badger.DB, r *ring) error {
		if _, err := r.circle(circle); err != nil {
			return err
		}
		return db.View(func(txn *badger.Txn) error {
			prefix := circlePrefix(tagEvidence, circle)
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				item := it.Item()
				a, seq, ok := parseAuthorSeq(item.Key())
				if !ok {
					return fmt.Errorf("evidence key of %d bytes: %w", len(item.Key()), ErrCorrupt)
				}
				v, err := item.ValueCopy(nil)
				if err != nil {
					return corruptUnlessClosed(err)
				}
				if len(v) <= u64 {
					return fmt.Errorf("evidence value of %d bytes: %w", len(v), ErrCorrupt)
				}
				eq := Equivocation{Author: a, Seq: seq, ConflictingEpoch: binary.BigEndian.Uint64(v), Conflicting: v[u64:]}
				kept, err := txn.Get(envelopeKey(circle, a, seq))
				switch {
				case err == nil:
					if err := kept.Value(func(v []byte) error {
						if _, err := parseEntryValue(v); err != nil {
							return err
						}
						eq.Kept = bytes.Clone(v[entryHeaderLen:])
						return nil
					}); err != nil {
						return corruptUnlessClosed(err)
					}
				case !errors.Is(err, badger.ErrKeyNotFound):
					return corruptUnlessClosed(err)
				}
				out = append(out, eq)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("equivocations: %w", err)
	}
	return out, nil
}
