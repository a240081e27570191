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
// It is also a main menu item, so that the shortcut works while an entry
// (the passphrase, the composer) has the focus: the window offers a
// shortcut to its main menu before the focused widget.
func (s *screens) addPanicWipe() {
	show := func() { ui.ShowPanicWipe(s.win, s.panicWipe) }
	s.win.Canvas().AddShortcut(ui.PanicWipeShortcut, func(fyne.Shortcut) { show() })
	item := fyne.NewMenuItem("Panic wipe…", show)
	item.Shortcut = ui.PanicWipeShortcut
	if menu := s.win.MainMenu(); menu != nil && len(menu.Items) > 0 {
		menu.Items[0].Items = append(menu.Items[0].Items, fyne.NewMenuItemSeparator(), item)
		s.win.SetMainMenu(menu)
		return
	}
	s.win.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu("Hearth", item)))
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
