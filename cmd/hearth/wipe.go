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
	s.win.Canvas().AddShortcut(ui.PanicWipeShortcut, func(fyne.Shortcut) { s.showPanicWipe() })
	s.win.SetMainMenu(s.withPanicWipe(s.win.MainMenu()))
}

func (s *screens) showPanicWipe() { ui.ShowPanicWipe(s.win, s.panicWipe) }

// withPanicWipe is menu (nil for none) with the panic wipe as the last item
// of its first menu. As a main menu item the shortcut works while an entry
// (the passphrase, the composer) has the focus: the window offers a
// shortcut to its main menu before the focused widget. Pass every main
// menu the window is given through it.
func (s *screens) withPanicWipe(menu *fyne.MainMenu) *fyne.MainMenu {
	item := fyne.NewMenuItem("Panic wipe…", s.showPanicWipe)
	item.Shortcut = ui.PanicWipeShortcut
	if menu == nil || len(menu.Items) == 0 {
		return fyne.NewMainMenu(fyne.NewMenu("Hearth", item))
	}
	for _, it := range menu.Items[0].Items {
		if it.Shortcut == ui.PanicWipeShortcut {
			return menu
		}
	}
	menu.Items[0].Items = append(menu.Items[0].Items, fyne.NewMenuItemSeparator(), item)
	return menu
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
