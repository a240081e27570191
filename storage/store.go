package storage

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Errors callers branch on. Every error the store returns that means one of
// these wraps it, so test with errors.Is.
var (
	// ErrInUse: another Hearth, in this process or another, has the store open.
	ErrInUse = errors.New("this vault is open in another Hearth")
	// ErrWrongKey: the store key does not open this store.
	ErrWrongKey = errors.New("wrong store key")
	// ErrCorrupt: a store file is missing, truncated or altered, or a sealed
	// value does not authenticate.
	ErrCorrupt = errors.New("store is damaged")
	// ErrNoCircle: the circle is not in the keyring.
	ErrNoCircle = errors.New("no such circle")
	// ErrNoEpoch: the epoch is not in the circle's keyring entry.
	ErrNoEpoch = errors.New("no such epoch")
	// ErrShredded: the epoch lies below the circle's shredding floor, so its
	// keys and entries are gone for good and are not taken back.
	ErrShredded = errors.New("epoch has been shredded")
	// ErrEquivocation: a different envelope arrived for an author and
	// sequence number already stored; the first is kept.
	ErrEquivocation = errors.New("different envelope for the same author and sequence")
	// ErrNotFound: no value under that key.
	ErrNotFound = errors.New("not found")
	// ErrExists: the circle or epoch is already in the keyring.
	ErrExists = errors.New("already exists")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store is closed")
	// ErrInvalid: an argument is out of its documented range.
	ErrInvalid = errors.New("invalid argument")
	// ErrTooLarge: an envelope, record, key or value exceeds its limit.
	ErrTooLarge = errors.New("too large")
	// ErrDiskFull: the disk holding the store has less room left than a
	// write may need (diskReserve); nothing was written. It wraps
	// syscall.ENOSPC.
	ErrDiskFull = fmt.Errorf("the disk is full: free some space and try again (%w)", syscall.ENOSPC)
)

// Limits on what the store accepts.
const (
	MaxEnvelopeSize = 1 << 20   // bytes of one envelope
	MaxRecordSize   = 128 << 10 // bytes of one decoded record (an envelope's plaintext: 64 KiB at most)
	MaxValueSize    = 1 << 20   // bytes of one key-value or global value
	MaxKeySize      = 1024      // bytes of one key-value key or global name
	MaxBucketLen    = 255       // bytes of a bucket name
	MaxPage         = 1000      // items one Latest or Envelopes call returns at most
	// maxEnvelopesBytes bounds the bytes one Envelopes call returns: it stops
	// after the envelope that reaches it.
	maxEnvelopesBytes = 4 << 20
)

// Names inside the home directory.
const storeDirName = "store"

// Options tune Open.
type Options struct {
	// Logger receives the store's warnings and errors (Badger's included);
	// nil discards them.
	Logger *slog.Logger
	// MemTableSize is the size of each of Badger's two memtables, from
	// SmallMemTableSize to 64 MiB; 0 means DefaultMemTableSize. Smaller
	// memtables hold less memory and flush more often (see doc.go). A store
	// may be opened with any size after any other.
	MemTableSize int64
}

// Memtable sizes (Options.MemTableSize).
const (
	DefaultMemTableSize = 8 << 20
	SmallMemTableSize   = 2 << 20 // the desktop's
	maxMemTableSize     = 64 << 20
)

// Store is an open store. Its methods are safe for concurrent use; writes
// are serialised.
type Store struct {
	home   string
	krAEAD cipher.AEAD
	ring   atomic.Pointer[ring]

	wmu   sync.Mutex                // serialises every write and keyring change
	marks map[[16]byte]*circleMarks // committed marks by circle; changed under wmu and mmu
	mmu   sync.RWMutex              // taken to change marks (under wmu), or alone to read them
	mu    sync.RWMutex              // guards db; held shared by every operation
	db    *badger.DB                // nil once closed
	lock  *FileLock

	stampKey []byte        // authenticates the table stamps (tablestamps.go)
	stamps   tableStamps   // of the tables checked when the store opened
	log      badger.Logger // Badger's and the store's own warnings
}

