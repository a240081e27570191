package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// Texts the member reads; tests look for them.
const (
	textEditorTitle    = "Edit the circle's guidelines"
	textEditorIntro    = "Every member reads and accepts the new version before posting again. Markdown works: # headings, - lists, *emphasis*."
	textEditorSave     = "Publish new version"
	textEditorSaved    = "Published. Members accept it before they post again."
	textSettingsTitle  = "Circle settings"
	textRetention      = "Disappearing messages"
	textRetentionHelp  = "Every member's copy forgets messages this long after they arrive, and the keys of old messages are destroyed. The circle is told."
	textRetentionOnly  = "Only a facilitator can change this."
	textDanger         = "Danger area"
	textPanicWipe      = "Panic wipe…"
	textPanicTitle     = "Destroy everything in Hearth on this computer?"
	textPanicExplain   = "Every circle, every message and every key in this vault is destroyed at once. Nothing can be recovered, not even with your passphrase. (Ctrl+Shift+Delete does this from any screen.)"
	textPanicConfirm   = "Destroy now"
	textRetentionSaved = "The circle was told."
)

// retentionChoices are the retention settings in words, in the order of
// app.RetentionChoices.
var retentionChoices = []string{"Keep messages", "1 day", "7 days", "30 days", "90 days"}

func retentionText(days int) string {
	for i, d := range app.RetentionChoices {
		if d == days {
			return retentionChoices[i]
		}
	}
	return fmt.Sprintf("%d days", days)
}

func retentionDays(choice string) int {
	for i, c := range retentionChoices {
		if c == choice {
			return app.RetentionChoices[i]
		}
	}
	return 0
}

// guidelinesEditor is a facilitator's editor of the circle's guidelines.
type guidelinesEditor struct {
	text    *widget.Entry
	publish *widget.Button
	status  *widget.Label
	version *widget.Label
}

func showGuidelinesEditor(win fyne.Window, core Facilitation, opt Options, id app.CircleID) *guidelinesEditor {
	e := &guidelinesEditor{text: widget.NewMultiLineEntry(), status: widget.NewLabel(""), version: widget.NewLabel("")}
	e.text.Wrapping = fyne.TextWrapWord
	e.text.SetMinRowsVisible(14)
	e.status.Wrapping = fyne.TextWrapWord
	g, err := core.Guidelines(id)
	if err != nil {
		failText(e.status, "Could not read the guidelines: "+err.Error())
	} else {
		e.text.SetText(g.Text)
		e.version.SetText(fmt.Sprintf("Version %d", g.Version))
	}
	intro := widget.NewLabel(textEditorIntro)
	intro.Wrapping = fyne.TextWrapWord
	e.publish = widget.NewButton(textEditorSave, nil)
	e.publish.Importance = widget.HighImportance
	body := container.NewBorder(container.NewVBox(intro, e.version), container.NewVBox(e.status, container.NewHBox(e.publish)), nil, nil, e.text)
	d := dialog.NewCustom(textEditorTitle, "Close", sized(body, 560), win)
	e.publish.OnTapped = func() {
		text := e.text.Text
		if strings.TrimSpace(text) == "" {
			failText(e.status, "The guidelines cannot be empty.")
			return
		}
		e.publish.Disable()
		call(opt, func(ctx context.Context) error { return core.SetGuidelines(ctx, id, text) }, func(err error) {
			e.publish.Enable()
			if err != nil {
				failText(e.status, "Could not publish: "+err.Error())
				return
			}
			if g, err := core.Guidelines(id); err == nil {
				e.version.SetText(fmt.Sprintf("Version %d", g.Version))
			}
			infoText(e.status, textEditorSaved)
		})
	}
	d.Resize(fyne.NewSize(620, 560))
	d.Show()
	return e
}

// circleSettings holds the circle's retention (facilitators change it),
// leaving the circle, and the panic wipe.
type circleSettings struct {
	retention *widget.Select
	status    *widget.Label
	leave     *widget.Button
	wipe      *widget.Button // nil without a wipe hook
	dialog    dialog.Dialog

	confirm *widget.Button // the confirmation last opened
}

