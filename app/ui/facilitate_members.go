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
	textMembersTitle   = "Members"
	textRemove         = "Remove…"
	textRemoveTitle    = "Remove %s from the circle?"
	textRemoveExplain  = "They will read nothing posted after this, and can no longer reach the members. Everyone sees that they were removed."
	textRemoveConfirm  = "Remove"
	textMakeFacil      = "Make co-facilitator"
	textMakeMember     = "Make member again"
	textLeave          = "Leave this circle…"
	textLeaveTitle     = "Leave this circle?"
	textLeaveExplain   = "The circle's keys are destroyed on this computer: you will not be able to read it again here."
	textLeaveConfirm   = "Leave"
	textReasonHint     = "A reason, shared with the circle (optional)"
	textMemberOnline   = "online"
	textMemberOffline  = "offline"
	textMemberYou      = " (you)"
	textWaitsGuideline = "has not accepted the guidelines yet"
)

// memberRow is one member in the panel, with the facilitator's actions.
type memberRow struct {
	member app.Member
	label  *widget.Label
	remove *widget.Button // nil when not offered
	role   *widget.Button // nil when not offered
}

// memberActions lists a circle's members: pseudonym, role, online. A
// facilitator also removes members and changes their role.
type memberActions struct {
	win    fyne.Window
	core   Facilitation
	opt    Options
	info   app.CircleInfo
	onLeft func()

	rows   []*memberRow
	box    *fyne.Container
	status *widget.Label
	leave  *widget.Button
	dialog dialog.Dialog

	// The confirmation last opened, kept for tests.
	reason  *widget.Entry
	confirm *widget.Button
}

func showMembers(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo, onLeft func()) *memberActions {
	p := &memberActions{win: win, core: core, opt: opt, info: info, onLeft: onLeft}
	p.box = container.NewVBox()
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	p.leave = widget.NewButton(textLeave, p.confirmLeave)
	p.leave.Importance = widget.DangerImportance
	p.reload()
	scroll := container.NewVScroll(p.box)
	scroll.SetMinSize(fyne.NewSize(520, 300))
	body := container.NewBorder(nil, container.NewVBox(p.status, container.NewHBox(p.leave)), nil, nil, scroll)
	p.dialog = dialog.NewCustom(textMembersTitle+" — "+info.Name, "Close", body, win)
	p.dialog.Show()
	return p
}

// reload reads the roster again.
func (p *memberActions) reload() {
	ms, err := p.core.Members(p.info.ID)
	if err != nil {
		failText(p.status, "Could not read the members: "+err.Error())
		return
	}
	facilitator := false
	for _, m := range ms {
		if m.Self {
			facilitator = m.Role == app.RoleFacilitator
		}
	}
	p.rows = nil
	p.box.Objects = nil
	for _, m := range ms {
		r := &memberRow{member: m}
		r.label = widget.NewLabel(memberLine(m))
		r.label.Wrapping = fyne.TextWrapWord
		actions := container.NewHBox()
		if facilitator && !m.Self && m.Role != app.RoleMailbox {
			r.remove = widget.NewButton(textRemove, func() { p.confirmRemove(m) })
			r.remove.Importance = widget.DangerImportance
			to, text := app.RoleFacilitator, textMakeFacil
			if m.Role == app.RoleFacilitator {
				to, text = app.RoleMember, textMakeMember
			}
			r.role = widget.NewButton(text, func() { p.setRole(m, to) })
			actions.Add(r.role)
			actions.Add(r.remove)
		}
		p.rows = append(p.rows, r)
		p.box.Add(container.NewBorder(nil, nil, nil, actions, r.label))
	}
	p.box.Refresh()
}

