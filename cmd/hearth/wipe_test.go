package main

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	hearth "github.com/hearth-circles/hearth/app"
	"github.com/hearth-circles/hearth/app/ui"
)

// findButton finds the button labelled text in the window's top overlay.
func findButton(win fyne.Window, text string) *widget.Button {
	var found *widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if found != nil || o == nil {
			return
		}
		switch w := o.(type) {
		case *widget.Button:
			if w.Text == text {
				found = w
			}
			return
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
			return
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(w).Objects() {
				walk(c)
			}
		}
	}
	walk(win.Canvas().Overlays().Top())
	return found
}

// Ctrl+Shift+Delete, one confirmation, and the vault is gone: the app is
// back on the first-run screen and the passphrase opens nothing.
func TestPanicWipeShortcut(t *testing.T) {
	home := filepath.Join(t.TempDir(), "hearth")
	h := newHarness(t, home)
	test.Type(h.s.pass, "a quiet place to talk")
	test.Type(h.s.repeat, "a quiet place to talk")
	test.Tap(h.s.submit)
	if !h.inCircles() {
		t.Fatalf("after create: got no circles view (status %q), want it", h.status())
	}

	// A main menu item carries the shortcut, so that it works while an
	// entry has the focus.
	inMenu := false
	if menu := h.win.MainMenu(); menu != nil {
		for _, m := range menu.Items {
			for _, it := range m.Items {
				inMenu = inMenu || it.Shortcut == ui.PanicWipeShortcut
			}
		}
	}
	if !inMenu {
		t.Errorf("main menu: got no item with Ctrl+Shift+Delete, want the panic wipe")
	}

	h.win.Canvas().(fyne.Shortcutable).TypedShortcut(ui.PanicWipeShortcut)
	confirm := findButton(h.win, "Destroy now")
	if confirm == nil {
		t.Fatal("after Ctrl+Shift+Delete: got no confirmation, want one")
	}
	if !hearth.VaultExists(home) {
		t.Fatal("before confirming: got the vault gone, want it kept")
	}
	test.Tap(confirm)
	if hearth.VaultExists(home) {
		t.Fatal("after the wipe: got a vault, want none")
	}
	if h.s.vault != nil || h.s.main != nil || h.s.submit.Text != textCreateButton {
		t.Fatalf("after the wipe: got button %q, want the first-run screen", h.s.submit.Text)
	}
	if _, err := hearth.UnlockVault(home, []byte("a quiet place to talk")); err == nil {
		t.Fatal("unlock after the wipe: got a vault, want an error")
	}
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("left after the wipe: %s", e.Name())
		}
	}
}
