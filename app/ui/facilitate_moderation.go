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
	textPostActions   = "…"
	textActionsTitle  = "This post"
	textHideAll       = "Hide for everyone…"
	textHideExplain   = "The post is hidden for every member and left out of every welcome pack. Members see that a facilitator hid it, and why."
	textHideConfirm   = "Hide"
	textHiddenBy      = "hidden by a facilitator"
	textReportPost    = "Report to facilitators…"
	textReportExplain = "Only the circle's facilitators can read your report. The author is not told who reported."
	textReportConfirm = "Send report"
	textReportHint    = "What troubles you about this post"
	textReportSent    = "Your report went to the facilitators."
	textRetract       = "Withdraw this post…"
	textRetractTitle  = "Withdraw this post?"
	textRetractText   = "It disappears for every member and from every welcome pack."
	textRetractOK     = "Withdraw"
	textNarrow        = "Narrow who can see it…"
	textNarrowTitle   = "Who may see this post"
	textNarrowOK      = "Narrow"
	textReportsTitle  = "Reports"
	textNoReports     = "No reports. Members can report a post to you privately."
	textReasonNeeded  = "Give a reason."
)

// hiddenText is what the history shows of a post a facilitator hid.
func hiddenText(msg app.Message) string {
	if msg.HiddenReason == "" {
		return textHiddenBy
	}
	return textHiddenBy + ": " + msg.HiddenReason
}

// postActions is the dialog of what this member may do with one post:
// facilitators hide it, members report it, its author withdraws it or
// narrows who may see it.
type postActions struct {
	msg     app.Message
	dialog  dialog.Dialog
	hide    *widget.Button // nil when not offered
	report  *widget.Button
	retract *widget.Button
	narrow  *widget.Button

	// The step last opened, kept for tests.
	reason  *widget.Entry
	scopes  *widget.RadioGroup
	confirm *widget.Button
	status  *widget.Label
}

// showPostActions opens the actions on msg, or nothing when there are none.
func showPostActions(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo, msg app.Message, done func()) *postActions {
	if msg.Kind != "post" && msg.Kind != "resource" {
		return nil
	}
	a := &postActions{msg: msg, status: widget.NewLabel("")}
	a.status.Wrapping = fyne.TextWrapWord
	box := container.NewVBox()
	if info.Role == app.RoleFacilitator {
		a.hide = widget.NewButton(textHideAll, func() { a.askHide(win, core, opt, info, done) })
		box.Add(a.hide)
	}
	if !msg.Mine {
		a.report = widget.NewButton(textReportPost, func() { a.askReport(win, core, opt, info) })
		box.Add(a.report)
	}
	if msg.Mine {
		a.retract = widget.NewButton(textRetract, func() { a.askRetract(win, core, opt, info, done) })
		box.Add(a.retract)
		a.narrow = widget.NewButton(textNarrow, func() { a.askNarrow(win, core, opt, info, done) })
		if msg.Scope == app.ScopeCircle {
			a.narrow.Disable() // already the narrowest
		}
		box.Add(a.narrow)
	}
	box.Add(a.status)
	preview := widget.NewLabel(postPreview(msg))
	preview.Wrapping = fyne.TextWrapWord
	a.dialog = dialog.NewCustom(textActionsTitle, "Close", sized(container.NewVBox(preview, box), 420), win)
	a.dialog.Show()
	return a
}

func postPreview(msg app.Message) string {
	text := msg.Text
	if msg.ContentWarning != "" {
		text = "Content warning: " + msg.ContentWarning
	}
	if r := []rune(text); len(r) > 120 {
		text = string(r[:120]) + "…"
	}
	return msg.AuthorNick + ": " + text
}

// askText opens a step that takes a text and confirms; run gets the text.
func (a *postActions) askText(win fyne.Window, opt Options, title, explain, hint, ok string, needed bool, run func(ctx context.Context, text string) error, after func()) {
	a.reason = widget.NewMultiLineEntry()
	a.reason.SetPlaceHolder(hint)
	a.reason.SetMinRowsVisible(3)
	l := widget.NewLabel(explain)
	l.Wrapping = fyne.TextWrapWord
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	a.confirm = widget.NewButton(ok, nil)
	a.confirm.Importance = widget.HighImportance
	cancel := widget.NewButton(textCancel, nil)
	d := dialog.NewCustomWithoutButtons(title, sized(container.NewVBox(l, a.reason, status, container.NewHBox(cancel, a.confirm)), 440), win)
	cancel.OnTapped = d.Hide
	confirm, reason := a.confirm, a.reason
	confirm.OnTapped = func() {
		text := strings.TrimSpace(reason.Text)
		if needed && text == "" {
			failText(status, textReasonNeeded)
			return
		}
		confirm.Disable()
		call(opt, func(ctx context.Context) error { return run(ctx, text) }, func(err error) {
			if err != nil {
				confirm.Enable()
				failText(status, err.Error())
				return
			}
			d.Hide()
			after()
		})
	}
	d.Show()
	win.Canvas().Focus(a.reason)
}

func (a *postActions) askHide(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo, done func()) {
	a.askText(win, opt, textHideAll, textHideExplain, "The reason members will see", textHideConfirm, true,
		func(ctx context.Context, reason string) error { return core.Hide(ctx, info.ID, a.msg.ID, reason) },
		func() {
			if a.dialog != nil {
				a.dialog.Hide()
			}
			done()
		})
}

