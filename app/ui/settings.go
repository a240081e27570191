package ui

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// Account is the open vault behind the views: where it lives, its
// passphrase, and the member's settings. *app.Vault is one.
type Account interface {
	Home() string
	Settings() (app.Settings, error)
	SaveSettings(s app.Settings) error
	ChangePassphrase(oldPassphrase, newPassphrase []byte) error
	ReadMarks() (map[app.CircleID]uint64, error)
	SaveReadMarks(marks map[app.CircleID]uint64) error
}

var _ Account = (*app.Vault)(nil)

// minPassphrase is the fewest characters a new passphrase may have.
const minPassphrase = 8

// Texts the member reads; tests look for them.
const (
	textSettings        = "Settings"
	textThemeSystem     = "As the system"
	textThemeLight      = "Light"
	textThemeDark       = "Dark"
	textNotify          = "Tell me when a message arrives in a circle I am not looking at"
	textNotifyText      = "Show the message itself in the notification (others near your screen may read it)"
	textNotifyPlain     = "New message in Hearth"
	textAutoLockNever   = "Never"
	textChangePass      = "Change passphrase…"
	textPassChanged     = "Passphrase changed."
	textPassWrong       = "The current passphrase is not right."
	textPassShort       = "Use at least 8 characters."
	textPassMismatch    = "The two new passphrases do not match."
	textCopyPath        = "Copy"
	textCopiedPath      = "Copied."
	textDataLives       = "Your vault (encrypted) is kept in this folder:"
	textSettingsSaveErr = "Could not save the settings"
)

var themeChoices = []string{textThemeSystem, textThemeLight, textThemeDark}

func themeChoice(theme string) string {
	switch theme {
	case app.ThemeLight:
		return textThemeLight
	case app.ThemeDark:
		return textThemeDark
	}
	return textThemeSystem
}

func themeOf(choice string) string {
	switch choice {
	case textThemeLight:
		return app.ThemeLight
	case textThemeDark:
		return app.ThemeDark
	}
	return app.ThemeSystem
}

// textScales are the text sizes offered, with their names.
var textScales = []struct {
	name  string
	scale float32
}{
	{"Smaller (90%)", 0.9},
	{"Normal (100%)", 1},
	{"Larger (125%)", 1.25},
	{"Large (150%)", 1.5},
	{"Largest (200%)", 2},
}

func scaleChoice(s float32) string {
	best := textScales[1].name
	for _, c := range textScales {
		if c.scale == s {
			best = c.name
		}
	}
	return best
}

func autoLockChoice(min int) string {
	if min == 0 {
		return textAutoLockNever
	}
	return fmt.Sprintf("After %d minutes without use", min)
}

// settingsDialog shows and changes the member's settings; every change is
// applied at once and saved in the vault.
type settingsDialog struct {
	m      *Main
	dialog dialog.Dialog

	theme      *widget.RadioGroup
	textSize   *widget.Select
	notify     *widget.Check
	notifyText *widget.Check
	autoLock   *widget.Select
	status     *widget.Label
	copyPath   *widget.Button
	changePass *widget.Button

	// The change-passphrase form, while shown.
	oldPass, newPass, repeatPass *widget.Entry
	passSubmit                   *widget.Button
	passStatus                   *widget.Label
}

