package storage

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/crypto/chacha20poly1305"
)

// Keyring file names and format constants; doc.go describes the format.
const (
	keyringName      = "keyring"
	keyringTmpPrefix = "keyring-"
	keyringTmpSuffix = ".tmp"
	keyringMagic     = "HRTHKRNG"
	keyringVersion   = 1
	keyringLabel     = "hearth/v1 keyring"

	keyringHeaderLen = len(keyringMagic) + 1 + chacha20poly1305.NonceSizeX
	// maxKeyringFile bounds what Open reads: thousands of circles with
	// hundreds of epochs each fit in a fraction of it.
	maxKeyringFile = 16 << 20

	circleRecLen = idLen + 32 + u64 + u64 + 4 // id, root, floor, cleared, epoch count
	epochRecLen  = u64 + 32 + 32              // epoch, secret, storage key
)

type epochKeys struct {
	epoch   uint64
	secret  [32]byte
	storage [32]byte
}

type circleKeys struct {
	id      [16]byte
	root    [32]byte
	floor   uint64      // epochs below floor have been shredded from the keyring
	cleared uint64      // entries of epochs below cleared are gone from Badger; <= floor
	epochs  []epochKeys // strictly ascending, each >= floor
}

// keyring is the plaintext content of the keyring file.
type keyring struct {
	circles    []circleKeys // strictly ascending by id
	tombstones [][16]byte   // forgotten circles whose Badger keys may remain; strictly ascending
}

// clone returns a deep copy that can be changed without touching k.
func (k *keyring) clone() *keyring {
	n := &keyring{
		circles:    make([]circleKeys, len(k.circles)),
		tombstones: slices.Clone(k.tombstones),
	}
	for i, c := range k.circles {
		c.epochs = slices.Clone(c.epochs)
		n.circles[i] = c
	}
	return n
}

// find returns the index of circle id, or where it would be inserted.
func (k *keyring) find(id [16]byte) (int, bool) {
	return slices.BinarySearchFunc(k.circles, id, func(c circleKeys, id [16]byte) int {
		return bytes.Compare(c.id[:], id[:])
	})
}

// appendKeyring appends the binary form of k (see doc.go) to dst.
func appendKeyring(dst []byte, k *keyring) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(k.circles)))
	for _, c := range k.circles {
		dst = append(dst, c.id[:]...)
		dst = append(dst, c.root[:]...)
		dst = binary.BigEndian.AppendUint64(dst, c.floor)
		dst = binary.BigEndian.AppendUint64(dst, c.cleared)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.epochs)))
		for _, e := range c.epochs {
			dst = binary.BigEndian.AppendUint64(dst, e.epoch)
			dst = append(dst, e.secret[:]...)
			dst = append(dst, e.storage[:]...)
		}
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(k.tombstones)))
	for _, t := range k.tombstones {
		dst = append(dst, t[:]...)
	}
	return dst
}

// errKeyringFormat is wrapped (with ErrCorrupt) by every decoding failure.
func keyringErr(format string, a ...any) error {
	return fmt.Errorf("keyring: "+format+": %w", append(a, ErrCorrupt)...)
}

// keyringReader reads big-endian fields, remembering the first shortfall.
type keyringReader struct {
	b   []byte
	bad bool
}

