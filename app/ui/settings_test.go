package ui

import (
	"context"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/hearth-circles/hearth/app"
)

// newHarnessWithVault is newHarness whose Main also has the vault, for
// settings; it returns the vault's home and passphrase too.
func newHarnessWithVault(t *testing.T) (h *harness, v *app.Vault, home string) {
	t.Helper()
	test.NewTempApp(t)
	home = filepath.Join(t.TempDir(), "hearth")
	v, err := app.CreateVaultWithParams(home, []byte("a quiet place to talk"), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	core, err := app.New(v, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := core.Online(context.Background()); err != nil {
		t.Fatal(err)
	}
	h = &harness{t: t, win: test.NewWindow(nil), core: core}
	h.win.Resize(fyne.NewSize(1000, 700))
	h.m = NewMain(h.win, core, Options{Go: func(work func()) { work() }, Do: h.do, Account: v})
	h.win.SetContent(h.m.Content())
	t.Cleanup(func() {
		h.m.Close()
		h.win.Close()
		core.Close()
		v.Close()
	})
	return h, v, home
}

func TestSettingsChangeAndPersist(t *testing.T) {
	h, v, _ := newHarnessWithVault(t)
	a := fyne.CurrentApp()
	normal := a.Settings().Theme().Size(theme.SizeNameText)

	test.Tap(h.m.settingsButton)
	d := h.m.settingsOpen
	if d == nil {
		t.Fatal("after Settings: got no dialog, want one")
	}
	d.theme.SetSelected(textThemeDark)
	d.textSize.SetSelected("Large (150%)")
	d.autoLock.SetSelected(autoLockChoice(5))

	// Applied at once: the dark variant whatever the system says, and text
	// half as large again.
	th := a.Settings().Theme()
	if got, want := th.Color(theme.ColorNameBackground, theme.VariantLight), theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark); got != want {
		t.Errorf("background in the dark theme: got %v, want %v", got, want)
	}
	if got, want := th.Size(theme.SizeNameText), normal*1.5; got != want {
		t.Errorf("text size: got %v, want %v", got, want)
	}
	// Saved in the vault.
	got, err := v.Settings()
	if err != nil {
		t.Fatal(err)
	}
	want := app.Settings{Theme: app.ThemeDark, TextScale: 1.5, Notifications: true, AutoLockMinutes: 5}
	if got != want {
		t.Errorf("stored settings: got %+v, want %+v", got, want)
	}

	// A new view over the same vault starts with them.
	m2 := NewMain(test.NewWindow(nil), h.core, Options{Go: func(work func()) { work() }, Do: h.do, Account: v})
	defer m2.Close()
	if m2.settings != want {
		t.Errorf("settings of a new view: got %+v, want %+v", m2.settings, want)
	}
}

func TestNotificationsHideTextUnlessAsked(t *testing.T) {
	h, _, _ := newHarnessWithVault(t)
	var sent []*fyne.Notification
	h.m.opt.Notify = func(n *fyne.Notification) { sent = append(sent, n) }
	msg := app.Message{Kind: "post", AuthorNick: "willow", Text: "my secret"}
	var id app.CircleID

	h.m.notify(id, msg)
	if len(sent) != 1 || sent[0].Content != textNotifyPlain || sent[0].Title != "Hearth" {
		t.Fatalf("notification by default: got %+v, want one saying only %q", sent, textNotifyPlain)
	}
	test.Tap(h.m.settingsButton)
	d := h.m.settingsOpen
	if d.notifyText.Disabled() == h.m.settings.Notifications {
		t.Errorf("message-text toggle: got disabled %v with notifications %v", d.notifyText.Disabled(), h.m.settings.Notifications)
	}
	test.Tap(d.notifyText)
	h.m.notify(id, msg)
	if len(sent) != 2 || sent[1].Content != "willow: my secret" {
		t.Fatalf("notification with text asked for: got %+v, want the text", sent[len(sent)-1])
	}
	test.Tap(d.notify) // off: no notifications, and the text option goes too
	h.m.notify(id, msg)
	if len(sent) != 2 {
		t.Errorf("notifications off: got %d sent, want 2", len(sent))
	}
	if h.m.settings.NotifyText || !d.notifyText.Disabled() {
		t.Errorf("message text with notifications off: got %v (disabled %v), want off and disabled", h.m.settings.NotifyText, d.notifyText.Disabled())
	}
}

func TestChangePassphrase(t *testing.T) {
	h, v, home := newHarnessWithVault(t)
	test.Tap(h.m.settingsButton)
	d := h.m.settingsOpen
	test.Tap(d.changePass)

	test.Type(d.oldPass, "not my passphrase")
	test.Type(d.newPass, "a new quiet place")
	test.Type(d.repeatPass, "a new quiet place")
	test.Tap(d.passSubmit)
	h.drain()
	if got, want := d.passStatus.Text, textPassWrong; got != want {
		t.Fatalf("wrong current passphrase: got %q, want %q", got, want)
	}
	d.oldPass.SetText("a quiet place to talk")
	test.Tap(d.passSubmit)
	h.drain()
	if got, want := d.passStatus.Text, textPassChanged; got != want {
		t.Fatalf("after changing: got %q, want %q", got, want)
	}
	h.m.Close()
	h.core.Close()
	v.Close()
	if _, err := app.UnlockVault(home, []byte("a quiet place to talk")); err == nil {
		t.Error("unlock with the old passphrase: got nil error, want one")
	}
	v2, err := app.UnlockVault(home, []byte("a new quiet place"))
	if err != nil {
		t.Fatalf("unlock with the new passphrase: got %v, want nil", err)
	}
	v2.Close()
}
