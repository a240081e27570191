package storage

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

func checkBucketKey(bucket string, key []byte) error {
	switch {
	case len(bucket) == 0:
		return fmt.Errorf("empty bucket name: %w", ErrInvalid)
	case len(bucket) > MaxBucketLen:
		return fmt.Errorf("bucket name of %d bytes exceeds %d: %w", len(bucket), MaxBucketLen, ErrTooLarge)
	case len(key) == 0:
		return fmt.Errorf("empty key: %w", ErrInvalid)
	case len(key) > MaxKeySize:
		return fmt.Errorf("key of %d bytes exceeds %d: %w", len(key), MaxKeySize, ErrTooLarge)
	}
	return nil
}

func checkValue(value []byte) error {
	if len(value) > MaxValueSize {
		return fmt.Errorf("value of %d bytes exceeds %d: %w", len(value), MaxValueSize, ErrTooLarge)
	}
	return nil
}

// Put stores value under key in one of circle's buckets (roster, identity,
// settings, invites, ...), sealed with the circle's root key; durable syncs
// the store before Put returns. Buckets are 1..MaxBucketLen bytes, keys
// 1..MaxKeySize, values up to MaxValueSize. Bucket names and keys are part
// of the Badger key, protected by Badger's encryption only, and outlive
// ForgetCircle in Badger's files until compaction: keep secrets in values.
func (s *Store) Put(circle [16]byte, bucket string, key, value []byte, durable bool) error {
	if err := checkBucketKey(bucket, key); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := checkValue(value); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	err := s.write(func(db *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		k := kvKey(circle, bucket, key)
		v := seal(nil, cs.root, k, value)
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
			return err
		}
		if durable {
			return db.Sync()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	return nil
}

// Get returns the value under key in circle's bucket: ErrNotFound if there
// is none, ErrCorrupt if it does not authenticate.
func (s *Store) Get(circle [16]byte, bucket string, key []byte) ([]byte, error) {
	if err := checkBucketKey(bucket, key); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	var out []byte
	err := s.read(func(db *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		k := kvKey(circle, bucket, key)
		return db.View(func(txn *badger.Txn) error {
			item, err := txn.Get(k)
			if errors.Is(err, badger.ErrKeyNotFound) {
				return ErrNotFound
			}
			if err != nil {
				return corruptUnlessClosed(err)
			}
			return corruptUnlessNil(item.Value(func(v []byte) error {
				out, err = openSealed(cs.root, k, v)
				return err
			}))
		})
	})
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	return out, nil
}

// Delete removes key from circle's bucket; a missing key is not an error.
func (s *Store) Delete(circle [16]byte, bucket string, key []byte) error {
	if err := checkBucketKey(bucket, key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	err := s.write(func(db *badger.DB, r *ring) error {
		if _, err := r.circle(circle); err != nil {
			return err
		}
		return db.Update(func(txn *badger.Txn) error { return txn.Delete(kvKey(circle, bucket, key)) })
	})
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// List calls fn for every key and value in circle's bucket, in key order,
// stopping at and returning fn's first error. The bucket is read in one
// snapshot first and fn runs afterwards, so fn may call the store; fn gets
// its own copies.
func (s *Store) List(circle [16]byte, bucket string, fn func(key, value []byte) error) error {
	if err := checkBucketKey(bucket, []byte{0}); err != nil {
		return fmt.Errorf("list: %w", err)
	}
	type kv struct{ k, v []byte }
	var all []kv
	err := s.read(func(db *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		prefix := bucketPrefix(circle, bucket)
		return db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				item := it.Item()
				k := item.KeyCopy(nil)
				var pt []byte
				if err := item.Value(func(v []byte) error {
					pt, err = openSealed(cs.root, k, v)
					return err
				}); err != nil {
					return corruptUnlessClosed(err)
				}
				all = append(all, kv{k[len(prefix):], pt})
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	for _, e := range all {
		if err := fn(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// globalVersion starts every global value, so that no stored value is
// empty: Badger returns an empty value, without an error, for a value it
// cannot read from its value log.
const globalVersion = 1

func checkGlobal(name []byte) error {
	switch {
	case len(name) == 0:
		return fmt.Errorf("empty name: %w", ErrInvalid)
	case len(name) > MaxKeySize:
		return fmt.Errorf("name of %d bytes exceeds %d: %w", len(name), MaxKeySize, ErrTooLarge)
	}
	return nil
}

// PutGlobal stores a value that belongs to no circle (app settings),
// protected by Badger's encryption under the store key only, and syncs.
func (s *Store) PutGlobal(key, value []byte) error {
	if err := checkGlobal(key); err != nil {
		return fmt.Errorf("put global: %w", err)
	}
	if err := checkValue(value); err != nil {
		return fmt.Errorf("put global: %w", err)
	}
	err := s.write(func(db *badger.DB, _ *ring) error {
		k := globalKey(key)
		v := append([]byte{globalVersion}, value...)
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
			return err
		}
		return db.Sync()
	})
	if err != nil {
		return fmt.Errorf("put global: %w", err)
	}
	return nil
}

// GetGlobal returns a value stored with PutGlobal, or ErrNotFound.
func (s *Store) GetGlobal(key []byte) ([]byte, error) {
	if err := checkGlobal(key); err != nil {
		return nil, fmt.Errorf("get global: %w", err)
	}
	var out []byte
	err := s.read(func(db *badger.DB, _ *ring) error {
		return db.View(func(txn *badger.Txn) error {
			item, err := txn.Get(globalKey(key))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return ErrNotFound
			}
			if err != nil {
				return corruptUnlessClosed(err)
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return corruptUnlessClosed(err)
			}
			if len(v) == 0 || v[0] != globalVersion {
				return errUnreadable
			}
			out = v[1:]
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("get global: %w", err)
	}
	return out, nil
}

// DeleteGlobal removes a value stored with PutGlobal; a missing one is not
// an error.
func (s *Store) DeleteGlobal(key []byte) error {
	if err := checkGlobal(key); err != nil {
		return fmt.Errorf("delete global: %w", err)
	}
	err := s.write(func(db *badger.DB, _ *ring) error {
		return db.Update(func(txn *badger.Txn) error { return txn.Delete(globalKey(key)) })
	})
	if err != nil {
		return fmt.Errorf("delete global: %w", err)
	}
	return nil
}
