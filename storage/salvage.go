package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Salvage hands fn every decoded record of circle that still reads and
// authenticates, oldest first in display order, and counts the rest in
// skipped instead of failing on them: it is how what is readable of a
// damaged store is exported, where Latest stops at the first damaged
// record. A panic inside Badger on one record skips that record; damage
// that stops the walk itself is returned as ErrCorrupt, after fn has had
// everything before it. An error from fn ends the walk and is returned.
func (s *Store) Salvage(circle [16]byte, fn func(Item) error) (skipped int, err error) {
	err = s.read(func(db *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		prefix := circlePrefix(tagRecord, circle)
		return db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				item, ok := salvageItem(it.Item(), cs)
				if !ok {
					skipped++
					continue
				}
				if err := fn(item); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return skipped, fmt.Errorf("salvage: %w", err)
	}
	return skipped, nil
}

// salvageItem decodes one record, reporting false for anything unreadable,
// a panic included.
func salvageItem(bi *badger.Item, cs *circleState) (out Item, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	k := bi.KeyCopy(nil)
	c, ok := parseRecordKey(k)
	if !ok {
		return Item{}, false
	}
	v, err := bi.ValueCopy(nil)
	if err != nil || len(v) < u64 {
		return Item{}, false
	}
	epoch := binary.BigEndian.Uint64(v)
	a, have := cs.epochs[epoch]
	if !have {
		return Item{}, false
	}
	var buf [recordKeyLen + u64]byte
	pt, err := openSealed(a, recordAAD(&buf, k, epoch), v[u64:])
	if err != nil {
		return Item{}, false
	}
	return Item{Author: c.Author, Seq: c.Seq, Epoch: epoch, Lamport: c.Lamport, Record: pt}, true
}
