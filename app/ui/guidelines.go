package ui

import (
	"context"
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// Agreements shows a circle's guidelines and takes a member's acceptance.
type Agreements interface {
	Guidelines(id app.CircleID) (app.Guidelines, error)
	AcceptGuidelines(ctx context.Context, id app.CircleID) error
}

const (
	textGuidelinesTitle = "The circle's guidelines"
	textGuidelinesIntro = "Please read the agreements this circle keeps. You can read the circle now; you can post once you accept them."
	textAccept          = "I accept"
	textNotNow          = "Not now"
)

// showGuidelines asks the member to read and accept a circle's guidelines,
// if it has not accepted the current version; then runs done (on the UI
// goroutine) with whether it accepted. It returns the dialog's accept
// button, or nil when there was nothing to accept.
func showGuidelines(win fyne.Window, core Core, opt Options, id app.CircleID, done func(accepted bool)) *widget.Button {
	g, err := core.Guidelines(id)
	if err != nil || g.Accepted {
		if done != nil {
			done(err == nil)
		}
		return nil
	}
	text := widget.NewRichTextFromMarkdown(g.Text)
	text.Wrapping = fyne.TextWrapWord
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	intro := widget.NewLabel(textGuidelinesIntro)
	intro.Wrapping = fyne.TextWrapWord
	scroll := container.NewVScroll(text)
	scroll.SetMinSize(fyne.NewSize(480, 300))
	accept := widget.NewButton(textAccept, nil)
	accept.Importance = widget.HighImportance
	notNow := widget.NewButton(textNotNow, nil)
	body := container.NewBorder(intro, container.NewVBox(status, container.NewHBox(notNow, accept)), nil, nil, scroll)
	d := dialog.NewCustomWithoutButtons(textGuidelinesTitle, body, win)
	notNow.OnTapped = func() {
		d.Hide()
		if done != nil {
			done(false)
		}
	}
	accept.OnTapped = func() {
		accept.Disable()
		opt.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), coreTimeout)
			err := core.AcceptGuidelines(ctx, id)
			cancel()
			opt.Do(func() {
				if err != nil {
					accept.Enable()
					failText(status, "Could not accept: "+err.Error())
					return
				}
				d.Hide()
				if done != nil {
					done(true)
				}
			})
		})
	}
	d.Show()
	return accept
}

// needsGuidelines reports whether a failed post waits for the guidelines.
func needsGuidelines(err error) bool { return errors.Is(err, app.ErrGuidelines) }
