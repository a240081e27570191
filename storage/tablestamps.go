package storage

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/table"
)

// Checking every table block by block when the store opens (see preflight)
// costs time in proportion to the whole history: a third of a second for
// 100,000 messages on a small machine. Badger never rewrites a table once
// written, so a table whose bytes are exactly those of a table already
// checked, or written by this store, need not be decrypted again: it gets
// the checks Badger itself makes when it opens a table (the index and the
// last block), which cannot crash it. The record of such tables is the
// stamps file: per table its id, size and a CRC-32C of its bytes, which
// reading the file computes ten times faster than decrypting it; the whole
// record is authenticated with a key derived from the store key, so only
// this store's own Hearth could have written it. A table whose stamp does
// not match, or a stamps file that is missing, damaged or forged, means the
// full check.

// stampsName is the stamps file in the store directory.
const stampsName = "hearth-tables-checked"

// stampsLabel derives the stamps file's MAC key from the store key.
const stampsLabel = "hearth storage table stamps v1"

// stampsMagic starts the stamps file.
const stampsMagic = "HTS1"

// maxStamps bounds the tables a stamps file may name.
const maxStamps = 1 << 20

// tableStamp is what identifies a table's bytes.
type tableStamp struct {
	size int64
	sum  uint32
}

type tableStamps map[uint64]tableStamp

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// stampOf stamps a table's bytes.
func stampOf(data []byte) tableStamp {
	return tableStamp{size: int64(len(data)), sum: crc32.Checksum(data, castagnoli)}
}

func stampsKey(storeKey [32]byte) []byte {
	k, err := hkdf.Key(sha256.New, storeKey[:], nil, stampsLabel, 32)
	if err != nil {
		panic("storage: hkdf: " + err.Error())
	}
	return k
}

// encodeStamps is magic | count (4) | count × (id 8, size 8, sum 4), in
// ascending id order, then an HMAC-SHA256 of all that.
func encodeStamps(st tableStamps, key []byte) []byte {
	ids := slices.Sorted(func(yield func(uint64) bool) {
		for id := range st {
			if !yield(id) {
				return
			}
		}
	})
	b := make([]byte, 0, len(stampsMagic)+4+20*len(ids)+sha256.Size)
	b = append(b, stampsMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = binary.BigEndian.AppendUint64(b, id)
		b = binary.BigEndian.AppendUint64(b, uint64(st[id].size))
		b = binary.BigEndian.AppendUint32(b, st[id].sum)
	}
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(b)
}

var errStamps = errors.New("table stamps do not verify")

// decodeStamps parses and authenticates a stamps file.
func decodeStamps(b []byte, key []byte) (tableStamps, error) {
	head := len(stampsMagic) + 4
	if len(b) < head+sha256.Size || string(b[:len(stampsMagic)]) != stampsMagic {
		return nil, errStamps
	}
	body, tag := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	m := hmac.New(sha256.New, key)
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), tag) {
		return nil, errStamps
	}
	n := binary.BigEndian.Uint32(body[len(stampsMagic):])
	if n > maxStamps || uint64(len(body)-head) != 20*uint64(n) {
		return nil, errStamps
	}
	st := make(tableStamps, n)
	for p := body[head:]; len(p) > 0; p = p[20:] {
		size := binary.BigEndian.Uint64(p[8:16])
		if size > 1<<62 {
			return nil, errStamps
		}
		st[binary.BigEndian.Uint64(p[:8])] = tableStamp{size: int64(size), sum: binary.BigEndian.Uint32(p[16:20])}
	}
	return st, nil
}

// loadStamps reads the stamps file; anything amiss gives no stamps, and so
// the full check of every table.
func loadStamps(storeDir string, key []byte) tableStamps {
	b, err := readBounded(filepath.Join(storeDir, stampsName), int64(len(stampsMagic))+4+20*maxStamps+sha256.Size)
	if err != nil {
		return nil
	}
	st, err := decodeStamps(b, key)
	if err != nil {
		return nil
	}
	return st
}

// saveStamps replaces the stamps file atomically.
func saveStamps(storeDir string, key []byte, st tableStamps) error {
	path := filepath.Join(storeDir, stampsName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("table stamps: %w", err)
	}
	_, err = f.Write(encodeStamps(st, key))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("table stamps: %w", err)
	}
	return nil
}

// stampTables stamps every table the manifest names: those in known (the
// tables checked when the store opened; a table file never changes) as they
// were, the others by reading them. It runs when the store closes: the
// tables are then as this store wrote or checked them.
func stampTables(storeDir string, log badger.Logger, known tableStamps) (tableStamps, error) {
	tables, err := manifestTables(storeDir, log)
	if err != nil {
		return nil, err
	}
	st := make(tableStamps, len(tables))
	for id := range tables {
		if k, ok := known[id]; ok {
			st[id] = k
			continue
		}
		f, err := os.Open(filepath.Join(storeDir, table.IDToFilename(id)))
		if err != nil {
			return nil, err
		}
		h := crc32.New(castagnoli)
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		st[id] = tableStamp{size: n, sum: h.Sum32()}
	}
	return st, nil
}
