package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	hearth "github.com/hearth-circles/hearth/app"
	"github.com/hearth-circles/hearth/app/ui"
	"github.com/hearth-circles/hearth/assets"
	"github.com/hearth-circles/hearth/storage"
)

const (
	// minPassphraseLength is the fewest characters a new passphrase may have.
	minPassphraseLength = 8
	// firstUnlockDelay is how long Unlock stays disabled after a wrong
	// passphrase; it doubles with each further one, up to maxUnlockDelay.
	firstUnlockDelay = time.Second
	maxUnlockDelay   = 30 * time.Second
	// onlineTimeout bounds bringing the circles online after unlock.
	onlineTimeout = 2 * time.Minute
)

// Texts the member reads; tests look for them.
const (
	textLossWarning  = "If you lose this passphrase, nothing can recover your circles."
	textTooShort     = "Use at least 8 characters."
	textMismatch     = "The two passphrases do not match."
	textWrong        = "Wrong passphrase"
	textInUse        = "This vault is open in another Hearth window"
	textGoingOnline  = "Connecting to your circles…"
	textCreating     = "Creating your vault…"
	textUnlocking    = "Unlocking…"
	textLocking      = "Locking…"
	textCreateButton = "Create vault"
	textUnlockButton = "Unlock"
	textLockButton   = "Lock now (Ctrl+L)"
)

// screens drives the window through its three states: creating a vault on
// first run, unlocking it later, and the circles view with its Lock button.
// Every field is touched on the UI goroutine only; the slow key derivation
// and going online run through background and report back through do.
type screens struct {
	win  fyne.Window
	home string

	vault    *hearth.Vault  // nil while locked
	core     *hearth.Hearth // nil while locked
	main     *ui.Main       // the circles view; nil while locked
	failures int            // wrong passphrases in a row

	// The auto-lock: how long the member may be idle (0: never), when they
	// last did something, and which unlocked session the check belongs to.
	autoLock   time.Duration
	lastActive time.Time
	session    int

	// The widgets of the screen on show, kept for tests.
	pass, repeat *widget.Entry
	submit       *widget.Button
	status       *widget.Label
	meter        *widget.ProgressBar // how strong a new passphrase is
	meterText    *widget.Label

	// Hooks, replaced in tests: how to create and unlock a vault, how to run
	// slow work off the UI goroutine, and how to run f on the UI goroutine
	// after d, and how to run f on the UI goroutine from another one.
	create     func(home string, passphrase []byte) (*hearth.Vault, error)
	unlock     func(home string, passphrase []byte) (*hearth.Vault, error)
	background func(work func())
	after      func(d time.Duration, f func())
	do         func(f func())
	now        func() time.Time

	// timing, when asked for, reports how long unlocking took.
	timing *timing
}

// desktopVault is how the desktop opens a vault: the key derivation in a
// child process (kdf.go), and small memtables, whose arena Badger holds for
// as long as the store is open (2.6 MiB against 10.5 for the default; the
// desktop writes little at a time).
var desktopVault = hearth.VaultOptions{KDF: childKDF, MemTableSize: storage.SmallMemTableSize}

func newScreens(win fyne.Window, home string) *screens {
	return &screens{
		win:  win,
		home: home,
		create: func(home string, passphrase []byte) (*hearth.Vault, error) {
			return hearth.CreateVaultWith(home, passphrase, desktopVault)
		},
		unlock: func(home string, passphrase []byte) (*hearth.Vault, error) {
			return hearth.UnlockVaultWith(home, passphrase, desktopVault)
		},
		background: func(work func()) { go work() },
		after: func(d time.Duration, f func()) {
			time.AfterFunc(d, func() { fyne.Do(f) })
		},
		do:     fyne.Do,
		now:    time.Now,
		timing: newTiming(),
	}
}

// start shows the first screen: create on first run, unlock afterwards.
func (s *screens) start() {
	s.addPanicWipe()
	if hearth.VaultExists(s.home) {
		s.showUnlock()
	} else {
		s.showCreate()
	}
}

