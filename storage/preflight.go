package storage

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Names of files in the store directory.
const (
	lockFileName   = "hearth.lock"
	badgerManifest = "MANIFEST"
)

// preflight checks the store directory, under the store lock and before
// Badger opens it, for damage that Badger would not report, would "repair"
// by losing data, or would crash on:
//   - a missing MANIFEST (Badger would start a new one and delete the tables);
//   - a MANIFEST whose last change is cut short although no memtable log
//     exists: a crash while Badger appends to its manifest always leaves a
//     memtable log, so this is damage, and Badger would drop the change and
//     delete the tables it adds;
//   - a missing KEYREGISTRY (Badger would make data keys that cannot read
//     the old files), one under another key (ErrWrongKey), or one whose
//     entry lengths run past its end (Badger would allocate what they claim);
//   - a memtable or value log too short for its header or naming an unknown
//     data key (Badger fails on these through paths that leak goroutines);
//   - a table that fails Badger's own open-time checks, which Badger runs in
//     goroutines of its own where a damaged table panics beyond any recover.
func preflight(storeDir string, keyringExists bool, storeKey [32]byte, log badger.Logger) error {
	ents, err := os.ReadDir(storeDir)
	if err != nil {
		return fmt.Errorf("read store directory: %w", err)
	}
	var manifest, registry, mem, data bool
	var logs []string // memtable and value logs
	for _, e := range ents {
		switch n := e.Name(); {
		case n == badgerManifest:
			manifest = true
		case n == badger.KeyRegistryFileName:
			registry = true
		case strings.HasSuffix(n, ".mem"):
			mem, data = true, true
			logs = append(logs, n)
		case strings.HasSuffix(n, ".vlog"):
			data = true
			logs = append(logs, n)
		case strings.HasSuffix(n, ".sst"):
			data = true
		}
	}
	switch {
	case !manifest && (registry || data || keyringExists):
		return fmt.Errorf("store manifest is missing: %w", ErrCorrupt)
	case manifest && !registry && (data || keyringExists):
		return fmt.Errorf("store key registry is missing: %w", ErrCorrupt)
	case !manifest:
		return nil // a new store
	}
	if !mem {
		if err := checkManifest(filepath.Join(storeDir, badgerManifest)); err != nil {
			return err
		}
	}
	if !registry {
		return nil // a new store whose first open stopped early
	}
	if err := checkKeyRegistry(filepath.Join(storeDir, badger.KeyRegistryFileName), storeKey); err != nil {
		return err
	}
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: storeDir, ReadOnly: true, EncryptionKey: storeKey[:]})
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		return ErrWrongKey
	}
	if err != nil {
		return fmt.Errorf("store key registry: %v: %w", err, ErrCorrupt)
	}
	defer kr.Close()
	for _, n := range logs {
		if err := checkLogHeader(filepath.Join(storeDir, n), kr); err != nil {
			return err
		}
	}
	checked, err := verifyTables(storeDir, kr, loadStamps(storeDir, stampsKey(storeKey)), log)
	if err != nil {
		return err
	}
	// Keep the stamps of what passed, so that a crash before Close still
	// spares the next open the full check of these tables.
	_ = saveStamps(storeDir, stampsKey(storeKey), checked)
	return nil
}

// logHeaderLen is the header of Badger's memtable and value logs: the id
// of the data key (8) and a base IV (12).
const logHeaderLen = 20

// checkLogHeader refuses a memtable or value log too short for its header
// or naming a data key the registry lacks; Badger would fail on either,
// through error paths that leave some of its goroutines running.
func checkLogHeader(path string, kr *badger.KeyRegistry) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store log: %w", err)
	}
	defer f.Close()
	var h [logHeaderLen]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return fmt.Errorf("store log %s is truncated: %w", filepath.Base(path), ErrCorrupt)
	}
	if _, err := kr.DataKey(binary.BigEndian.Uint64(h[:8])); err != nil {
		return fmt.Errorf("store log %s names an unknown data key: %w", filepath.Base(path), ErrCorrupt)
	}
	return nil
}