func (r *keyringReader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *keyringReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *keyringReader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// decodeKeyring parses the plaintext keyring strictly: every count is
// checked against the bytes that remain before anything is allocated, ids
// and epochs must be in strictly ascending order, no epoch may lie below its
// circle's floor, nor its cleared mark above the floor, a tombstone may not name a live circle, and no byte may
// trail. Every failure wraps ErrCorrupt.
func decodeKeyring(b []byte) (*keyring, error) {
	r := &keyringReader{b: b}
	n := r.u32()
	if r.bad {
		return nil, keyringErr("truncated circle count")
	}
	if uint64(n)*circleRecLen > uint64(len(r.b)) {
		return nil, keyringErr("circle count %d exceeds the data", n)
	}
	k := &keyring{circles: make([]circleKeys, 0, n)}
	for i := range n {
		var c circleKeys
		copy(c.id[:], r.take(idLen))
		copy(c.root[:], r.take(32))
		c.floor = r.u64()
		c.cleared = r.u64()
		ne := r.u32()
		if r.bad {
			return nil, keyringErr("circle %d truncated", i)
		}
		if c.cleared > c.floor {
			return nil, keyringErr("circle %d: cleared above its floor", i)
		}
		if uint64(ne)*epochRecLen > uint64(len(r.b)) {
			return nil, keyringErr("circle %d: epoch count %d exceeds the data", i, ne)
		}
		if i > 0 && bytes.Compare(k.circles[i-1].id[:], c.id[:]) >= 0 {
			return nil, keyringErr("circle %d out of order", i)
		}
		if ne > 0 {
			c.epochs = make([]epochKeys, ne)
		}
		for j := range c.epochs {
			e := &c.epochs[j]
			e.epoch = r.u64()
			copy(e.secret[:], r.take(32))
			copy(e.storage[:], r.take(32))
			if r.bad {
				return nil, keyringErr("circle %d epoch %d truncated", i, j)
			}
			if e.epoch < c.floor {
				return nil, keyringErr("circle %d: epoch below its floor", i)
			}
			if j > 0 && c.epochs[j-1].epoch >= e.epoch {
				return nil, keyringErr("circle %d: epochs out of order", i)
			}
		}
		k.circles = append(k.circles, c)
	}
	nt := r.u32()
	if r.bad {
		return nil, keyringErr("truncated tombstone count")
	}
	if uint64(nt)*idLen != uint64(len(r.b)) {
		return nil, keyringErr("tombstone count %d does not match the %d bytes left", nt, len(r.b))
	}
	if nt > 0 {
		k.tombstones = make([][16]byte, nt)
	}
	for i := range k.tombstones {
		copy(k.tombstones[i][:], r.take(idLen))
		if i > 0 && bytes.Compare(k.tombstones[i-1][:], k.tombstones[i][:]) >= 0 {
			return nil, keyringErr("tombstone %d out of order", i)
		}
		if _, live := k.find(k.tombstones[i]); live {
			return nil, keyringErr("tombstone %d names a live circle", i)
		}
	}
	return k, nil
}

// keyringKey derives the key that seals the keyring file from the store key.
func keyringKey(storeKey [32]byte) [32]byte {
	k, err := hkdf.Key(sha256.New, storeKey[:], nil, keyringLabel, 32)
	if err != nil {
		panic("storage: hkdf: " + err.Error())
	}
	return [32]byte(k)
}

// keyringHeader returns magic | version: the start of the file and the
// associated data of its seal.
func keyringHeader() []byte {
	return append([]byte(keyringMagic), keyringVersion)
}

// sealKeyring returns the whole keyring file for k.
func sealKeyring(a cipher.AEAD, k *keyring) []byte {
	pt := appendKeyring(nil, k)
	hdr := keyringHeader()
	out := make([]byte, keyringHeaderLen, keyringHeaderLen+len(pt)+chacha20poly1305.Overhead)
	copy(out, hdr)
	nonce := out[len(hdr):keyringHeaderLen]
	if _, err := rand.Read(nonce); err != nil {
		panic("storage: crypto/rand failed: " + err.Error())
	}
	return a.Seal(out, nonce, pt, hdr)
}

// openKeyring parses a whole keyring file. A file that is short, has another
// magic or version, or does not authenticate wraps ErrCorrupt.
func openKeyring(a cipher.AEAD, file []byte) (*keyring, error) {
	hdr := keyringHeader()
	if len(file) < keyringHeaderLen+chacha20poly1305.Overhead {
		return nil, keyringErr("file of %d bytes is too short", len(file))
	}
	if !bytes.Equal(file[:len(keyringMagic)], hdr[:len(keyringMagic)]) {
		return nil, keyringErr("not a keyring file")
	}
	if file[len(keyringMagic)] != keyringVersion {
		return nil, keyringErr("unknown version %d", file[len(keyringMagic)])
	}
	nonce := file[len(hdr):keyringHeaderLen]
	pt, err := a.Open(nil, nonce, file[keyringHeaderLen:], hdr)
	if err != nil {
		return nil, keyringErr("file does not authenticate under this store key")
	}
	return decodeKeyring(pt)
}

// readKeyringFile reads path, refusing a file larger than maxKeyringFile.
// A missing file is returned as fs.ErrNotExist.
func readKeyringFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyringFile+1))
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	if len(b) > maxKeyringFile {
		return nil, keyringErr("file is larger than %d bytes", maxKeyringFile)
	}
	return b, nil
}