// Badger settings: two memtables (Options.MemTableSize), 32 MiB of
// decrypted blocks and 16 MiB of table indexes cached.
//
// Badger allocates each memtable's arena whole, the memtable size and twice
// its largest transaction (15% of the memtable) on top: 10.5 MiB for 8 MiB
// memtables, 2.6 MiB for 2 MiB ones, held for as long as the store is open,
// and resident once the Go runtime has zeroed it (which it does when the
// arena lands in memory the heap used before) or the memtable has filled.
// The largest transaction must hold the largest entry: a MaxEnvelopeSize
// envelope (in the value log, so a pointer) with a MaxRecordSize record,
// or an envelope just below the value threshold with that record; so the
// threshold is the largest transaction less a record and some room for
// keys and marks, at most Badger's 1 MiB (ValueThreshold,
// TestBadgerOptionsBounds).
const (
	numMemtables     = 2
	blockCacheSize   = 32 << 20
	indexCacheSize   = 16 << 20
	valueLogFileSize = 64 << 20
	// Every block is verified when read. Whole tables are verified when the
	// store opens, by preflight, where a damaged table cannot crash the
	// process; Badger's own open-time verification (OnTableRead) would read
	// every table a second time, and panics on some damage in a goroutine
	// beyond any recover.
	checksumMode = options.OnBlockRead
)

// Open opens the store in home ("keyring" and "store/"), creating both if
// the home holds neither. storeKey is the vault's 32-byte database key.
//
// Errors: ErrInUse when another Hearth has the store open; ErrWrongKey when
// storeKey is not this store's key; ErrCorrupt when a store file is missing,
// truncated or altered in a way Badger or the keyring check detects. A panic
// inside Badger while opening is recovered and returned as ErrCorrupt.
func Open(home string, storeKey [32]byte, opt Options) (s *Store, err error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	memTable := opt.MemTableSize
	switch {
	case memTable == 0:
		memTable = DefaultMemTableSize
	case memTable < SmallMemTableSize || memTable > maxMemTableSize:
		return nil, fmt.Errorf("open store: memtables of %d bytes, want %d to %d: %w", memTable, SmallMemTableSize, maxMemTableSize, ErrInvalid)
	}
	var db *badger.DB
	var lock *FileLock
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				closeQuietly(db)
			}
			s = nil
			err = fmt.Errorf("open store: internal failure (%v): %w", r, ErrCorrupt)
		}
		if s == nil && lock != nil {
			_ = lock.Release()
		}
	}()

	storeDir := filepath.Join(home, storeDirName)
	_, kerr := os.Stat(filepath.Join(home, keyringName))
	keyringExists := kerr == nil
	if _, err := os.Stat(storeDir); errors.Is(err, fs.ErrNotExist) && keyringExists {
		return nil, fmt.Errorf("open store: store directory is missing: %w", ErrCorrupt)
	}
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if lock, err = LockFile(filepath.Join(storeDir, lockFileName)); err != nil {
		lock = nil
		return nil, fmt.Errorf("open store: %w", err)
	}
	blog := badgerLogger{log}
	if err := preflight(storeDir, keyringExists, storeKey, blog); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if replay, err := replayMemTableSize(storeDir); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	} else if replay > memTable {
		// A crash left memtable logs that may not fit this size's arenas:
		// Badger replays each into an arena of the configured size, and
		// ends the process (log.Fatalf) when one overflows. Open once with
		// room for them; closing flushes them into tables. Badger retries
		// a flush that fails for as long as it takes, and writes tables
		// through memory maps, so the room for them is checked first; the
		// logs stay for the next open until it is there.
		if free, ok := freeSpace(home); ok && free < diskReserve {
			return nil, fmt.Errorf("open store: finish the writes a crash interrupted: %w", ErrDiskFull)
		}
		db, err = badger.Open(badgerOptions(storeDir, storeKey, blog, replay))
		if err != nil {
			db = nil
			return nil, fmt.Errorf("open store: finish the writes a crash interrupted: %w", classifyOpenError(err))
		}
		err = db.Close()
		db = nil
		if err != nil {
			return nil, fmt.Errorf("open store: finish the writes a crash interrupted: %w", err)
		}
	}
	db, err = badger.Open(badgerOptions(storeDir, storeKey, blog, memTable))
	if err != nil {
		db = nil
		return nil, fmt.Errorf("open store: %w", classifyOpenError(err))
	}

	kk := keyringKey(storeKey)
	s = &Store{home: home, krAEAD: newAEAD(kk), db: db, lock: lock, marks: make(map[[16]byte]*circleMarks),
		stampKey: stampsKey(storeKey), log: blog}
	// What preflight checked; tables never change, so Close stamps only the
	// ones written since.
	s.stamps = loadStamps(storeDir, s.stampKey)
	if err := s.finishOpen(); err != nil {
		closeQuietly(db)
		db = nil
		s = nil
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// Values of the keyring marker in Badger.
const (
	markerCreating = 1 // the keyring file is being created
	markerCreated  = 2 // the keyring file exists
)

// finishOpen loads (or creates) the keyring and completes any forgetting or
// shredding that a crash interrupted.
//
// The keyring marker in Badger makes a lost keyring, or a Badger store that
// lost its oldest writes, visible: it is set (synced) before the keyring
// file is first written, so a keyring file without the marker means Badger
// lost data, and a marker saying "created" without the file means the
// keyring was lost.
func (s *Store) finishOpen() error {
	removeKeyringTemps(s.home)
	state, err := s.readMarker()
	if err != nil {
		return err
	}
	_, kerr := os.Stat(filepath.Join(s.home, keyringName))
	exists := kerr == nil
	switch {
	case state == 0 && exists:
		return fmt.Errorf("store has lost data: its keyring marker is gone: %w", ErrCorrupt)
	case state == markerCreated && !exists:
		return keyringErr("file is missing")
	case state == 0:
		if err := s.writeMarker(markerCreating); err != nil {
			return err
		}
		fallthrough
	case state == markerCreating && !exists:
		s.wmu.Lock()
		err := s.saveKeyring(&keyring{})
		s.wmu.Unlock()
		if err != nil {
			return err
		}
	default:
		if err := s.loadKeyring(); err != nil {
			return err
		}
	}
	if state != markerCreated {
		if err := s.writeMarker(markerCreated); err != nil {
			return err
		}
	}
	k := s.ring.Load().kr
	if len(k.tombstones) > 0 {
		for _, t := range k.tombstones {
			if err := s.db.DropPrefix(circlePrefixes(t)...); err != nil {
				return fmt.Errorf("finish forgetting a circle: %w", err)
			}
		}
		k = k.clone()
		k.tombstones = nil
		if err := s.saveKeyring(k); err != nil {
			return err
		}
	}
	for _, c := range k.circles {
		if c.cleared < c.floor {
			if err := s.clearShredded(s.db, c.id); err != nil {
				return fmt.Errorf("finish shredding: %w", err)
			}
		}
	}
	return nil
}

// readMarker returns the keyring marker's state, 0 when absent.
func (s *Store) readMarker() (byte, error) {
	var state byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(markerKeyring)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 1 || (v[0] != markerCreating && v[0] != markerCreated) {
				return fmt.Errorf("keyring marker: %w", ErrCorrupt)
			}
			state = v[0]
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read keyring marker: %w", corruptUnlessClosed(err))
	}
	return state, nil
}