// ShowSettings opens the settings dialog.
func (m *Main) ShowSettings() {
	if m.opt.Account == nil {
		return
	}
	d := &settingsDialog{m: m}
	s := m.settings
	d.theme = widget.NewRadioGroup(themeChoices, nil)
	d.theme.Horizontal = true
	d.theme.Required = true
	d.theme.SetSelected(themeChoice(s.Theme))
	d.theme.OnChanged = func(c string) { d.change(func(s *app.Settings) { s.Theme = themeOf(c) }) }

	var sizes []string
	for _, c := range textScales {
		sizes = append(sizes, c.name)
	}
	d.textSize = widget.NewSelect(sizes, nil)
	d.textSize.SetSelected(scaleChoice(s.TextScale))
	d.textSize.OnChanged = func(c string) {
		for _, ts := range textScales {
			if ts.name == c {
				d.change(func(s *app.Settings) { s.TextScale = ts.scale })
			}
		}
	}

	d.notifyText = widget.NewCheck(textNotifyText, nil)
	d.notifyText.SetChecked(s.NotifyText)
	d.notifyText.OnChanged = func(on bool) { d.change(func(s *app.Settings) { s.NotifyText = on }) }
	d.notify = widget.NewCheck(textNotify, nil)
	d.notify.SetChecked(s.Notifications)
	d.notify.OnChanged = func(on bool) {
		d.change(func(s *app.Settings) {
			s.Notifications = on
			if !on {
				s.NotifyText = false
			}
		})
		d.notifyText.SetChecked(d.m.settings.NotifyText)
		d.enableNotifyText()
	}
	d.enableNotifyText()

	var locks []string
	for _, n := range app.AutoLockChoices {
		locks = append(locks, autoLockChoice(n))
	}
	d.autoLock = widget.NewSelect(locks, nil)
	d.autoLock.SetSelected(autoLockChoice(s.AutoLockMinutes))
	d.autoLock.OnChanged = func(c string) {
		for _, n := range app.AutoLockChoices {
			if autoLockChoice(n) == c {
				d.change(func(s *app.Settings) { s.AutoLockMinutes = n })
			}
		}
	}

	home := m.opt.Account.Home()
	path := widget.NewLabel(home)
	path.Wrapping = fyne.TextWrapBreak
	path.Selectable = true
	d.status = widget.NewLabel("")
	d.status.Wrapping = fyne.TextWrapWord
	d.copyPath = widget.NewButton(textCopyPath, nil)
	d.copyPath.OnTapped = func() {
		fyne.CurrentApp().Clipboard().SetContent(home)
		infoText(d.status, textCopiedPath)
	}
	d.changePass = widget.NewButton(textChangePass, d.showChangePassphrase)

	where := widget.NewLabel(textDataLives)
	where.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Theme", d.theme),
		widget.NewFormItem("Text size", d.textSize),
		widget.NewFormItem("Notifications", container.NewVBox(d.notify, d.notifyText)),
		widget.NewFormItem("Lock after", d.autoLock),
		widget.NewFormItem("Passphrase", container.NewHBox(d.changePass)),
		widget.NewFormItem("Your data", container.NewVBox(where, container.NewBorder(nil, nil, nil, d.copyPath, path))),
	)
	d.dialog = dialog.NewCustom(textSettings, "Close", sized(container.NewVBox(form, d.status), 620), m.win)
	m.settingsOpen = d
	d.dialog.Show()
}

func (d *settingsDialog) enableNotifyText() {
	if d.m.settings.Notifications {
		d.notifyText.Enable()
	} else {
		d.notifyText.Disable()
	}
}

// change applies edit to the settings, shows the result and saves it.
func (d *settingsDialog) change(edit func(s *app.Settings)) {
	s := d.m.settings
	edit(&s)
	if s == d.m.settings {
		return
	}
	if err := d.m.SetSettings(s); err != nil {
		failText(d.status, fmt.Sprintf("%s: %v", textSettingsSaveErr, err))
		return
	}
	d.status.SetText("")
}

func (d *settingsDialog) showChangePassphrase() {
	d.oldPass = widget.NewPasswordEntry()
	d.oldPass.SetPlaceHolder("Current passphrase")
	d.newPass = widget.NewPasswordEntry()
	d.newPass.SetPlaceHolder("New passphrase")
	d.repeatPass = widget.NewPasswordEntry()
	d.repeatPass.SetPlaceHolder("The new passphrase again")
	d.passStatus = widget.NewLabel("")
	d.passStatus.Wrapping = fyne.TextWrapWord
	d.passSubmit = widget.NewButton("Change", d.submitPassphrase)
	d.passSubmit.Importance = widget.HighImportance
	d.repeatPass.OnSubmitted = func(string) { d.submitPassphrase() }
	warn := widget.NewLabel("If you lose the new passphrase, nothing can recover your circles.")
	warn.Wrapping = fyne.TextWrapWord
	warn.Importance = widget.WarningImportance
	body := container.NewVBox(d.oldPass, d.newPass, d.repeatPass, warn, d.passStatus, d.passSubmit)
	dlg := dialog.NewCustom("Change passphrase", textCancel, sized(body, 380), d.m.win)
	dlg.Show()
	d.m.win.Canvas().Focus(d.oldPass)
}

func (d *settingsDialog) submitPassphrase() {
	if d.passSubmit.Disabled() {
		return
	}
	oldPass, newPass := d.oldPass.Text, d.newPass.Text
	switch {
	case utf8.RuneCountInString(newPass) < minPassphrase:
		failText(d.passStatus, textPassShort)
		return
	case newPass != d.repeatPass.Text:
		failText(d.passStatus, textPassMismatch)
		return
	}
	d.passSubmit.Disable()
	infoText(d.passStatus, "Changing the passphrase…")
	account, status, button := d.m.opt.Account, d.passStatus, d.passSubmit
	d.m.opt.Go(func() {
		err := account.ChangePassphrase([]byte(oldPass), []byte(newPass))
		d.m.opt.Do(func() {
			switch {
			case errors.Is(err, app.ErrWrongPassphrase):
				button.Enable()
				failText(status, textPassWrong)
			case err != nil:
				button.Enable()
				failText(status, fmt.Sprintf("Could not change the passphrase: %v", err))
			default:
				d.oldPass.SetText("")
				d.newPass.SetText("")
				d.repeatPass.SetText("")
				status.Importance = widget.SuccessImportance
				status.SetText(textPassChanged)
			}
		})
	})
}