func showCircleSettings(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo, onLeft func(), wipe func() error) *circleSettings {
	s := &circleSettings{status: widget.NewLabel("")}
	s.status.Wrapping = fyne.TextWrapWord
	s.retention = widget.NewSelect(retentionChoices, nil)
	s.retention.SetSelected(retentionText(info.RetentionDays))
	current := s.retention.Selected
	s.retention.OnChanged = func(choice string) {
		if choice == current {
			return
		}
		days := retentionDays(choice)
		s.retention.Disable()
		call(opt, func(ctx context.Context) error { return core.SetRetention(ctx, info.ID, days) }, func(err error) {
			s.retention.Enable()
			if err != nil {
				failText(s.status, "Could not change it: "+err.Error())
				s.retention.SetSelected(current)
				return
			}
			current = choice
			infoText(s.status, textRetentionSaved)
		})
	}
	help := widget.NewLabel(textRetentionHelp)
	help.Wrapping = fyne.TextWrapWord
	if info.Role != app.RoleFacilitator {
		s.retention.Disable()
		help.SetText(textRetentionHelp + " " + textRetentionOnly)
	}
	heading := func(t string) *widget.Label {
		return widget.NewLabelWithStyle(t, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	box := container.NewVBox(heading(textRetention), help, s.retention, s.status, widget.NewSeparator(), heading(textDanger))
	s.leave = widget.NewButton(textLeave, func() {
		s.confirm = confirmLeave(win, core, opt, info, func() {
			s.dialog.Hide()
			if onLeft != nil {
				onLeft()
			}
		})
	})
	s.leave.Importance = widget.DangerImportance
	row := container.NewHBox(s.leave)
	if wipe != nil {
		s.wipe = widget.NewButton(textPanicWipe, func() {
			p := ShowPanicWipe(win, func() error {
				s.dialog.Hide()
				return wipe()
			})
			s.confirm = p.confirm
		})
		s.wipe.Importance = widget.DangerImportance
		row.Add(s.wipe)
	}
	box.Add(row)
	s.dialog = dialog.NewCustom(textSettingsTitle+" — "+info.Name, "Close", sized(box, 460), win)
	s.dialog.Show()
	return s
}

// PanicWipe is the one confirmation before a panic wipe.
type PanicWipe struct {
	confirm *widget.Button
	status  *widget.Label
}

// ShowPanicWipe asks once, then runs wipe, which destroys the vault and
// shows the first-run screen.
func ShowPanicWipe(win fyne.Window, wipe func() error) *PanicWipe {
	p := &PanicWipe{status: widget.NewLabel("")}
	p.status.Wrapping = fyne.TextWrapWord
	explain := widget.NewLabel(textPanicExplain)
	explain.Wrapping = fyne.TextWrapWord
	p.confirm = widget.NewButton(textPanicConfirm, nil)
	p.confirm.Importance = widget.DangerImportance
	cancel := widget.NewButton(textCancel, nil)
	d := dialog.NewCustomWithoutButtons(textPanicTitle, sized(container.NewVBox(explain, p.status, container.NewHBox(cancel, p.confirm)), 440), win)
	cancel.OnTapped = d.Hide
	p.confirm.OnTapped = func() {
		p.confirm.Disable()
		d.Hide()
		if err := wipe(); err != nil {
			showNotice(win, "The wipe did not finish: "+err.Error())
		}
	}
	d.Show()
	win.Canvas().Focus(cancel)
	return p
}

// showGuidelinesRead shows the guidelines this member already accepted.
func showGuidelinesRead(win fyne.Window, core Facilitation, id app.CircleID) {
	g, err := core.Guidelines(id)
	if err != nil {
		showNotice(win, "Could not read the guidelines: "+err.Error())
		return
	}
	text := widget.NewRichTextFromMarkdown(g.Text)
	text.Wrapping = fyne.TextWrapWord
	scroll := container.NewVScroll(text)
	scroll.SetMinSize(fyne.NewSize(480, 320))
	note := widget.NewLabel(fmt.Sprintf("Version %d, which you accepted.", g.Version))
	dialog.NewCustom(textGuidelinesTitle, "Close", container.NewBorder(note, nil, nil, nil, scroll), win).Show()
}
