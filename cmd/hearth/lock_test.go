package main

import (
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	hearth "github.com/hearth-circles/hearth/app"
)

// unlockedHarness is a harness past the unlock screen of a new vault.
func unlockedHarness(t *testing.T) *harness {
	t.Helper()
	home := filepath.Join(t.TempDir(), "hearth")
	h := newHarness(t, home)
	test.Type(h.s.pass, "a quiet place to talk")
	test.Type(h.s.repeat, "a quiet place to talk")
	test.Tap(h.s.submit)
	if !h.inCircles() {
		t.Fatalf("after create: got no circles view, want it (status %q)", h.status())
	}
	return h
}

// menuItem finds a main menu item by label.
func menuItem(t *testing.T, win fyne.Window, label string) *fyne.MenuItem {
	t.Helper()
	menu := win.MainMenu()
	if menu == nil {
		t.Fatalf("main menu: got none, want one with %q", label)
	}
	for _, m := range menu.Items {
		for _, i := range m.Items {
			if i.Label == label {
				return i
			}
		}
	}
	t.Fatalf("main menu: got no %q", label)
	return nil
}

func TestLockNowFromMenu(t *testing.T) {
	h := unlockedHarness(t)
	lock := menuItem(t, h.win, "Lock now")
	want := &desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault}
	if lock.Shortcut == nil || lock.Shortcut.ShortcutName() != want.ShortcutName() {
		t.Errorf("Lock now shortcut: got %v, want Ctrl+L", lock.Shortcut)
	}
	// A dialog open at the time goes with the lock.
	dialog.ShowInformation("Invite", "a code", h.win)
	lock.Action()
	if h.s.vault != nil || h.s.core != nil || h.s.main != nil {
		t.Fatalf("after Lock now: got vault %v, core %v, view %v; want none open", h.s.vault != nil, h.s.core != nil, h.s.main != nil)
	}
	if got, want := h.s.submit.Text, textUnlockButton; got != want {
		t.Errorf("after Lock now: got button %q, want %q", got, want)
	}
	if n := len(h.win.Canvas().Overlays().List()); n != 0 {
		t.Errorf("dialogs after Lock now: got %d, want none", n)
	}
	if h.win.MainMenu() != nil {
		t.Error("main menu while locked: got one, want none")
	}
}

func TestAutoLock(t *testing.T) {
	h := unlockedHarness(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h.s.now = func() time.Time { return now }
	h.s.touch()
	if got, want := h.s.autoLock, 15*time.Minute; got != want {
		t.Fatalf("auto-lock of a new vault: got %v, want %v", got, want)
	}
	// The member chooses 5 minutes in the settings.
	if err := h.s.main.SetSettings(hearth.Settings{Theme: hearth.ThemeSystem, TextScale: 1, AutoLockMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(4 * time.Minute)
	if h.s.checkIdle() || h.s.main == nil {
		t.Fatal("idle 4 of 5 minutes: got locked, want open")
	}
	h.s.touch() // the member moves the pointer
	now = now.Add(4 * time.Minute)
	if h.s.checkIdle() || h.s.main == nil {
		t.Fatal("idle 4 minutes after activity: got locked, want open")
	}
	now = now.Add(time.Minute)
	if !h.s.checkIdle() || h.s.main != nil || h.s.vault != nil {
		t.Fatal("idle 5 minutes: got open, want locked")
	}
	if got, want := h.s.submit.Text, textUnlockButton; got != want {
		t.Errorf("after auto-lock: got button %q, want %q", got, want)
	}
}
