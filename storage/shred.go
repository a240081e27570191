package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// ForgetCircle crypto-shreds circle: its keyring entry (root key and every
// epoch's keys) is removed and the keyring synced first, so whatever of the
// circle lingers in Badger's files can no longer be decrypted; then all its
// Badger keys are dropped. If the process stops between the two steps, the
// keyring remembers the circle as forgotten and the next Open finishes the
// drop. An unknown circle is ErrNoCircle.
func (s *Store) ForgetCircle(circle [16]byte) error {
	err := s.write(func(db *badger.DB, r *ring) error {
		k := r.kr.clone()
		i, ok := k.find(circle)
		if !ok {
			return fmt.Errorf("circle %x: %w", circle[:4], ErrNoCircle)
		}
		k.circles = slices.Delete(k.circles, i, i+1)
		j, found := slices.BinarySearchFunc(k.tombstones, circle, func(t, c [16]byte) int { return bytes.Compare(t[:], c[:]) })
		if !found {
			k.tombstones = slices.Insert(k.tombstones, j, circle)
		}
		if err := s.saveKeyring(k); err != nil {
			return err
		}
		s.mmu.Lock()
		delete(s.marks, circle)
		s.mmu.Unlock()
		if err := db.DropPrefix(circlePrefixes(circle)...); err != nil {
			return fmt.Errorf("drop circle keys: %w", err)
		}
		k = k.clone()
		k.tombstones = slices.DeleteFunc(k.tombstones, func(t [16]byte) bool { return t == circle })
		return s.saveKeyring(k)
	})
	if err != nil {
		return fmt.Errorf("forget circle: %w", err)
	}
	return nil
}

// ShredEpochsBefore crypto-shreds the epochs of circle numbered below
// epoch: their secrets and storage keys leave the keyring (synced first),
// the circle's floor rises to epoch so that entries of those epochs are not
// taken again (ErrShredded), and then their envelopes, records and
// equivocation evidence are deleted from Badger. High-water marks are kept,
// so sync does not fetch the shredded entries back. If the process stops
// between the steps, the next Open finishes the deletion. Its cost is a
// pass over the circle's log.
func (s *Store) ShredEpochsBefore(circle [16]byte, epoch uint64) error {
	err := s.write(func(db *badger.DB, r *ring) error {
		k := r.kr.clone()
		i, ok := k.find(circle)
		if !ok {
			return fmt.Errorf("circle %x: %w", circle[:4], ErrNoCircle)
		}
		c := &k.circles[i]
		if epoch > c.floor {
			c.floor = epoch
			c.epochs = slices.DeleteFunc(c.epochs, func(e epochKeys) bool { return e.epoch < epoch })
			if err := s.saveKeyring(k); err != nil {
				return err
			}
		}
		return s.clearShredded(db, circle)
	})
	if err != nil {
		return fmt.Errorf("shred epochs: %w", err)
	}
	return nil
}

// clearShredded deletes the entries of circle's shredded epochs from Badger
// and records in the keyring that they are gone. The caller holds s.wmu,
// or is Open.
func (s *Store) clearShredded(db *badger.DB, circle [16]byte) error {
	k := s.ring.Load().kr.clone()
	i, ok := k.find(circle)
	if !ok || k.circles[i].cleared == k.circles[i].floor {
		return nil
	}
	if err := s.deleteEpochsBelow(db, circle, k.circles[i].floor); err != nil {
		return err
	}
	k.circles[i].cleared = k.circles[i].floor
	return s.saveKeyring(k)
}

// deleteEpochsBelow deletes circle's envelopes, records and evidence of
// epochs below floor. It reads the header of every envelope of the circle,
// which is the cost of shredding: proportional to the circle's log.
func (s *Store) deleteEpochsBelow(db *badger.DB, circle [16]byte, floor uint64) error {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	err := db.View(func(txn *badger.Txn) error {
		prefix := circlePrefix(tagEnvelope, circle)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			author, seq, ok := parseAuthorSeq(item.Key())
			if !ok {
				it.Close()
				return fmt.Errorf("envelope key of %d bytes: %w", len(item.Key()), ErrCorrupt)
			}
			var h entryHeader
			if err := item.Value(func(v []byte) (err error) {
				h, err = parseEntryValue(v)
				return err
			}); err != nil {
				continue // unreadable: left for reads to report as ErrCorrupt
			}
			if h.epoch >= floor {
				continue
			}
			dels := [][]byte{item.KeyCopy(nil)}
			if h.flags&flagRecord != 0 {
				dels = append(dels, recordKey(circle, h.lamport, author, seq))
			}
			for _, d := range dels {
				if err := wb.Delete(d); err != nil {
					it.Close()
					return err
				}
			}
		}
		it.Close()

		prefix = circlePrefix(tagEvidence, circle)
		it = txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			var old bool
			if err := item.Value(func(v []byte) error {
				old = len(v) < u64 || binary.BigEndian.Uint64(v) < floor
				return nil
			}); err != nil {
				return corruptUnlessClosed(err)
			}
			if old {
				if err := wb.Delete(item.KeyCopy(nil)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("delete shredded entries: %w", err)
	}
	return nil
}
