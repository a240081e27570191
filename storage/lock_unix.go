//go:build unix && !aix && (!solaris || illumos)

package storage

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// FileLock is an exclusive flock(2) on a file. The kernel drops it when the
// process exits, however it exits, so a crash never leaves it held. Two
// opens of the file in one process conflict as well, so a second lock in
// the same process is refused like one from another.
type FileLock struct{ f *os.File }

// lockHeld reports whether this platform's lock replaces Badger's own
// directory lock (which Open then bypasses).
const lockHeld = true

// LockFile takes the lock on path, creating the file if missing, without
// waiting: if another Hearth holds it, ErrInUse is returned at once. The
// file stays when the lock is released: removing it could let two
// processes lock two different files of the same name.
func LockFile(path string) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err // names the path already
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
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &FileLock{f: f}, nil
}

// Release unlocks and closes the file.
func (l *FileLock) Release() error {
	uerr := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); uerr == nil {
		uerr = cerr
	}
	if uerr != nil {
		return fmt.Errorf("unlock %s: %w", l.f.Name(), uerr)
	}
	return nil
}