// close takes the circles offline and closes the vault if it is open.
func (s *screens) close() error {
	var errs []error
	if s.main != nil {
		errs = append(errs, s.main.Close())
		s.main = nil
	}
	if s.core != nil {
		errs = append(errs, s.core.Close())
		s.core = nil
	}
	if s.vault != nil {
		errs = append(errs, s.vault.Close())
		s.vault = nil
	}
	return errors.Join(errs...)
}

func (s *screens) showCreate() {
	s.pass = widget.NewPasswordEntry()
	s.pass.SetPlaceHolder("Passphrase")
	s.repeat = widget.NewPasswordEntry()
	s.repeat.SetPlaceHolder("The same passphrase again")
	s.status = newStatus()
	s.submit = widget.NewButton(textCreateButton, s.submitCreate)
	s.submit.Importance = widget.HighImportance
	s.pass.OnSubmitted = func(string) { s.win.Canvas().Focus(s.repeat) }
	s.repeat.OnSubmitted = func(string) { s.submitCreate() }
	s.meter = widget.NewProgressBar()
	s.meter.TextFormatter = func() string { return "" }
	s.meterText = widget.NewLabel(textStrengthEmpty)
	s.pass.OnChanged = func(p string) {
		text, fill := strengthText(p)
		s.meterText.SetText(text)
		s.meter.SetValue(fill)
	}

	warning := widget.NewLabel(textLossWarning)
	warning.Wrapping = fyne.TextWrapWord
	warning.Importance = widget.WarningImportance
	intro := widget.NewLabel("Choose a passphrase for this computer. It keeps your circles' history unreadable to anyone without it.")
	intro.Wrapping = fyne.TextWrapWord

	s.show("Welcome to Hearth", intro, s.pass, s.meter, s.meterText, s.repeat, warning, s.submit, s.status)
	s.win.Canvas().Focus(s.pass)
}

func (s *screens) submitCreate() {
	if s.submit.Disabled() {
		return
	}
	pass, repeat := s.pass.Text, s.repeat.Text
	switch {
	case utf8.RuneCountInString(pass) < minPassphraseLength:
		s.fail(textTooShort)
		return
	case pass != repeat:
		s.fail(textMismatch)
		return
	}
	s.busy(textCreating)
	home := s.home
	s.background(func() {
		v, err := s.create(home, []byte(pass))
		fyne.Do(func() { s.created(v, err) })
	})
}

func (s *screens) created(v *hearth.Vault, err error) {
	if err != nil {
		s.submit.Enable()
		s.fail(fmt.Sprintf("Could not create the vault: %v", err))
		return
	}
	s.vault = v
	s.showCircles()
}

func (s *screens) showUnlock() {
	s.pass = widget.NewPasswordEntry()
	s.pass.SetPlaceHolder("Passphrase")
	s.repeat = nil
	s.status = newStatus()
	s.submit = widget.NewButton(textUnlockButton, s.submitUnlock)
	s.submit.Importance = widget.HighImportance
	s.pass.OnSubmitted = func(string) { s.submitUnlock() }

	intro := widget.NewLabel("Enter your passphrase to open your circles.")
	intro.Wrapping = fyne.TextWrapWord
	s.show("Hearth is locked", intro, s.pass, s.submit, s.status)
	s.win.Canvas().Focus(s.pass)
}

func (s *screens) submitUnlock() {
	if s.submit.Disabled() {
		return
	}
	pass := s.pass.Text
	s.busy(textUnlocking)
	home := s.home
	s.timing.start()
	s.background(func() {
		v, err := s.unlock(home, []byte(pass))
		s.timing.unlocked()
		fyne.Do(func() { s.unlocked(v, err) })
	})
}

func (s *screens) unlocked(v *hearth.Vault, err error) {
	switch {
	case err == nil:
		s.failures = 0
		s.vault = v
		s.showCircles() // the key derivation's memory was a child's (kdf.go)
	case errors.Is(err, hearth.ErrWrongPassphrase):
		s.failures++
		s.pass.SetText("")
		s.fail(textWrong)
		// Each wrong guess makes the next one wait longer.
		submit := s.submit
		s.after(unlockDelay(s.failures), submit.Enable)
	case errors.Is(err, hearth.ErrInUse):
		s.submit.Enable()
		s.fail(textInUse)
	default:
		s.submit.Enable()
		s.fail(fmt.Sprintf("Could not open the vault: %v", err))
	}
}

