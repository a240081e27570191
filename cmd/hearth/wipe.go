package main

import (
	"errors"
	"log/slog"

	"fyne.io/fyne/v2"

	hearth "github.com/hearth-circles/hearth/app"
	"github.com/hearth-circles/hearth/app/ui"
)

// addPanicWipe makes Ctrl+Shift+Delete offer the panic wipe on every
// screen, locked or not: one confirmation, then the vault is destroyed.
func (s *screens) addPanicWipe() {
	s.win.Canvas().AddShortcut(ui.PanicWipeShortcut, func(fyne.Shortcut) {
		ui.ShowPanicWipe(s.win, s.panicWipe)
	})
}

// panicWipe closes whatever is open, destroys the vault in home (its key
// header and keyring first, so that nothing left can be decrypted, even
// with the passphrase), and shows the first-run screen.
func (s *screens) panicWipe() error {
	if err := s.close(); err != nil {
		slog.Warn("closing the vault before the wipe", "err", err)
	}
	err := hearth.Wipe(s.home)
	s.showCreate()
	if err != nil && !errors.Is(err, hearth.ErrNoVault) {
		return err
	}
	return nil
}