// writeFileAtomic replaces dir/name with data: a temporary file in the same
// directory is written and synced, renamed over the old file, and the
// directory is synced so the rename itself is durable.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, keyringTmpPrefix+"*"+keyringTmpSuffix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows has no directory sync, and
// its renames are durable once they return.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeKeyringTemps removes temporary keyring files that a crash between
// writing and renaming left behind.
func removeKeyringTemps(home string) {
	ents, err := os.ReadDir(home)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, keyringTmpPrefix) && strings.HasSuffix(n, keyringTmpSuffix) {
			_ = os.Remove(filepath.Join(home, n))
		}
	}
}

// ring is an immutable snapshot of the keyring with its ciphers ready.
type ring struct {
	kr   *keyring
	byID map[[16]byte]*circleState
}

type circleState struct {
	keys   *circleKeys
	root   cipher.AEAD
	epochs map[uint64]cipher.AEAD // storage-key cipher per epoch
}

func newRing(k *keyring) *ring {
	r := &ring{kr: k, byID: make(map[[16]byte]*circleState, len(k.circles))}
	for i := range k.circles {
		c := &k.circles[i]
		cs := &circleState{keys: c, root: newAEAD(c.root), epochs: make(map[uint64]cipher.AEAD, len(c.epochs))}
		for _, e := range c.epochs {
			cs.epochs[e.epoch] = newAEAD(e.storage)
		}
		r.byID[c.id] = cs
	}
	return r
}

func (r *ring) circle(id [16]byte) (*circleState, error) {
	cs, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("circle %x: %w", id[:4], ErrNoCircle)
	}
	return cs, nil
}

// saveKeyring writes k to the keyring file (synced) and then makes it the
// store's current keyring. The caller holds s.wmu.
func (s *Store) saveKeyring(k *keyring) error {
	if err := writeFileAtomic(s.home, keyringName, sealKeyring(s.krAEAD, k)); err != nil {
		return fmt.Errorf("write keyring: %w", err)
	}
	s.ring.Store(newRing(k))
	return nil
}

// loadKeyring reads the keyring file and makes it current; a missing file
// is reported as fs.ErrNotExist.
func (s *Store) loadKeyring() error {
	b, err := readKeyringFile(filepath.Join(s.home, keyringName))
	if err != nil {
		return err
	}
	k, err := openKeyring(s.krAEAD, b)
	if err != nil {
		return err
	}
	s.ring.Store(newRing(k))
	return nil
}

// AddCircle adds circle to the keyring with a new random root key, which
// seals the circle's metadata and key-value buckets. The keyring is synced
// before AddCircle returns. A circle already present is ErrExists.
func (s *Store) AddCircle(circle [16]byte) error {
	return s.mutate(func(_ *badger.DB, k *keyring) (bool, error) {
		i, ok := k.find(circle)
		if ok {
			return false, fmt.Errorf("add circle %x: %w", circle[:4], ErrExists)
		}
		c := circleKeys{id: circle}
		if _, err := rand.Read(c.root[:]); err != nil {
			return false, fmt.Errorf("add circle: %w", err)
		}
		k.circles = slices.Insert(k.circles, i, c)
		return true, nil
	})
}