// memberLine is a member as the panel shows it.
func memberLine(m app.Member) string {
	name := m.Nick
	if m.Self {
		name += textMemberYou
	}
	state := textMemberOffline
	if m.Online {
		state = textMemberOnline
	}
	line := fmt.Sprintf("%s — %s, %s", name, roleText(m.Role), state)
	if !m.AcceptedGuidelines {
		line += "; " + textWaitsGuideline
	}
	return line
}

func roleText(r app.Role) string {
	switch r {
	case app.RoleFacilitator:
		return "facilitator"
	case app.RoleMailbox:
		return "mailbox (holds no readable messages)"
	}
	return "member"
}

func (p *memberActions) row(id app.MemberID) *memberRow {
	for _, r := range p.rows {
		if r.member.ID == id {
			return r
		}
	}
	return nil
}

func (p *memberActions) confirmRemove(m app.Member) {
	p.reason = widget.NewEntry()
	p.reason.SetPlaceHolder(textReasonHint)
	explain := widget.NewLabel(textRemoveExplain)
	explain.Wrapping = fyne.TextWrapWord
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	p.confirm = widget.NewButton(textRemoveConfirm, nil)
	p.confirm.Importance = widget.DangerImportance
	cancel := widget.NewButton(textCancel, nil)
	body := container.NewVBox(explain, p.reason, status, container.NewHBox(cancel, p.confirm))
	d := dialog.NewCustomWithoutButtons(fmt.Sprintf(textRemoveTitle, m.Nick), sized(body, 420), p.win)
	cancel.OnTapped = d.Hide
	confirm := p.confirm
	confirm.OnTapped = func() {
		confirm.Disable()
		reason := strings.TrimSpace(p.reason.Text)
		call(p.opt, func(ctx context.Context) error { return p.core.Remove(ctx, p.info.ID, m.ID, reason) }, func(err error) {
			if err != nil {
				confirm.Enable()
				failText(status, "Could not remove: "+err.Error())
				return
			}
			d.Hide()
			infoText(p.status, m.Nick+" was removed; the circle's keys were renewed.")
			p.reload()
		})
	}
	d.Show()
	p.win.Canvas().Focus(p.reason)
}

func (p *memberActions) setRole(m app.Member, to app.Role) {
	call(p.opt, func(ctx context.Context) error { return p.core.SetRole(ctx, p.info.ID, m.ID, to) }, func(err error) {
		if err != nil {
			failText(p.status, "Could not change the role: "+err.Error())
			return
		}
		infoText(p.status, m.Nick+" is now a "+roleText(to)+".")
		p.reload()
	})
}

func (p *memberActions) confirmLeave() {
	p.confirm = confirmLeave(p.win, p.core, p.opt, p.info, func() {
		p.dialog.Hide()
		if p.onLeft != nil {
			p.onLeft()
		}
	})
}

// confirmLeave asks once, then leaves the circle and runs done.
func confirmLeave(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo, done func()) *widget.Button {
	explain := widget.NewLabel(textLeaveExplain)
	explain.Wrapping = fyne.TextWrapWord
	status := widget.NewLabel("")
	status.Wrapping = fyne.TextWrapWord
	leave := widget.NewButton(textLeaveConfirm, nil)
	leave.Importance = widget.DangerImportance
	cancel := widget.NewButton(textCancel, nil)
	d := dialog.NewCustomWithoutButtons(textLeaveTitle, sized(container.NewVBox(explain, status, container.NewHBox(cancel, leave)), 420), win)
	cancel.OnTapped = d.Hide
	leave.OnTapped = func() {
		leave.Disable()
		call(opt, func(ctx context.Context) error { return core.Leave(ctx, info.ID) }, func(err error) {
			if err != nil {
				leave.Enable()
				failText(status, "Could not leave: "+err.Error())
				return
			}
			d.Hide()
			done()
		})
	}
	d.Show()
	return leave
}

// showNotice tells the member something plainly, with one button.
func showNotice(win fyne.Window, text string) {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	dialog.NewCustom("Hearth", "OK", sized(l, 400), win).Show()
}
