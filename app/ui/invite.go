package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/hearth-circles/hearth/app"
)

// Texts the member reads; tests look for them.
const (
	textInviteTitle   = "Invite someone"
	textMakeCode      = "Make code"
	textCopy          = "Copy"
	textCopied        = "Copied"
	textClose         = "Close"
	textJoin          = "Join"
	textJoining       = "Contacting the circle…"
	textTypo          = "This code has a typo"
	textExpired       = "This code has expired"
	textSpent         = "This code has already been used"
	textUnreachable   = "Could not reach the circle"
	textWithdrawn     = "This code is no longer valid"
	textNewerVersion  = "This code is from a newer version of Hearth"
	textAlreadyMember = "You are already in this circle"
	textNotOnline     = "Hearth is not online yet; try again in a moment"
	textRefused       = "The circle did not let you in"
	textCodeNeeded    = "Paste the invite code you were given."
)

// expiryChoices are the lifetimes an invite may have.
var expiryChoices = []struct {
	label string
	d     time.Duration
}{
	{"1 hour", time.Hour},
	{"1 day", 24 * time.Hour},
	{"1 week", 7 * 24 * time.Hour},
}

var usesChoices = []string{"1", "2", "5", "10"}

// inviteDialog issues an invite code and shows it as text and QR code.
type inviteDialog struct {
	expiry, uses *widget.Select
	make         *widget.Button
	code         *widget.Entry
	copy         *widget.Button
	qr           *canvas.Image
	status       *widget.Label
	dialog       dialog.Dialog
}

func showInvite(win fyne.Window, core Core, opt Options, id app.CircleID) *inviteDialog {
	d := &inviteDialog{}
	var labels []string
	for _, e := range expiryChoices {
		labels = append(labels, e.label)
	}
	d.expiry = widget.NewSelect(labels, nil)
	d.expiry.SetSelected(expiryChoices[1].label)
	d.uses = widget.NewSelect(usesChoices, nil)
	d.uses.SetSelected(usesChoices[0])
	d.code = widget.NewMultiLineEntry()
	d.code.Wrapping = fyne.TextWrapBreak
	d.code.SetMinRowsVisible(5)
	d.code.Hide()
	d.qr = canvas.NewImageFromResource(nil)
	d.qr.FillMode = canvas.ImageFillContain
	d.qr.SetMinSize(fyne.NewSize(180, 180))
	d.qr.Hide()
	d.status = widget.NewLabel("")
	d.status.Wrapping = fyne.TextWrapWord
	d.copy = widget.NewButton(textCopy, func() {
		win.Clipboard().SetContent(d.code.Text)
		d.copy.SetText(textCopied)
	})
	d.copy.Hide()
	closeButton := widget.NewButton(textClose, nil)
	d.make = widget.NewButton(textMakeCode, func() {
		d.make.Disable()
		infoText(d.status, "Making the code…")
		expires, uses := d.expiryValue(), d.usesValue()
		opt.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), coreTimeout)
			code, err := core.Invite(ctx, id, app.InviteOptions{Expires: expires, Uses: uses})
			cancel()
			opt.Do(func() { d.made(code, err) })
		})
	})
	d.make.Importance = widget.HighImportance
	hint := widget.NewLabel("Give the code to one person through a channel you trust. Anyone holding it can join.")
	hint.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(widget.NewFormItem("Valid for", d.expiry), widget.NewFormItem("Uses", d.uses))
	body := container.NewVBox(hint, form, d.make, d.status, d.code, container.NewCenter(d.qr),
		container.NewHBox(d.copy, closeButton))
	d.dialog = dialog.NewCustomWithoutButtons(textInviteTitle, sized(body, 420), win)
	closeButton.OnTapped = d.dialog.Hide
	d.dialog.Show()
	return d
}

func (d *inviteDialog) expiryValue() time.Duration {
	for _, e := range expiryChoices {
		if e.label == d.expiry.Selected {
			return e.d
		}
	}
	return 24 * time.Hour
}

