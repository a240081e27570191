package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/hearth-circles/hearth/crypto/vault"
	"github.com/hearth-circles/hearth/storage"
)

// Names of the files in a vault's home directory. The store's own files
// ("keyring" and "store/") belong to package storage; this package only
// checks that a new vault does not land on top of them.
const (
	headerFileName  = "vault"
	lockFileName    = "lock"
	storeDirName    = "store"
	keyringFileName = "keyring"
)

// maxHeaderSize bounds how much of the header file is read: a header is a
// few hundred bytes, and a larger file is refused without reading it all.
const maxHeaderSize = 64 << 10

var (
	// ErrWrongPassphrase is returned when the passphrase does not open the
	// vault. It is vault.ErrWrongPassphrase itself, so errors.Is matches
	// either name.
	ErrWrongPassphrase = vault.ErrWrongPassphrase

	// ErrInUse is returned when another Hearth, in this process or another,
	// has the vault open. errors.Is also reports true for storage.ErrInUse.
	ErrInUse error = inUseError{}

	// ErrNoVault is returned when the home directory holds no vault.
	ErrNoVault = errors.New("no vault here")

	// ErrVaultExists is returned when creating a vault where one already is.
	ErrVaultExists = errors.New("a vault already exists here")

	// ErrVaultClosed is returned by operations on a vault after Close.
	ErrVaultClosed = errors.New("vault is closed")
)

// lockHome takes the vault's lock, home/lock, without waiting: if another
// Hearth holds it, ErrInUse is returned at once. On systems without a file
// lock (storage.LockFile) the store's own directory lock refuses a second
// Hearth instead, reported as ErrInUse when the store is opened, after the
// key derivation rather than before it.
func lockHome(home string) (*storage.FileLock, error) {
	l, err := storage.LockFile(filepath.Join(home, lockFileName))
	if errors.Is(err, storage.ErrInUse) {
		return nil, ErrInUse
	}
	if err != nil {
		return nil, fmt.Errorf("lock the vault: %w", err)
	}
	return l, nil
}

// inUseError is the type of ErrInUse. It matches storage.ErrInUse too, so a
// caller may test for either, whichever lock noticed the other Hearth.
type inUseError struct{}

func (inUseError) Error() string { return "this vault is open in another Hearth" }

func (inUseError) Is(target error) bool { return target == storage.ErrInUse }

// Vault is an unlocked vault: its open store and the lock that keeps other
// Hearth processes out until Close.
type Vault struct {
	home  string
	store *storage.Store

	mu     sync.Mutex
	lock   *storage.FileLock // nil once closed
	params vault.Params      // key derivation settings for a new passphrase
	kdf    vault.KDF         // nil: Argon2id in this process
}

// VaultOptions tune how a vault is created, unlocked and given a new
// passphrase.
type VaultOptions struct {
	// Params are a new header's key derivation costs; zero means
	// vault.DefaultParams.
	Params vault.Params
	// KDF runs the passphrase key derivation; nil runs Argon2id in this
	// process, and then hands its 64 MiB back to the system at once. The
	// desktop runs it in a child process (cmd/hearth), so that its own heap
	// never holds that memory.
	KDF vault.KDF
	// MemTableSize is the store's (storage.Options); the desktop's are
	// storage.SmallMemTableSize.
	MemTableSize int64
}

func (o VaultOptions) params() vault.Params {
	if o.Params == (vault.Params{}) {
		return vault.DefaultParams
	}
	return o.Params
}

// errKeyCheck: a header just written under a KDF of the caller's did not
// open again with it.
var errKeyCheck = errors.New("the new passphrase did not check out when tried again, so nothing was saved; please try once more")

// check opens a header just sealed under passphrase again, when its key was
// derived by the caller's KDF, before the header is kept: a wrong key there
// (a fault in a child process, say) would seal the store key under
// something no later unlock reproduces. Argon2id in this process is not
// checked twice.
func (o VaultOptions) check(header, passphrase []byte) error {
	if o.KDF == nil {
		return nil
	}
	key, err := vault.OpenWith(o.KDF, header, passphrase)
	clear(key[:])
	if errors.Is(err, vault.ErrWrongPassphrase) {
		return errKeyCheck
	}
	return err
}