// unlockDelay is how long the Unlock button stays disabled after the n-th
// wrong passphrase in a row.
func unlockDelay(n int) time.Duration {
	d := firstUnlockDelay
	for i := 1; i < n && d < maxUnlockDelay; i++ {
		d *= 2
	}
	return min(d, maxUnlockDelay)
}

// showCircles loads the circles of the open vault, shows them, and brings
// them online in the background.
func (s *screens) showCircles() {
	s.pass, s.repeat = nil, nil
	s.status = newStatus()
	s.submit = widget.NewButton(textLockButton, s.lock)
	core, err := hearth.New(s.vault, hearth.Options{})
	if err != nil {
		s.show("Your circles", s.submit, s.status)
		s.fail(fmt.Sprintf("Could not read your circles: %v", err))
		return
	}
	s.core = core
	s.session++
	s.main = ui.NewMain(s.win, core, ui.Options{
		Go: s.background, Do: s.do, Account: s.vault,
		Lock:       s.lock,
		OnSettings: func(st hearth.Settings) { s.setAutoLock(st.AutoLockMinutes) },
		Activity:   s.touch,
	})
	s.main.SetPanicWipe(s.panicWipe)
	s.status.Alignment = fyne.TextAlignLeading
	s.status.SetText(textGoingOnline)
	top := container.NewBorder(nil, nil, nil, s.submit, s.status)
	s.win.Resize(fyne.NewSize(960, 640))
	s.win.SetMainMenu(s.withPanicWipe(s.main.Menu()))
	s.win.SetContent(newWatch(container.NewBorder(top, nil, nil, nil, s.main.Content()), s.touch))
	if c, ok := s.win.Canvas().(desktop.Canvas); ok {
		c.SetOnKeyDown(func(*fyne.KeyEvent) { s.touch() })
	}
	s.watchIdle(s.session)
	if s.timing != nil {
		// Capture draws the whole window: the figure includes a full frame.
		s.do(func() {
			s.win.Canvas().Capture()
			s.timing.shown()
		})
	}

	s.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), onlineTimeout)
		err := core.Online(ctx)
		cancel()
		s.do(func() { s.online(core, err) })
	})
}

// online reports the outcome of bringing core online.
func (s *screens) online(core *hearth.Hearth, err error) {
	if s.core != core {
		return // locked meanwhile
	}
	if err != nil {
		s.fail(fmt.Sprintf("Could not go online: %v", err))
		return
	}
	s.status.SetText("")
	s.main.Refresh()
	// Going online leaves garbage behind too.
	s.background(debug.FreeOSMemory)
}

// lock closes the vault and returns to the unlock screen.
func (s *screens) lock() {
	s.busy(textLocking)
	if err := s.close(); err != nil {
		s.submit.Enable()
		s.fail(fmt.Sprintf("Could not lock the vault: %v", err))
		return
	}
	s.win.SetMainMenu(nil)
	// Dialogs float above the content; none may outlive the lock.
	overlays := s.win.Canvas().Overlays()
	for _, o := range overlays.List() {
		overlays.Remove(o)
	}
	s.showUnlock()
}

// show lays out a screen: the icon, a title, then the given rows, in a
// column of fixed width centred in the window.
func (s *screens) show(title string, rows ...fyne.CanvasObject) {
	icon := canvas.NewImageFromResource(fyne.NewStaticResource("icon.png", assets.Icon))
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSize(96, 96))
	heading := widget.NewLabelWithStyle(title, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})

	width := canvas.NewRectangle(nil)
	width.SetMinSize(fyne.NewSize(360, 0))
	column := container.NewVBox(append([]fyne.CanvasObject{icon, heading}, rows...)...)
	s.win.SetContent(container.NewCenter(container.NewStack(width, column)))
}

func (s *screens) busy(text string) {
	s.submit.Disable()
	s.status.Importance = widget.MediumImportance
	s.status.SetText(text)
}

func (s *screens) fail(text string) {
	s.status.Importance = widget.DangerImportance
	s.status.SetText(text)
}

func newStatus() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Alignment = fyne.TextAlignCenter
	return l
}