func (d *inviteDialog) usesValue() int {
	n := 1
	fmt.Sscan(d.uses.Selected, &n)
	return n
}

func (d *inviteDialog) made(code string, err error) {
	if err != nil {
		d.make.Enable()
		failText(d.status, fmt.Sprintf("Could not make a code: %v", err))
		return
	}
	d.status.SetText("")
	d.code.SetText(code)
	d.code.Show()
	d.copy.Show()
	if png, err := qrcode.Encode(code, qrcode.Medium, 512); err == nil {
		d.qr.Resource = fyne.NewStaticResource("invite.png", png)
		d.qr.Show()
		d.qr.Refresh()
	}
}

// joinDialog takes an invite code and a pseudonym.
type joinDialog struct {
	code, nick *widget.Entry
	join       *widget.Button
	progress   *widget.ProgressBarInfinite
	status     *widget.Label
	dialog     dialog.Dialog
}

func (m *Main) showJoin() {
	d := &joinDialog{}
	d.code = widget.NewEntry()
	d.code.SetPlaceHolder("Invite code")
	d.nick = widget.NewEntry()
	d.nick.SetPlaceHolder("Your pseudonym in this circle")
	d.progress = widget.NewProgressBarInfinite()
	d.progress.Stop()
	d.progress.Hide()
	d.status = widget.NewLabel("")
	d.status.Wrapping = fyne.TextWrapWord
	cancel := widget.NewButton(textCancel, nil)
	d.join = widget.NewButton(textJoin, func() { m.submitJoin(d) })
	d.join.Importance = widget.HighImportance
	d.code.OnSubmitted = func(string) { m.win.Canvas().Focus(d.nick) }
	d.nick.OnSubmitted = func(string) { m.submitJoin(d) }
	body := container.NewVBox(d.code, d.nick, d.progress, d.status, container.NewHBox(cancel, d.join))
	d.dialog = dialog.NewCustomWithoutButtons(textJoinCircle, sized(body, 420), m.win)
	cancel.OnTapped = d.dialog.Hide
	m.join = d
	d.dialog.Show()
	m.win.Canvas().Focus(d.code)
}

func (m *Main) submitJoin(d *joinDialog) {
	if d.join.Disabled() {
		return
	}
	code, nick := strings.TrimSpace(d.code.Text), strings.TrimSpace(d.nick.Text)
	switch {
	case code == "":
		failText(d.status, textCodeNeeded)
		return
	case nick == "":
		failText(d.status, textNickNeeded)
		return
	}
	d.join.Disable()
	infoText(d.status, textJoining)
	d.progress.Show()
	d.progress.Start()
	m.opt.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), coreTimeout)
		id, err := m.core.Join(ctx, code, nick)
		cancel()
		m.opt.Do(func() {
			d.progress.Stop()
			d.progress.Hide()
			if err != nil {
				d.join.Enable()
				failText(d.status, joinErrorText(err))
				return
			}
			d.dialog.Hide()
			m.Refresh()
			m.selectID(id)
			m.agree = showGuidelines(m.win, m.core, m.opt, id, nil)
		})
	})
}

// joinErrorText is what the member reads when a join fails.
func joinErrorText(err error) string {
	switch {
	case errors.Is(err, app.ErrInviteChecksum), errors.Is(err, app.ErrInviteMalformed):
		return textTypo
	case errors.Is(err, app.ErrInviteExpired):
		return textExpired
	case errors.Is(err, app.ErrInviteSpent):
		return textSpent
	case errors.Is(err, app.ErrUnreachable):
		return textUnreachable
	case errors.Is(err, app.ErrInviteUnknown):
		return textWithdrawn
	case errors.Is(err, app.ErrInviteVersion):
		return textNewerVersion
	case errors.Is(err, app.ErrAlreadyMember):
		return textAlreadyMember
	case errors.Is(err, app.ErrOffline):
		return textNotOnline
	case errors.Is(err, app.ErrJoinRefused):
		return textRefused
	}
	return fmt.Sprintf("Could not join: %v", err)
}