func (a *postActions) askReport(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo) {
	a.askText(win, opt, textReportPost, textReportExplain, textReportHint, textReportConfirm, true,
		func(ctx context.Context, text string) error { return core.Report(ctx, info.ID, a.msg.ID, text) },
		func() { infoText(a.status, textReportSent) })
}

func (a *postActions) askRetract(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo, done func()) {
	a.confirm = widget.NewButton(textRetractOK, nil)
	a.confirm.Importance = widget.DangerImportance
	l := widget.NewLabel(textRetractText)
	l.Wrapping = fyne.TextWrapWord
	cancel := widget.NewButton(textCancel, nil)
	d := dialog.NewCustomWithoutButtons(textRetractTitle, sized(container.NewVBox(l, container.NewHBox(cancel, a.confirm)), 400), win)
	cancel.OnTapped = d.Hide
	confirm := a.confirm
	confirm.OnTapped = func() {
		confirm.Disable()
		call(opt, func(ctx context.Context) error { return core.Retract(ctx, info.ID, a.msg.ID) }, func(err error) {
			d.Hide()
			if err != nil {
				failText(a.status, "Could not withdraw: "+err.Error())
				return
			}
			a.dialog.Hide()
			done()
		})
	}
	d.Show()
}

// narrowerChoices are the scopes narrower than s, in the composer's words.
func narrowerChoices(s app.Scope) []string {
	switch s {
	case app.ScopeResource:
		return []string{textScopeFuture, textScopeCircle}
	case app.ScopeFuture:
		return []string{textScopeCircle}
	}
	return nil
}

func (a *postActions) askNarrow(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo, done func()) {
	choices := narrowerChoices(a.msg.Scope)
	if len(choices) == 0 {
		return
	}
	a.scopes = widget.NewRadioGroup(choices, nil)
	a.scopes.SetSelected(choices[len(choices)-1])
	a.confirm = widget.NewButton(textNarrowOK, nil)
	a.confirm.Importance = widget.HighImportance
	l := widget.NewLabel("You can only narrow who may see a post, never widen it again.")
	l.Wrapping = fyne.TextWrapWord
	status := widget.NewLabel("")
	cancel := widget.NewButton(textCancel, nil)
	d := dialog.NewCustomWithoutButtons(textNarrowTitle, sized(container.NewVBox(l, a.scopes, status, container.NewHBox(cancel, a.confirm)), 400), win)
	cancel.OnTapped = d.Hide
	confirm, scopes := a.confirm, a.scopes
	confirm.OnTapped = func() {
		scope := scopeOf(scopes.Selected)
		confirm.Disable()
		call(opt, func(ctx context.Context) error { return core.NarrowScope(ctx, info.ID, a.msg.ID, scope) }, func(err error) {
			if err != nil {
				confirm.Enable()
				failText(status, err.Error())
				return
			}
			d.Hide()
			a.dialog.Hide()
			done()
		})
	}
	d.Show()
}

// reportsView lists the reports members sent this facilitator.
type reportsView struct {
	win  fyne.Window
	core Facilitation
	opt  Options
	info app.CircleInfo

	reports []app.ReportInfo
	box     *fyne.Container
	status  *widget.Label
	hides   []*widget.Button // one per report
}

func showReports(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo) *reportsView {
	v := &reportsView{win: win, core: core, opt: opt, info: info, box: container.NewVBox(), status: widget.NewLabel("")}
	v.status.Wrapping = fyne.TextWrapWord
	v.reload()
	scroll := container.NewVScroll(v.box)
	scroll.SetMinSize(fyne.NewSize(520, 320))
	intro := widget.NewLabel("Members' private reports, sealed to the facilitators alone.")
	intro.Wrapping = fyne.TextWrapWord
	dialog.NewCustom(textReportsTitle+" — "+info.Name, "Close", container.NewBorder(intro, v.status, nil, nil, scroll), win).Show()
	return v
}

func (v *reportsView) reload() {
	rs, err := v.core.Reports(v.info.ID)
	if err != nil {
		failText(v.status, "Could not read the reports: "+err.Error())
		return
	}
	v.reports, v.hides = rs, nil
	v.box.Objects = nil
	if len(rs) == 0 {
		l := widget.NewLabel(textNoReports)
		l.Wrapping = fyne.TextWrapWord
		v.box.Add(l)
	}
	for _, r := range rs {
		from := r.FromNick
		if from == "" {
			from = "a former member"
		}
		l := widget.NewLabel(fmt.Sprintf("%s, %s, about post %s:\n%s", from, r.SentAt.Local().Format("Jan 2 15:04"), shortID(r.Target), r.Text))
		l.Wrapping = fyne.TextWrapWord
		target := r.Target
		hide := widget.NewButton(textHideAll, nil)
		hide.OnTapped = func() {
			a := &postActions{msg: app.Message{ID: target}, status: v.status}
			a.askHide(v.win, v.core, v.opt, v.info, func() { infoText(v.status, "The post is hidden for everyone.") })
		}
		v.hides = append(v.hides, hide)
		v.box.Add(container.NewBorder(nil, nil, nil, hide, l))
	}
	v.box.Refresh()
}

// shortID is the tail of a message id, enough to tell posts apart.
func shortID(id string) string {
	if len(id) > 10 {
		return "…" + id[len(id)-10:]
	}
	return id
}
