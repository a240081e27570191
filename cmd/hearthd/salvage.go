package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hearth-circles/hearth/app"
	"github.com/hearth-circles/hearth/storage"
)

// salvageCmd exports what still reads from a vault's store.
type salvageCmd struct {
	Out string `required:"" help:"File to write: one JSON object a line, plain text (created, mode 0600; must not exist)." type:"path" placeholder:"FILE"`
}

func (c *salvageCmd) Help() string {
	return `Reads every message of every circle in this vault that still reads
and writes them to --out, one JSON object a line (circle, circle_name, id,
author, nick, kind, text, sent_at, lamport), oldest first per circle. Damaged
records are skipped and counted. A summary goes to stderr.

The file is NOT encrypted: keep it somewhere safe and delete it when done.
Stop serve first: the vault can be open in one Hearth at a time.

When the store's files are damaged so badly that the store does not open
(its manifest, key registry or tables), nothing can be read: the error
says so, and the vault is left exactly as it was.`
}

func (c *salvageCmd) Run(ctx context.Context, e *env) (err error) {
	v, err := e.unlock()
	if errors.Is(err, storage.ErrCorrupt) {
		return fmt.Errorf("%w; nothing could be read, so nothing was exported", err)
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeErr("close vault", v.Close())) }()
	f, err := os.OpenFile(c.Out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return usageErrorf("%v", err)
	}
	rep, err := app.Salvage(v, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(c.Out)
		return err
	}
	abs, _ := filepath.Abs(c.Out)
	fmt.Fprintf(e.stderr, "salvaged %d messages of %d circles into %s; %d damaged records skipped\n",
		rep.Messages, rep.Circles, abs, rep.Skipped)
	for _, f := range rep.Failed {
		fmt.Fprintf(e.stderr, "stopped early: %s\n", f)
	}
	return nil
}
