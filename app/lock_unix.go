//go:build unix && !aix && (!solaris || illumos)

package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// homeLock is an exclusive flock(2) on the vault's lock file. The kernel
// drops it when the process exits, however it exits, so a crash never leaves
// a vault locked. Two opens of the file in one process conflict too, so a
// second unlock in the same process is refused like one from another.
type homeLock struct {
	f *os.File
}

// lockHome takes the lock on home/lock without waiting: if another Hearth
// holds it, ErrInUse is returned at once.
func lockHome(home string) (*homeLock, error) {
	f, err := os.OpenFile(filepath.Join(home, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open vault lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock vault: %w", err)
	}
	return &homeLock{f: f}, nil
}

// release unlocks and closes the lock file. The file itself stays: removing
// it could let two processes lock two different files of the same name.
func (l *homeLock) release() error {
	uerr := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	cerr := l.f.Close()
	if uerr != nil {
		return fmt.Errorf("unlock vault: %w", uerr)
	}
	if cerr != nil {
		return fmt.Errorf("unlock vault: %w", cerr)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
