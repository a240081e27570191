package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/hearth-circles/hearth/app"
)

// packImportCmd keeps a welcome pack in this vault, where it can be read as
// a read-only library of its circle before joining.
type packImportCmd struct {
	File string `arg:"" help:"The pack file." type:"existingfile"`
}

// packImportView is what an import did, as one JSON object.
type packImportView struct {
	Circle    string `json:"circle"`
	Name      string `json:"name"`
	Items     int    `json:"items"`
	Added     int    `json:"added"`
	Withdrawn int    `json:"withdrawn"`
	Unchanged bool   `json:"unchanged"`
}

// Run opens the vault here (a running serve holds it: stop it first),
// checks every item of the pack and keeps those its authors consented to.
func (c *packImportCmd) Run(ctx context.Context, e *env) (err error) {
	b, err := readSmallFile(c.File, 16<<20)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if findServe(e.home) != nil {
		return usageErrorf("hearthd serve holds the vault in %s; stop it, then import the pack", e.home)
	}
	pass, err := e.packPassphrase()
	if err != nil {
		return err
	}
	defer clear(pass)
	v, err := e.unlock()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeErr("close vault", v.Close())) }()
	h, err := app.New(v, app.Options{Logger: e.log})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { err = errors.Join(err, closeErr("stop", h.Close())) }()
	r, err := h.ImportPack(b, pass)
	if err != nil {
		return err
	}
	return writeJSONLines(e.stdout, []packImportView{{
		Circle: r.Circle.String(), Name: r.Name, Items: r.Items,
		Added: r.Added, Withdrawn: r.Withdrawn, Unchanged: r.Stale,
	}})
}

// packPassphrase is $HEARTH_PACK_PASSPHRASE, else what the person types at
// a terminal prompt. The caller clears it.
func (e *env) packPassphrase() ([]byte, error) {
	if p, ok := e.lookupEnv(packPassphraseEnv); ok && p != "" {
		return []byte(p), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, usageErrorf("no pack passphrase: set %s or run on a terminal", packPassphraseEnv)
	}
	return prompt(e.stderr, int(f.Fd()), "Pack passphrase: ")
}
