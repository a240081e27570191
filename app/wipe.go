package app

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Wipe destroys the vault in home at once, without its passphrase (a panic
// wipe): the header that wraps the store key and the keyring that holds
// every circle's keys are overwritten with random bytes, synced and removed
// first, so that whatever remains of the store on disk can no longer be
// decrypted by anyone, the passphrase's owner included; then the store and
// the lock are removed. A Hearth still running on the vault keeps what it
// has open until it exits.
func Wipe(home string) error {
	var errs []error
	for _, name := range []string{headerFileName, keyringFileName} {
		if err := shred(filepath.Join(home, name)); err != nil {
			errs = append(errs, err)
		}
	}
	if d, err := os.Open(home); err == nil {
		_ = d.Sync()
		d.Close()
	}
	if err := os.RemoveAll(filepath.Join(home, storeDirName)); err != nil {
		errs = append(errs, fmt.Errorf("remove the store: %w", err))
	}
	if err := os.Remove(filepath.Join(home, lockFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// shred overwrites a small file with random bytes, syncs it and removes it.
// (On flash storage the old blocks may survive in the drive; what they held
// is only ever ciphertext under keys derived from the passphrase.)
func shred(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("wipe %s: %w", filepath.Base(path), err)
	}
	fi, err := f.Stat()
	if err == nil {
		noise := make([]byte, fi.Size())
		if _, err = rand.Read(noise); err == nil {
			_, err = f.WriteAt(noise, 0)
		}
		if err == nil {
			err = f.Sync()
		}
	}
	f.Close()
	if rerr := os.Remove(path); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("wipe %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Wipe closes the vault and destroys it (see the package function Wipe).
func (v *Vault) Wipe() error {
	home := v.home
	if err := v.Close(); err != nil && !errors.Is(err, ErrVaultClosed) {
		return errors.Join(err, Wipe(home))
	}
	return Wipe(home)
}
