//go:build windows

package storage

import (
	"errors"
	"fmt"
	"syscall"
)

// FileLock is a file held open with no sharing allowed: a second open, from
// this process or another, fails until the handle is closed, which Windows
// does when the process exits, however it exits.
type FileLock struct {
	h    syscall.Handle
	path string
}

// lockHeld reports whether this platform's lock replaces Badger's own
// directory lock (which Open then bypasses).
const lockHeld = true

// errorSharingViolation is ERROR_SHARING_VIOLATION.
const errorSharingViolation syscall.Errno = 32

// LockFile takes the lock on path, creating the file if missing, without
// waiting: if another Hearth holds it, ErrInUse is returned at once.
func LockFile(path string) (*FileLock, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, errorSharingViolation) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &FileLock{h: h, path: path}, nil
}

// Release closes the file, which ends the lock.
func (l *FileLock) Release() error {
	if err := syscall.CloseHandle(l.h); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}
