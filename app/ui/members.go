package ui

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// Roster lists a circle's members.
type Roster interface {
	Members(id app.CircleID) ([]app.Member, error)
}

// Texts the member reads; tests look for them.
const (
	textMembers     = "Members"
	textOnline      = "online"
	textAway        = "away"
	textYou         = " (you)"
	textMembersFail = "Could not read the members"
)

// membersPanel lists a circle's members: pseudonym in the member's colour,
// role, and whether they are online now. Rows have one height, so the list
// lays out at once however large the circle.
type membersPanel struct {
	core    Core
	id      app.CircleID
	members []app.Member
	list    *widget.List
	heading *widget.Label
	content fyne.CanvasObject
}

func newMembersPanel(core Core, id app.CircleID) *membersPanel {
	p := &membersPanel{core: core, id: id}
	p.heading = widget.NewLabelWithStyle(textMembers, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.list = widget.NewList(
		func() int { return len(p.members) },
		func() fyne.CanvasObject {
			dot := canvas.NewCircle(color.Transparent)
			dotBox := container.NewGridWrap(fyne.NewSize(10, 10), dot)
			nick := canvas.NewText("", theme.Color(theme.ColorNameForeground))
			nick.TextStyle.Bold = true
			detail := widget.NewLabel("")
			return container.NewHBox(container.NewCenter(dotBox), container.NewCenter(nick), detail)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(p.members) {
				return
			}
			m := p.members[id]
			row := o.(*fyne.Container)
			dot := row.Objects[0].(*fyne.Container).Objects[0].(*fyne.Container).Objects[0].(*canvas.Circle)
			nick := row.Objects[1].(*fyne.Container).Objects[0].(*canvas.Text)
			detail := row.Objects[2].(*widget.Label)
			if m.Online {
				dot.FillColor = theme.Color(theme.ColorNameSuccess)
			} else {
				dot.FillColor = theme.Color(theme.ColorNameDisabled)
			}
			dot.Refresh()
			nick.Text = m.Nick
			if m.Self {
				nick.Text += textYou
			}
			nick.Color = memberColor(m.ID)
			nick.TextSize = theme.TextSize()
			nick.Refresh()
			detail.SetText(memberDetail(m))
		},
	)
	p.content = container.NewBorder(p.heading, nil, nil, nil, p.list)
	p.refresh()
	return p
}

// memberDetail is the role and presence shown after a pseudonym.
func memberDetail(m app.Member) string {
	state := textAway
	if m.Online {
		state = textOnline
	}
	return m.Role.String() + " · " + state
}

// refresh re-reads the roster.
func (p *membersPanel) refresh() {
	ms, err := p.core.Members(p.id)
	if err != nil {
		p.members = nil
		p.heading.SetText(fmt.Sprintf("%s: %v", textMembersFail, err))
		p.list.Refresh()
		return
	}
	online := 0
	for _, m := range ms {
		if m.Online {
			online++
		}
	}
	p.members = ms
	p.heading.SetText(fmt.Sprintf("%s — %d of %d online", textMembers, online, len(ms)))
	p.list.Refresh()
}
