//go:build !(unix && !aix && (!solaris || illumos))

package app

// homeLock does nothing on systems without flock(2): there the store's own
// directory lock refuses a second Hearth, reported as ErrInUse when the
// store is opened, after the key derivation rather than before it.
type homeLock struct{}

func lockHome(string) (*homeLock, error) { return &homeLock{}, nil }

func (*homeLock) release() error { return nil }

// syncDir does nothing where a directory cannot be synced as a file; the
// rename is then as durable as the system makes it.
func syncDir(string) error { return nil }
