package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// Texts of the menu; tests look for them.
const (
	textMenuLock     = "Lock now"
	textMenuNext     = "Next circle"
	textMenuPrevious = "Previous circle"
	textMenuWrite    = "Write a message"
)

func ctrl(k fyne.KeyName) fyne.Shortcut {
	return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
}

func item(label string, key fyne.KeyName, action func()) *fyne.MenuItem {
	i := fyne.NewMenuItem(label, action)
	i.Shortcut = ctrl(key)
	return i
}

// Menu is the window's main menu. Every action of the main window is in
// it, with a keyboard shortcut; the shortcuts work wherever the focus is.
func (m *Main) Menu() *fyne.MainMenu {
	hearth := fyne.NewMenu("Hearth",
		item(textNewCircle, fyne.KeyN, m.act(m.showNewCircle)),
		item(textJoinCircle, fyne.KeyJ, m.act(m.showJoin)),
		fyne.NewMenuItemSeparator(),
		item(textSettings, fyne.KeyComma, m.act(m.ShowSettings)),
	)
	if m.opt.Lock != nil {
		hearth.Items = append(hearth.Items, item(textMenuLock, fyne.KeyL, m.opt.Lock))
	}
	circle := fyne.NewMenu("Circle",
		item(textMenuWrite, fyne.KeyE, m.act(m.focusComposer)),
		item(textInvite, fyne.KeyI, m.act(m.showInvite)),
		item(textShowMembers, fyne.KeyM, m.act(m.toggleMembers)),
		item(textMenuNext, fyne.KeyPageDown, m.act(func() { m.step(1) })),
		item(textMenuPrevious, fyne.KeyPageUp, m.act(func() { m.step(-1) })),
	)
	if facil := m.FacilitationMenu(); len(facil.Items) > 0 {
		circle.Items = append(append(circle.Items, fyne.NewMenuItemSeparator()), facil.Items...)
	}
	return fyne.NewMainMenu(hearth, circle)
}

// act wraps a menu action so that it counts as the member's activity.
func (m *Main) act(f func()) func() {
	return func() {
		m.active()
		f()
	}
}

// active tells Options.Activity that the member did something.
func (m *Main) active() {
	if m.opt.Activity != nil {
		m.opt.Activity()
	}
}

func (m *Main) focusComposer() {
	if m.chat != nil {
		m.win.Canvas().Focus(m.chat.entry)
	}
}

func (m *Main) showInvite() {
	if m.chat != nil {
		m.chat.invite.OnTapped()
	}
}

func (m *Main) toggleMembers() {
	if m.chat != nil {
		m.chat.toggleMembers()
	}
}

// step selects the circle d places down the list (up when negative).
func (m *Main) step(d int) {
	if len(m.circles) == 0 {
		return
	}
	i := (m.selected + d + len(m.circles)) % len(m.circles)
	m.list.Select(i)
}

// keys handles keys typed while no widget has the focus: Escape closes the
// dialog on top, and any key counts as activity.
func (m *Main) keys(k *fyne.KeyEvent) {
	m.active()
	if k.Name != fyne.KeyEscape {
		return
	}
	overlays := m.win.Canvas().Overlays()
	if top := overlays.Top(); top != nil {
		overlays.Remove(top)
	}
}
