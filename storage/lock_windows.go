//go:build windows

package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
)

// storeLock is store/hearth.lock held open with no sharing allowed: a second
// open, from this process or another, fails until the handle is closed,
// which Windows does when the process exits, however it exits.
type storeLock struct{ h syscall.Handle }

// lockHeld reports whether this platform's lock replaces Badger's own
// directory lock (which Open then bypasses).
const lockHeld = true

// errorSharingViolation is ERROR_SHARING_VIOLATION.
const errorSharingViolation syscall.Errno = 32

func lockStore(dir string) (*storeLock, error) {
	p, err := syscall.UTF16PtrFromString(filepath.Join(dir, lockFileName))
	if err != nil {
		return nil, fmt.Errorf("lock store: %w", err)
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, errorSharingViolation) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock store: %w", err)
	}
	return &storeLock{h: h}, nil
}

func (l *storeLock) release() error {
	if err := syscall.CloseHandle(l.h); err != nil {
		return fmt.Errorf("unlock store: %w", err)
	}
	return nil
}
