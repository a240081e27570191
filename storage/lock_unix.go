//go:build unix && !aix && (!solaris || illumos)

package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// storeLock is an exclusive flock(2) on store/hearth.lock. The kernel drops
// it when the process exits, however it exits. Two opens of the file in one
// process conflict as well, so a second Open in the same process is refused
// like one from another.
type storeLock struct{ f *os.File }

// lockHeld reports whether this platform's lock replaces Badger's own
// directory lock (which Open then bypasses).
const lockHeld = true

func lockStore(dir string) (*storeLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store lock: %w", err)
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
		return nil, fmt.Errorf("lock store: %w", err)
	}
	return &storeLock{f: f}, nil
}

func (l *storeLock) release() error {
	uerr := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); uerr == nil {
		uerr = cerr
	}
	if uerr != nil {
		return fmt.Errorf("unlock store: %w", uerr)
	}
	return nil
}
