package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxSocketPath is the longest socket path every unix accepts (the
// sun_path field is 104 bytes on the BSDs and macOS, 108 on Linux, and
// holds a terminating zero).
const maxSocketPath = 103

// probeTimeout bounds the probe for a running serve.
const probeTimeout = 2 * time.Second

// controlPath is the control socket's path in home.
func controlPath(home string) string { return filepath.Join(home, controlSocketName) }

// controlListener is serve's control socket, bound in the home directory
// with mode 0600.
type controlListener struct {
	*net.UnixListener
	path string
	info os.FileInfo // the socket file as bound, to remove only our own

	closeOnce sync.Once
	closeErr  error
}

// listenControl binds the control socket of home. Serve calls it after
// unlocking the vault, so no other serve of this home is running: a socket
// file left by a killed serve (nothing answers on it) is replaced. A file
// that is not a socket, or a socket something answers on, is left alone and
// reported.
//
// The socket is bound in a fresh directory of mode 0700, given mode 0600,
// and then renamed into place, so there is no moment at which it is open
// to others.
func listenControl(home string) (*controlListener, error) {
	path := controlPath(home)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("the control socket path %s is longer than %d bytes; use a shorter --home", path, maxSocketPath)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s is in the way: it is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, probeTimeout); err == nil {
			c.Close()
			return nil, fmt.Errorf("another process answers on %s", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove stale control socket: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}

	dir, err := os.MkdirTemp(home, ".s")
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*controlListener, error) {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &controlListener{UnixListener: ln, path: path, info: info}, nil
}

// Close stops listening and removes the socket file if it is still ours.
// Later calls return the first call's result.
func (l *controlListener) Close() error {
	l.closeOnce.Do(func() {
		err := l.UnixListener.Close()
		if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.info) {
			if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
		l.closeErr = err
	})
	return l.closeErr
}

// findServe returns a remote backend when a serve answers on home's control
// socket, and nil when none does (no socket, or a stale one).
func findServe(home string) *remote {
	path := controlPath(home)
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	if err != nil {
		return nil
	}
	conn.Close()
	return &remote{path: path}
}