// derived follows a key derivation: memory of one run in this process goes
// back to the system.
func (o VaultOptions) derived() {
	if o.KDF == nil {
		releaseKDFMemory()
	}
}

// VaultExists reports whether home holds a vault header.
func VaultExists(home string) bool {
	fi, err := os.Stat(filepath.Join(home, headerFileName))
	return err == nil && fi.Mode().IsRegular()
}

// CreateVault creates a new vault in home, protected by passphrase, with the
// default key derivation settings, and returns it unlocked.
func CreateVault(home string, passphrase []byte) (*Vault, error) {
	return CreateVaultWithParams(home, passphrase, vault.DefaultParams)
}

// CreateVaultWithParams is CreateVault with explicit key derivation
// settings; tests use it with cheap ones.
//
// The home directory is created with mode 0700 if missing. An existing
// vault, or a store left without its header, is refused with
// ErrVaultExists: nothing is overwritten.
func CreateVaultWithParams(home string, passphrase []byte, p vault.Params) (v *Vault, err error) {
	return CreateVaultWith(home, passphrase, VaultOptions{Params: p})
}

// CreateVaultWith is CreateVault with options.
func CreateVaultWith(home string, passphrase []byte, opt VaultOptions) (v *Vault, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("create vault directory: %w", err)
	}
	lock, err := lockHome(home)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()

	if VaultExists(home) {
		return nil, ErrVaultExists
	}
	if _, err := os.Lstat(filepath.Join(home, keyringFileName)); err == nil || !dirMissingOrEmpty(filepath.Join(home, storeDirName)) {
		return nil, fmt.Errorf("a store without a vault header is in the way: %w", ErrVaultExists)
	}

	p := opt.params()
	header, key, err := vault.NewWith(opt.KDF, passphrase, p)
	opt.derived()
	if err != nil {
		return nil, fmt.Errorf("create vault: %w", err)
	}
	defer clear(key[:])
	if err := opt.check(header, passphrase); err != nil {
		return nil, fmt.Errorf("create vault: %w", err)
	}
	if err := writeFileAtomic(home, headerFileName, header); err != nil {
		return nil, fmt.Errorf("write vault header: %w", err)
	}
	store, err := openStore(home, key, opt)
	if err != nil {
		return nil, err
	}
	return &Vault{home: home, store: store, lock: lock, params: p, kdf: opt.KDF}, nil
}

// UnlockVault opens the vault in home with passphrase.
//
// It takes the vault's lock before anything else, so a second Hearth learns
// that the vault is in use (ErrInUse) without waiting for the slow key
// derivation. A wrong passphrase returns ErrWrongPassphrase with nothing
// opened or changed; a home without a vault returns ErrNoVault.
func UnlockVault(home string, passphrase []byte) (v *Vault, err error) {
	return UnlockVaultWith(home, passphrase, VaultOptions{})
}

// UnlockVaultWith is UnlockVault with options; their Params are those a new
// passphrase gets.
func UnlockVaultWith(home string, passphrase []byte, opt VaultOptions) (v *Vault, err error) {
	if !VaultExists(home) {
		return nil, ErrNoVault
	}
	lock, err := lockHome(home)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()

	header, err := readHeader(home)
	if err != nil {
		return nil, err
	}
	key, err := vault.OpenWith(opt.KDF, header, passphrase)
	opt.derived()
	if err != nil {
		return nil, headerError(err)
	}
	defer clear(key[:])
	store, err := openStore(home, key, opt)
	if err != nil {
		return nil, err
	}
	return &Vault{home: home, store: store, lock: lock, params: opt.params(), kdf: opt.KDF}, nil
}

