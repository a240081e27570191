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
		delete(s.marks, circle)
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
// between the steps, the next Open finishes the deletion.
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
		return s.deleteEpochsBelow(db, circle, c.floor)
	})
	if err != nil {
		return fmt.Errorf("shred epochs: %w", err)
	}
	return nil
}

// deleteEpochsBelow deletes circle's envelopes, records and evidence of
// epochs below floor. It walks the epoch index from its start, so when
// nothing is left to delete it costs one seek.
func (s *Store) deleteEpochsBelow(db *badger.DB, circle [16]byte, floor uint64) error {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	err := db.View(func(txn *badger.Txn) error {
		prefix := circlePrefix(tagEpochIdx, circle)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			epoch, author, seq, ok := parseEpochIdxKey(item.Key())
			if !ok {
				it.Close()
				return fmt.Errorf("epoch index key of %d bytes: %w", len(item.Key()), ErrCorrupt)
			}
			if epoch >= floor {
				break
			}
			var lamport uint64
			var hasRecord bool
			if err := item.Value(func(v []byte) error {
				if len(v) == u64+1 {
					lamport = binary.BigEndian.Uint64(v)
					hasRecord = v[u64]&flagRecord != 0
				}
				return nil
			}); err != nil {
				it.Close()
				return corruptUnlessClosed(err)
			}
			dels := [][]byte{item.KeyCopy(nil), envelopeKey(circle, author, seq)}
			if hasRecord {
				dels = append(dels, recordKey(circle, lamport, author, seq))
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
		it = txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
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