// writeMarker sets the keyring marker and syncs.
func (s *Store) writeMarker(state byte) error {
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(markerKeyring, []byte{state})
	}); err != nil {
		return fmt.Errorf("write keyring marker: %w", err)
	}
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	return nil
}

// ValueThreshold is the value size from which the store, with memtables of
// memTable bytes, keeps a value in Badger's value log rather than its tree:
// 1 MiB for 8 MiB memtables, 163 KiB for 2 MiB ones (see badgerOptions).
// The value log is never collected: what is deleted from it stays on disk,
// and what is rewritten there grows it, so callers keep their values below
// ValueThreshold(SmallMemTableSize).
func ValueThreshold(memTable int64) int64 {
	maxBatch := 15 * memTable / 100 // as Badger reckons it
	return min(1<<20, maxBatch-MaxRecordSize-16<<10)
}

// badgerOptions are the Badger settings of a store (see doc.go).
func badgerOptions(dir string, storeKey [32]byte, log badger.Logger, memTable int64) badger.Options {
	return badger.DefaultOptions(dir).
		WithEncryptionKey(storeKey[:]).
		WithIndexCacheSize(indexCacheSize).
		WithBlockCacheSize(blockCacheSize).
		WithMemTableSize(memTable).
		WithValueThreshold(ValueThreshold(memTable)).
		WithNumMemtables(numMemtables).
		WithValueLogFileSize(valueLogFileSize).
		WithChecksumVerificationMode(checksumMode).
		WithVerifyValueChecksum(true).
		WithDetectConflicts(false).    // writes are serialised by Store.wmu
		WithCompression(options.None). // values are ciphertext: nothing to gain
		WithNumCompactors(2).
		WithCompactL0OnClose(true). // see doc.go: compaction at close, not at the next open
		WithMetricsEnabled(false).
		WithBypassLockGuard(lockHeld). // the store lock replaces it
		WithLogger(log)
}