// Circles returns the ids of the circles in the keyring, in ascending order.
func (s *Store) Circles() ([][16]byte, error) {
	var out [][16]byte
	err := s.read(func(_ *badger.DB, r *ring) error {
		out = make([][16]byte, 0, len(r.kr.circles))
		for _, c := range r.kr.circles {
			out = append(out, c.id)
		}
		return nil
	})
	return out, err
}

// AddEpoch records the secret and the storage key of one epoch of circle;
// the keyring is synced before AddEpoch returns. Adding the same values
// again is a no-op; different values for a known epoch are ErrExists; an
// epoch below the circle's shredding floor is ErrShredded.
func (s *Store) AddEpoch(circle [16]byte, epoch uint64, secret, storageKey [32]byte) error {
	return s.mutate(func(_ *badger.DB, k *keyring) (bool, error) {
		i, ok := k.find(circle)
		if !ok {
			return false, fmt.Errorf("add epoch: circle %x: %w", circle[:4], ErrNoCircle)
		}
		c := &k.circles[i]
		if epoch < c.floor {
			return false, fmt.Errorf("add epoch %d: %w", epoch, ErrShredded)
		}
		j, found := slices.BinarySearchFunc(c.epochs, epoch, func(e epochKeys, n uint64) int {
			return cmpU64(e.epoch, n)
		})
		if found {
			if c.epochs[j].secret == secret && c.epochs[j].storage == storageKey {
				return false, nil
			}
			return false, fmt.Errorf("add epoch %d: %w", epoch, ErrExists)
		}
		c.epochs = slices.Insert(c.epochs, j, epochKeys{epoch: epoch, secret: secret, storage: storageKey})
		return true, nil
	})
}

// ReplaceEpochSecret gives a known epoch of circle another secret and keeps
// its storage key, so what is stored under the epoch reads as before. It is
// for the epoch's commit that turns out to win over one applied before it.
// An unknown epoch is ErrNoEpoch.
func (s *Store) ReplaceEpochSecret(circle [16]byte, epoch uint64, secret [32]byte) error {
	return s.mutate(func(_ *badger.DB, k *keyring) (bool, error) {
		i, ok := k.find(circle)
		if !ok {
			return false, fmt.Errorf("replace epoch secret: circle %x: %w", circle[:4], ErrNoCircle)
		}
		c := &k.circles[i]
		j, found := slices.BinarySearchFunc(c.epochs, epoch, func(e epochKeys, n uint64) int {
			return cmpU64(e.epoch, n)
		})
		if !found {
			return false, fmt.Errorf("replace epoch secret %d: %w", epoch, ErrNoEpoch)
		}
		if c.epochs[j].secret == secret {
			return false, nil
		}
		c.epochs[j].secret = secret
		return true, nil
	})
}

// Epoch returns the secret of one epoch of circle: ErrNoCircle if the
// circle is unknown, ErrNoEpoch if the epoch is.
func (s *Store) Epoch(circle [16]byte, epoch uint64) (secret [32]byte, err error) {
	err = s.read(func(_ *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		for _, e := range cs.keys.epochs {
			if e.epoch == epoch {
				secret = e.secret
				return nil
			}
		}
		return fmt.Errorf("epoch %d: %w", epoch, ErrNoEpoch)
	})
	return secret, err
}

// Epochs returns the epochs of circle held in the keyring, ascending.
func (s *Store) Epochs(circle [16]byte) ([]uint64, error) {
	var out []uint64
	err := s.read(func(_ *badger.DB, r *ring) error {
		cs, err := r.circle(circle)
		if err != nil {
			return err
		}
		out = make([]uint64, 0, len(cs.keys.epochs))
		for _, e := range cs.keys.epochs {
			out = append(out, e.epoch)
		}
		return nil
	})
	return out, err
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
