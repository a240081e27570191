package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// passphraseEnv names the environment variable a passphrase may come from.
const passphraseEnv = "HEARTH_PASSPHRASE"

// maxPassphrase bounds a passphrase read from a terminal.
const maxPassphrase = 4096

// passphrase returns the vault passphrase: $HEARTH_PASSPHRASE if set, else
// what the person types at a terminal prompt on stdin (not echoed). With
// confirm, the prompt asks twice. Without either, it is a usage error. The
// caller clears the returned slice when done.
func (e *env) passphrase(confirm bool) ([]byte, error) {
	if p, ok := e.lookupEnv(passphraseEnv); ok {
		if p == "" {
			return nil, usageErrorf("%s is set but empty", passphraseEnv)
		}
		return []byte(p), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, usageErrorf("no passphrase: set %s or run on a terminal", passphraseEnv)
	}
	fd := int(f.Fd())
	first, err := prompt(e.stderr, fd, "Passphrase: ")
	if err != nil {
		return nil, err
	}
	if !confirm {
		return first, nil
	}
	second, err := prompt(e.stderr, fd, "Passphrase again: ")
	if err != nil {
		clear(first)
		return nil, err
	}
	defer clear(second)
	if !bytes.Equal(first, second) {
		clear(first)
		return nil, usageErrorf("the passphrases do not match")
	}
	return first, nil
}

// prompt asks for one passphrase at the terminal fd without echo.
func prompt(w io.Writer, fd int, label string) ([]byte, error) {
	fmt.Fprint(w, label)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(w)
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	p = bytes.TrimRight(p, "\r")
	if len(p) == 0 {
		return nil, usageErrorf("empty passphrase")
	}
	if len(p) > maxPassphrase {
		clear(p)
		return nil, usageErrorf("passphrase longer than %d bytes", maxPassphrase)
	}
	return p, nil
}
