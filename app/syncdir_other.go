//go:build !unix

package app

// syncDir does nothing where a directory cannot be synced as a file; the
// rename is then as durable as the system makes it.
func syncDir(string) error { return nil }