// replayMemTableSize is the memtable size that replays the memtable logs
// in storeDir, 0 when none holds entries. Only a crash leaves them (Close
// flushes and deletes them). Badger creates a log at twice its memtable's
// size and fills it from the start, leaving zeros after the last entry, so
// a log's data ends at its last non-zero byte; it holds at most what its
// memtable held, whatever size that was. A memtable of twice the data
// has an arena of 2.6 times it, more than the entries take in a skiplist:
// a node there is 27 to 103 bytes, about 29 on average, against 9 bytes of
// header and checksum in the log. (The file's size would not do: a crash
// during a recovery open would leave that open's own empty log, twice as
// large, and the next recovery would ask for more each time.) A log larger
// than any store writes is damage.
func replayMemTableSize(storeDir string) (int64, error) {
	ents, err := os.ReadDir(storeDir)
	if err != nil {
		return 0, fmt.Errorf("read store directory: %w", err)
	}
	var largest int64
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		n, err := logDataEnd(filepath.Join(storeDir, e.Name()))
		if err != nil {
			return 0, err
		}
		largest = max(largest, n)
	}
	if largest <= logHeaderLen {
		return 0, nil // no entries: Badger drops such logs
	}
	return (2*largest + 1<<20 - 1) &^ (1<<20 - 1), nil // whole MiB
}

// logDataEnd is the offset just past the last non-zero byte of a memtable
// log, read from the end.
func logDataEnd(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("memtable log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("memtable log: %w", err)
	}
	if fi.Size() > 2*maxMemTableSize {
		return 0, fmt.Errorf("memtable log %s of %d bytes, more than any store writes: %w", filepath.Base(path), fi.Size(), ErrCorrupt)
	}
	buf := make([]byte, 64<<10)
	for end := fi.Size(); end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, fmt.Errorf("memtable log: %w", err)
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// Close closes the store, waiting for operations under way; it is safe to
// call more than once, and later calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	db := s.db
	s.db = nil
	err := db.Close()
	if err == nil {
		// The tables are now as this store wrote or checked them: stamp
		// them, so the next open need not check them block by block.
		dir := filepath.Join(s.home, storeDirName)
		st, serr := stampTables(dir, s.log, s.stamps)
		if serr == nil {
			serr = saveStamps(dir, s.stampKey, st)
		}
		if serr != nil {
			s.log.Warningf("table stamps not kept (the next open checks every table): %v", serr)
		}
	}
	if lerr := s.lock.Release(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// read runs fn with the open database and the current keyring snapshot.
func (s *Store) read(fn func(db *badger.DB, r *ring) error) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	defer recoverInto(&err)
	return fn(s.db, s.ring.Load())
}

// write is read for an operation that changes the store: it runs alone,
// and only while the disk has diskReserve bytes free.
func (s *Store) write(fn func(db *badger.DB, r *ring) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if free, ok := freeSpace(s.home); ok && free < diskReserve {
		return ErrDiskFull
	}
	return s.read(fn)
}

// diskReserve is the free space below which the store refuses writes.
// Badger writes its memtable logs and new tables through memory maps, and a
// write to a mapped page the disk has no room for is a SIGBUS that ends the
// process: room for a full memtable log, the table it is flushed to, the
// next log, and the compaction that flush may start, is kept free instead,
// with some to spare. It does not shrink with the memtables: with 32 MiB,
// closing a store that had just refused a write on a full tmpfs sometimes
// crashed (app's TestFaultDiskFull).
const diskReserve = 64 << 20

// mutate runs fn on a copy of the keyring and, if fn reports a change,
// saves the copy (synced) and makes it current.
func (s *Store) mutate(fn func(db *badger.DB, k *keyring) (changed bool, err error)) error {
	return s.write(func(db *badger.DB, r *ring) error {
		k := r.kr.clone()
		changed, err := fn(db, k)
		if err != nil || !changed {
			return err
		}
		return s.saveKeyring(k)
	})
}

// recoverInto turns a panic inside Badger into an ErrCorrupt error.
func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal failure (%v): %w", r, ErrCorrupt)
	}
}

func closeQuietly(db *badger.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// corruptUnlessClosed words a Badger read failure.
func corruptUnlessClosed(err error) error {
	if errors.Is(err, badger.ErrDBClosed) {
		return ErrClosed
	}
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%v: %w", err, ErrCorrupt)
}

// classifyOpenError maps what badger.Open returned to the store's errors.
// Badger flattens most causes into text, so the lock conflict is recognised
// by its message (the same on Unix and Windows).
func classifyOpenError(err error) error {
	switch {
	case errors.Is(err, badger.ErrEncryptionKeyMismatch):
		return ErrWrongKey
	case strings.Contains(err.Error(), "Another process is using this Badger database"):
		return ErrInUse
	default:
		return fmt.Errorf("%v: %w", err, ErrCorrupt)
	}
}

// badgerLogger routes Badger's warnings and errors to slog and drops its
// informational chatter.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn("badger: " + strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// circlePrefixes returns every key prefix that belongs to circle.
func circlePrefixes(circle [16]byte) [][]byte {
	ps := make([][]byte, len(circleTags))
	for i, t := range circleTags {
		ps[i] = circlePrefix(t, circle)
	}
	return ps
}