// checkManifest walks Badger's manifest: an 8-byte magic, then changes of
// length (4) | crc (4) | data, and refuses one whose last change is cut
// short. Badger checks the magic and the checksums.
func checkManifest(path string) error {
	const maxManifest = 64 << 20
	b, err := readBounded(path, maxManifest)
	if err != nil {
		return fmt.Errorf("store manifest: %w", err)
	}
	if len(b) < 8 {
		return nil // Badger reports the bad magic
	}
	for rest := b[8:]; len(rest) > 0; {
		if len(rest) < 8 {
			return fmt.Errorf("store manifest is truncated: %w", ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(rest)
		if uint64(n) > uint64(len(rest)-8) {
			return fmt.Errorf("store manifest is truncated: %w", ErrCorrupt)
		}
		rest = rest[8+int(n):]
	}
	return nil
}

// registrySanity is the text Badger encrypts at the start of its key
// registry to recognise its key.
const registrySanity = "Hello Badger"

// checkKeyRegistry reads Badger's key registry: a 16-byte IV, the text
// "Hello Badger" encrypted with AES-CTR under the store key, then entries of
// length (4) | crc (4) | data. It reports a wrong store key as ErrWrongKey,
// as Badger would, but before Badger starts its goroutines; and it makes
// sure no entry length points past the end of the file. Badger checks the
// entries' checksums. Damage to the first 28 bytes looks like a wrong key.
func checkKeyRegistry(path string, storeKey [32]byte) error {
	const maxRegistry = 16 << 20
	b, err := readBounded(path, maxRegistry)
	if err != nil {
		return fmt.Errorf("store key registry: %w", err)
	}
	const header = aes.BlockSize + len(registrySanity)
	if len(b) < header {
		return fmt.Errorf("store key registry is truncated: %w", ErrCorrupt)
	}
	block, err := aes.NewCipher(storeKey[:])
	if err != nil {
		return fmt.Errorf("store key: %w", err)
	}
	sanity := make([]byte, len(registrySanity))
	cipher.NewCTR(block, b[:aes.BlockSize]).XORKeyStream(sanity, b[aes.BlockSize:header])
	if string(sanity) != registrySanity {
		return ErrWrongKey
	}
	for rest := b[header:]; len(rest) > 0; {
		if len(rest) < 8 {
			return fmt.Errorf("store key registry is truncated: %w", ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(rest)
		if uint64(n) > uint64(len(rest)-8) {
			return fmt.Errorf("store key registry is truncated: %w", ErrCorrupt)
		}
		rest = rest[8+int(n):]
	}
	return nil
}

// verifyTables opens every table the manifest lists, read-only, through
// Badger's own table code with its checksums verified, in this goroutine so
// that a panic on a damaged table is recovered and reported as ErrCorrupt.
// Badger then finds only tables it can open.
func verifyTables(storeDir string, kr *badger.KeyRegistry, known tableStamps, log badger.Logger) (tableStamps, error) {
	tables, err := manifestTables(storeDir, log)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return tableStamps{}, nil
	}
	cache, err := ristretto.NewCache(&ristretto.Config[uint64, *fb.TableIndex]{
		NumCounters: 1 << 12, MaxCost: 8 << 20, BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("table index cache: %w", err)
	}
	defer cache.Close()
	// Tables are independent: check them on every core at once, and report
	// the damaged table with the lowest id, so the error does not depend on
	// scheduling.
	ids := slices.Sorted(maps.Keys(tables))
	errs := make([]error, len(ids))
	stamps := make([]tableStamp, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ids)) {
		wg.Go(func() {
			for i := range next {
				stamps[i], errs[i] = verifyTable(storeDir, ids[i], tables[ids[i]], kr, cache, known)
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	checked := make(tableStamps, len(ids))
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		checked[ids[i]] = stamps[i]
	}
	return checked, nil
}

// manifestTables reads the tables the store's manifest names.
func manifestTables(storeDir string, log badger.Logger) (map[uint64]badger.TableManifest, error) {
	f, err := os.Open(filepath.Join(storeDir, badgerManifest))
	if err != nil {
		return nil, fmt.Errorf("store manifest: %w", err)
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(storeDir).WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("store manifest: %v: %w", err, ErrCorrupt)
	}
	return m.Tables, nil
}

// verifyTable checks one table: block by block, unless its bytes carry a
// stamp in known (see tablestamps.go), and returns its stamp.
func verifyTable(storeDir string, id uint64, tm badger.TableManifest, kr *badger.KeyRegistry, cache *ristretto.Cache[uint64, *fb.TableIndex], known tableStamps) (stamp tableStamp, err error) {
	name := table.IDToFilename(id)
	dk, err := kr.DataKey(tm.KeyID)
	if err != nil {
		return stamp, fmt.Errorf("store table %s: unknown data key: %w", name, ErrCorrupt)
	}
	mf, err := z.OpenMmapFile(filepath.Join(storeDir, name), os.O_RDONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return stamp, fmt.Errorf("store table %s is missing: %w", name, ErrCorrupt)
		}
		return stamp, fmt.Errorf("store table %s: %v: %w", name, err, ErrCorrupt)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store table %s is damaged: %w", name, ErrCorrupt)
		}
		func() {
			defer func() { _ = recover() }()
			_ = mf.Close(-1)
		}()
	}()
	stamp = stampOf(mf.Data)
	mode := options.OnTableRead // every block
	if k, ok := known[id]; ok && k == stamp {
		mode = options.OnBlockRead // the index and the blocks Badger reads to open it
	}
	_, err = table.OpenTable(mf, table.Options{
		ReadOnly:    true,
		ChkMode:     mode,
		DataKey:     dk,
		Compression: tm.Compression,
		BlockSize:   4 << 10,
		IndexCache:  cache,
	})
	if err != nil {
		return stamp, fmt.Errorf("store table %s: %v: %w", name, err, ErrCorrupt)
	}
	return stamp, nil
}

// readBounded reads a whole file, refusing one larger than limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%d bytes: %w", fi.Size(), ErrCorrupt)
	}
	return os.ReadFile(path)
}
