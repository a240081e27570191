package ui

import (
	"testing"

	"fyne.io/fyne/v2"
)

func TestMenuShortcuts(t *testing.T) {
	h, _, _ := newHarnessWithVault(t)
	locked := 0
	h.m.opt.Lock = func() { locked++ }
	h.createCircle("Tuesday group", "river")
	h.createCircle("Another group", "river")

	items := map[string]*fyne.MenuItem{}
	shortcuts := map[string]string{}
	for _, menu := range h.m.Menu().Items {
		for _, i := range menu.Items {
			if i.IsSeparator {
				continue
			}
			items[i.Label] = i
			if i.Shortcut == nil {
				t.Errorf("menu item %q: got no shortcut, want one", i.Label)
				continue
			}
			name := i.Shortcut.ShortcutName()
			if other, ok := shortcuts[name]; ok {
				t.Errorf("shortcut %s: got both %q and %q, want one each", name, other, i.Label)
			}
			shortcuts[name] = i.Label
		}
	}
	for _, want := range []string{textNewCircle, textJoinCircle, textSettings, textMenuLock, textInvite, textShowMembers, textMenuNext, textMenuPrevious, textMenuWrite} {
		if items[want] == nil {
			t.Errorf("menu: got no %q, want it", want)
		}
	}

	items[textMenuLock].Action()
	if locked != 1 {
		t.Errorf("Lock now: got %d locks, want 1", locked)
	}
	items[textShowMembers].Action()
	if !h.m.chat.membersSide.Visible() {
		t.Error("Members from the menu: got the panel hidden, want shown")
	}
	first := h.m.chat.id
	items[textMenuNext].Action()
	if h.m.chat.id == first {
		t.Error("Next circle: got the same circle, want the other")
	}
	items[textMenuPrevious].Action()
	if h.m.chat.id != first {
		t.Error("Previous circle: got another circle, want the first again")
	}
	items[textMenuWrite].Action()
	if got := h.win.Canvas().Focused(); got != h.m.chat.entry {
		t.Errorf("Write a message: got focus on %T, want the composer", got)
	}
	items[textSettings].Action()
	if h.m.settingsOpen == nil {
		t.Error("Settings from the menu: got no dialog, want one")
	}
	items[textInvite].Action()
	if h.m.chat.inviting == nil {
		t.Error("Invite from the menu: got no dialog, want one")
	}
}

func TestEscapeClosesDialog(t *testing.T) {
	h, _, _ := newHarnessWithVault(t)
	h.m.ShowSettings()
	if h.win.Canvas().Overlays().Top() == nil {
		t.Fatal("after Settings: got no dialog, want one")
	}
	h.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if top := h.win.Canvas().Overlays().Top(); top != nil {
		t.Errorf("after Escape: got a dialog still open, want none")
	}
}