// Store returns the vault's open store. It must not be used after Close.
func (v *Vault) Store() *storage.Store { return v.store }

// Home returns the vault's home directory.
func (v *Vault) Home() string { return v.home }

// ChangePassphrase rewraps the store key under newPassphrase and replaces
// the header file atomically: after a crash the header is either the old one
// or the new one. A wrong oldPassphrase returns ErrWrongPassphrase and
// changes nothing.
func (v *Vault) ChangePassphrase(oldPassphrase, newPassphrase []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.lock == nil {
		return ErrVaultClosed
	}
	header, err := readHeader(v.home)
	if err != nil {
		return err
	}
	opt := VaultOptions{KDF: v.kdf}
	rewrapped, err := vault.RewrapWith(v.kdf, header, oldPassphrase, newPassphrase, v.params)
	opt.derived()
	if err != nil {
		return fmt.Errorf("change passphrase: %w", headerError(err))
	}
	if err := opt.check(rewrapped, newPassphrase); err != nil {
		return fmt.Errorf("change passphrase: %w", err)
	}
	if err := writeFileAtomic(v.home, headerFileName, rewrapped); err != nil {
		return fmt.Errorf("write vault header: %w", err)
	}
	return nil
}

// Close closes the store and releases the vault's lock. It is safe to call
// more than once; later calls return nil.
func (v *Vault) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.lock == nil {
		return nil
	}
	err := v.store.Close()
	if lerr := v.lock.Release(); err == nil {
		err = lerr
	}
	v.lock = nil
	if err != nil {
		return fmt.Errorf("close vault: %w", err)
	}
	return nil
}

// openStore opens the store under home, mapping the store's own in-use
// error to ErrInUse.
func openStore(home string, key [32]byte, opt VaultOptions) (*storage.Store, error) {
	store, err := storage.Open(home, key, storage.Options{MemTableSize: opt.MemTableSize})
	if err != nil {
		if errors.Is(err, storage.ErrInUse) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	return store, nil
}

// headerError words an error from package vault for the caller: a wrong
// passphrase as ErrWrongPassphrase, anything else as a damaged header.
func headerError(err error) error {
	switch {
	case errors.Is(err, vault.ErrWrongPassphrase):
		return ErrWrongPassphrase
	case errors.Is(err, vault.ErrVersion):
		return fmt.Errorf("vault was written by a newer Hearth: %w", err)
	case errors.Is(err, vault.ErrMalformed):
		return fmt.Errorf("vault header is damaged: %w", err)
	default: // the key derivation failed
		return err
	}
}

// readHeader reads the header file, refusing one larger than maxHeaderSize.
func readHeader(home string) ([]byte, error) {
	f, err := os.Open(filepath.Join(home, headerFileName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoVault
		}
		return nil, fmt.Errorf("read vault header: %w", err)
	}
	defer f.Close()
	header, err := io.ReadAll(io.LimitReader(f, maxHeaderSize+1))
	if err != nil {
		return nil, fmt.Errorf("read vault header: %w", err)
	}
	if len(header) > maxHeaderSize {
		return nil, fmt.Errorf("vault header is damaged: larger than %d bytes: %w", maxHeaderSize, vault.ErrMalformed)
	}
	return header, nil
}

// writeFileAtomic replaces dir/name with data: it writes a temporary file
// with mode 0600 in dir, syncs it, renames it over name and syncs dir, so a
// crash leaves either the old file or the new one, never a mix.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, "."+name+"-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// dirMissingOrEmpty reports whether dir does not exist or has no entries.
func dirMissingOrEmpty(dir string) bool {
	d, err := os.Open(dir)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	return len(names) == 0 && errors.Is(err, io.EOF)
}

// releaseKDFMemory hands the passphrase KDF's working memory (64 MiB of
// Argon2id state, garbage once the key is derived) back to the operating
// system at once. Go's runtime would return it over minutes, and a Hearth
// left running idle would look four times its size meanwhile.
func releaseKDFMemory() { debug.FreeOSMemory() }
