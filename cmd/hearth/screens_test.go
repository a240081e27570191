package main

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	hearth "github.com/hearth-circles/hearth/app"
	"github.com/hearth-circles/hearth/crypto/vault"
)

// cheapParams keep the key derivation fast in tests.
var cheapParams = vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// harness is a window on the test driver with the screens' hooks made
// synchronous, so every step has finished when the call that caused it
// returns, and with the unlock delays recorded instead of waited for.
type harness struct {
	t       *testing.T
	win     fyne.Window
	s       *screens
	delays  []time.Duration
	pending []func()

	mu     sync.Mutex
	queued []func() // UI updates from other goroutines, run by drain
}

func newHarness(t *testing.T, home string) *harness {
	t.Helper()
	test.NewTempApp(t)
	h := &harness{t: t, win: test.NewWindow(nil)}
	t.Cleanup(h.win.Close)
	h.s = newScreens(h.win, home)
	h.s.create = func(home string, passphrase []byte) (*hearth.Vault, error) {
		return hearth.CreateVaultWithParams(home, passphrase, cheapParams)
	}
	h.s.background = func(work func()) { work() }
	h.s.after = func(d time.Duration, f func()) {
		h.delays = append(h.delays, d)
		h.pending = append(h.pending, f)
	}
	h.s.do = func(f func()) {
		h.mu.Lock()
		h.queued = append(h.queued, f)
		h.mu.Unlock()
	}
	t.Cleanup(func() {
		if err := h.s.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	h.s.start()
	return h
}

// runPending runs the callbacks whose delay has "passed".
func (h *harness) runPending() {
	for _, f := range h.pending {
		f()
	}
	h.pending = nil
}

// drain runs the queued UI updates on the test goroutine.
func (h *harness) drain() {
	for {
		h.mu.Lock()
		fs := h.queued
		h.queued = nil
		h.mu.Unlock()
		if len(fs) == 0 {
			return
		}
		for _, f := range fs {
			f()
		}
	}
}

// inCircles reports whether the circles view is on show and online.
func (h *harness) inCircles() bool {
	h.drain()
	return h.s.main != nil && h.s.core != nil && h.s.status.Text == "" && h.s.submit.Text == textLockButton
}

func (h *harness) status() string { return h.s.status.Text }

// showing reports whether a label with exactly text is on screen.
func (h *harness) showing(text string) bool {
	found := false
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Label:
			found = found || w.Text == text
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c)
			}
		}
	}
	walk(h.win.Content())
	return found
}

func TestCreateForm(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pass       string
		repeat     string
		wantStatus string
		wantVault  bool
	}{
		{"too short", "seven77", "seven77", textTooShort, false},
		{"mismatch", "long enough", "long enougH", textMismatch, false},
		{"empty", "", "", textTooShort, false},
		{"eight runes", "ünïcödé!", "ünïcödé!", "", true},
		{"good", "a quiet place to talk", "a quiet place to talk", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "hearth")
			h := newHarness(t, home)
			if !h.showing(textLossWarning) {
				t.Fatalf("first run: got no loss warning on screen, want %q", textLossWarning)
			}
			if got, want := h.s.submit.Text, textCreateButton; got != want {
				t.Fatalf("first run button: got %q, want %q", got, want)
			}
			test.Type(h.s.pass, tc.pass)
			test.Type(h.s.repeat, tc.repeat)
			test.Tap(h.s.submit)

			if got := hearth.VaultExists(home); got != tc.wantVault {
				t.Errorf("VaultExists: got %v, want %v", got, tc.wantVault)
			}
			if tc.wantVault {
				if !h.inCircles() {
					t.Errorf("after create: got no circles view (status %q), want it", h.status())
				}
				if h.s.vault == nil {
					t.Errorf("after create: got no open vault, want one")
				}
				return
			}
			if got := h.status(); got != tc.wantStatus {
				t.Errorf("status: got %q, want %q", got, tc.wantStatus)
			}
			if h.s.submit.Disabled() {
				t.Errorf("after a refused passphrase: got the button disabled, want enabled")
			}
		})
	}
}

func TestUnlockFlow(t *testing.T) {
	home := filepath.Join(t.TempDir(), "hearth")
	const pass = "a quiet place to talk"
	v, err := hearth.CreateVaultWithParams(home, []byte(pass), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	h := newHarness(t, home)
	if got, want := h.s.submit.Text, textUnlockButton; got != want {
		t.Fatalf("later run button: got %q, want %q", got, want)
	}

	// Wrong passphrases: the message, and a wait that grows each time.
	wantDelays := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	for i, want := range wantDelays {
		test.Type(h.s.pass, "not it "+strconv.Itoa(i))
		test.Tap(h.s.submit)
		if got := h.status(); got != textWrong {
			t.Fatalf("wrong passphrase %d: status got %q, want %q", i+1, got, textWrong)
		}
		if !h.s.submit.Disabled() {
			t.Fatalf("wrong passphrase %d: got the button enabled, want disabled during the wait", i+1)
		}
		if got := h.delays[len(h.delays)-1]; got != want {
			t.Errorf("wait after wrong passphrase %d: got %v, want %v", i+1, got, want)
		}
		h.runPending()
		if h.s.submit.Disabled() {
			t.Fatalf("after the wait: got the button disabled, want enabled")
		}
	}

	// Another Hearth holding the vault.
	other, err := hearth.UnlockVault(home, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	test.Type(h.s.pass, pass)
	test.Tap(h.s.submit)
	if got := h.status(); got != textInUse {
		t.Errorf("vault in use: status got %q, want %q", got, textInUse)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}

	// The right passphrase, then Lock, then unlock again.
	test.Tap(h.s.submit)
	if !h.inCircles() {
		t.Fatalf("after unlock: got no circles view, want it (status %q)", h.status())
	}
	test.Tap(h.s.submit) // Lock
	if h.s.vault != nil || h.s.core != nil || h.s.main != nil {
		t.Errorf("after Lock: got vault %v, core %v, view %v; want none open", h.s.vault != nil, h.s.core != nil, h.s.main != nil)
	}
	if got, want := h.s.submit.Text, textUnlockButton; got != want {
		t.Fatalf("after Lock button: got %q, want %q", got, want)
	}
	v2, err := hearth.UnlockVault(home, []byte(pass))
	if err != nil {
		t.Fatalf("UnlockVault after Lock: got %v, want nil (Lock must release the vault)", err)
	}
	v2.Close()
	test.Type(h.s.pass, pass)
	test.Tap(h.s.submit)
	if !h.inCircles() {
		t.Errorf("second unlock: got no circles view, want it (status %q)", h.status())
	}
	if h.s.failures != 0 {
		t.Errorf("failures after a good unlock: got %d, want 0", h.s.failures)
	}
}

func TestUnlockDelay(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{5, 16 * time.Second},
		{6, maxUnlockDelay},
		{1000, maxUnlockDelay},
	} {
		if got := unlockDelay(tc.n); got != tc.want {
			t.Errorf("unlockDelay(%d): got %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestAppIDMatchesFyneAppToml(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "FyneApp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var id string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.TrimSpace(key) == "ID" {
			id = strings.Trim(strings.TrimSpace(value), `"`)
		}
	}
	if got, want := appID, id; got != want {
		t.Errorf("appID: got %q, want FyneApp.toml's ID %q", got, want)
	}
}

func TestDefaultHome(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skipf("the home directory is not $HOME on %s", runtime.GOOS)
	}
	userHome := t.TempDir()
	t.Setenv("HOME", userHome)
	for _, tc := range []struct {
		name    string
		xdgData string
		want    string
	}{
		{"xdg set", "/data/me", filepath.Join("/data/me", "hearth")},
		{"xdg unset", "", filepath.Join(userHome, ".local", "share", "hearth")},
		{"xdg relative ignored", "relative/dir", filepath.Join(userHome, ".local", "share", "hearth")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_DATA_HOME", tc.xdgData)
			got, err := defaultHome()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("defaultHome: got %q, want %q", got, tc.want)
			}
		})
	}
}
