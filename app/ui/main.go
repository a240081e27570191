package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// coreTimeout bounds one call into the core made on the member's behalf.
const coreTimeout = 90 * time.Second

// Texts the member reads; tests look for them.
const (
	textNoCircles      = "You are not in a circle yet. Create one, or join with an invite code."
	textNewCircle      = "New circle"
	textJoinCircle     = "Join a circle"
	textCreate         = "Create"
	textCancel         = "Cancel"
	textNameNeeded     = "Give the circle a name."
	textNickNeeded     = "Choose a pseudonym."
	textCreatingCircle = "Creating the circle…"
)

// Main is the main window's content: the circles on the left and the chat
// view of the selected one. It reads the core's events in one goroutine
// until Close.
type Main struct {
	win  fyne.Window
	core Core
	opt  Options

	circles  []app.CircleInfo
	selected int // index in circles; -1 when none
	// unread counts the posts of others each circle has beyond its read
	// mark: the Lamport clock of the latest message the member had on
	// screen there (kept in the vault when the view closes).
	unread  map[app.CircleID]int
	marks   map[app.CircleID]uint64
	list    *widget.List
	chat    *chatView
	agree   *widget.Button // the guidelines dialog's accept, while shown
	right   *fyne.Container
	content fyne.CanvasObject
	closed  bool // UI goroutine only

	newButton, joinButton, settingsButton *widget.Button

	// The open New circle dialog, kept for tests.
	newName, newNick *widget.Entry
	newCreate        *widget.Button
	newStatus        *widget.Label
	newDialog        dialog.Dialog

	join *joinDialog

	// settings are the member's, as last applied; settingsOpen is the
	// settings dialog last opened, kept for tests.
	settings     app.Settings
	settingsOpen *settingsDialog
	// away: the app is not in the foreground, so even the circle on show
	// may notify.
	away bool

	facil facilitation // the facilitation and consent screens (facilitate.go)

	stop      func()
	done      chan struct{}
	closeOnce sync.Once
}

// NewMain builds the main view over core and starts reading its events.
// Call it on the UI goroutine.
func NewMain(win fyne.Window, core Core, opt Options) *Main {
	m := &Main{win: win, core: core, opt: opt.withDefaults(), selected: -1, done: make(chan struct{}), unread: map[app.CircleID]int{}}
	m.settings = app.DefaultSettings()
	if m.opt.Account != nil {
		// Unreadable settings fall back to the defaults; saving mends them.
		m.settings, _ = m.opt.Account.Settings()
		ApplySettings(fyne.CurrentApp(), m.settings)
	}
	if m.opt.OnSettings != nil {
		m.opt.OnSettings(m.settings)
	}
	m.list = widget.NewList(
		func() int { return len(m.circles) },
		func() fyne.CanvasObject {
			name := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			name.Truncation = fyne.TextTruncateEllipsis
			// Medium, not low: it must stay readable on the selection colour.
			online := widget.NewLabel("")
			unread := widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
			unread.Importance = widget.HighImportance
			return container.NewVBox(container.NewBorder(nil, nil, nil, unread, name), online)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(m.circles) {
				return
			}
			c := m.circles[id]
			box := o.(*fyne.Container)
			top := box.Objects[0].(*fyne.Container)
			top.Objects[0].(*widget.Label).SetText(c.Name)
			unread := top.Objects[1].(*widget.Label)
			if n := m.unread[c.ID]; n > 0 {
				unread.SetText(unreadText(n))
				unread.Show()
			} else {
				unread.Hide()
			}
			box.Objects[1].(*widget.Label).SetText(fmt.Sprintf("%d of %d online", c.Online, c.Members))
		},
	)
	m.list.OnSelected = func(id widget.ListItemID) { m.selectCircle(id) }
	m.newButton = widget.NewButton(textNewCircle, m.showNewCircle)
	m.newButton.Importance = widget.HighImportance
	m.joinButton = widget.NewButton(textJoinCircle, m.showJoin)
	m.settingsButton = widget.NewButton(textSettings, m.ShowSettings)
	if m.opt.Account == nil {
		m.settingsButton.Hide()
	}
	left := container.NewBorder(nil, container.NewVBox(m.newButton, m.joinButton, m.settingsButton), nil, nil, m.list)
	m.right = container.NewStack()
	split := container.NewHSplit(left, m.right)
	split.Offset = 0.28
	m.content = split
	win.Canvas().SetOnTypedKey(m.keys)
	lc := fyne.CurrentApp().Lifecycle()
	lc.SetOnExitedForeground(func() { m.away = true })
	lc.SetOnEnteredForeground(func() { m.away = false })
	m.loadUnread()
	m.startFacilitation()
	m.Refresh()

	events, stop := core.Subscribe()
	m.stop = stop
	go func() {
		defer close(m.done)
		for e := range events {
			m.opt.Do(func() { m.handle(e) })
		}
	}()
	return m
}

// Content is what the window shows.
func (m *Main) Content() fyne.CanvasObject { return m.content }

// Close stops reading events and waits for the reader. It is safe to call
// more than once; call it on the UI goroutine.
func (m *Main) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.closed = true
		m.win.Canvas().SetOnTypedKey(nil)
		m.stop()
		<-m.done
		if m.opt.Account != nil {
			err = m.opt.Account.SaveReadMarks(m.marks)
		}
	})
	return err
}

// unreadScan is how far back a circle's history is read to count its
// unread posts when the view opens.
const unreadScan = 100

// loadUnread counts, in each circle, the posts of others past the read
// mark kept in the vault.
func (m *Main) loadUnread() {
	m.marks = map[app.CircleID]uint64{}
	if m.opt.Account == nil {
		return
	}
	// Unreadable marks count nothing as unread; saving mends them.
	if marks, err := m.opt.Account.ReadMarks(); err == nil {
		m.marks = marks
	}
	for _, c := range m.core.Circles() {
		mark, ok := m.marks[c.ID]
		if !ok {
			continue
		}
		msgs, err := m.core.History(c.ID, "", unreadScan)
		if err != nil {
			continue
		}
		n := 0
		for _, msg := range msgs {
			if msg.Lamport > mark && !msg.Mine && msg.Kind == "post" {
				n++
			}
		}
		if n > 0 {
			m.unread[c.ID] = n
		}
	}
}

// seen moves a circle's read mark up to lamport.
func (m *Main) seen(id app.CircleID, lamport uint64) {
	if lamport > m.marks[id] {
		m.marks[id] = lamport
	}
}

// Refresh re-reads the circles and their online counts.
func (m *Main) Refresh() {
	if m.closed {
		return
	}
	var keep app.CircleID
	had := m.selected >= 0
	if had {
		keep = m.circles[m.selected].ID
	}
	m.circles = m.core.Circles()
	m.selected = -1
	for i, c := range m.circles {
		if had && c.ID == keep {
			m.selected = i
		}
	}
	m.list.Refresh()
	switch {
	case m.selected >= 0:
		// The list's own selection follows the circle to its new place.
		m.list.Select(m.selected)
		m.chat.setInfo(m.circles[m.selected])
	case len(m.circles) > 0:
		m.list.Select(0)
	default:
		m.chat = nil
		empty := widget.NewLabelWithStyle(textNoCircles, fyne.TextAlignCenter, fyne.TextStyle{})
		m.right.Objects = []fyne.CanvasObject{container.NewCenter(empty)}
		m.right.Refresh()
	}
}

func (m *Main) selectCircle(i int) {
	if i < 0 || i >= len(m.circles) {
		return
	}
	if m.selected == i && m.chat != nil {
		return
	}
	m.selected = i
	m.active()
	if m.unread[m.circles[i].ID] > 0 {
		delete(m.unread, m.circles[i].ID)
		m.list.RefreshItem(i)
	}
	m.chat = newChatView(m.win, m.core, m.opt, m.circles[i])
	m.attachFacilitation(m.chat)
	if n := len(m.chat.msgs); n > 0 {
		m.seen(m.chat.id, m.chat.msgs[n-1].Lamport)
	}
	m.right.Objects = []fyne.CanvasObject{m.chat.content}
	m.right.Refresh()
	m.chat.scrollBottom() // now that the list has its size
}

// selectID shows the circle id, if the list has it.
func (m *Main) selectID(id app.CircleID) {
	for i, c := range m.circles {
		if c.ID == id {
			m.list.Select(i)
			return
		}
	}
}

// handle applies one event from the core.
func (m *Main) handle(e app.Event) {
	if m.closed {
		return
	}
	m.facilitationEvent(e)
	if e.Kind == app.EventMessage && e.Message != nil {
		if m.chat != nil && m.chat.id == e.Circle {
			m.chat.add(*e.Message)
			m.seen(e.Circle, e.Message.Lamport)
			if m.away && !e.Message.Mine {
				m.notify(e.Circle, *e.Message)
			}
		} else if !e.Message.Mine {
			m.unread[e.Circle]++
			m.list.Refresh()
			m.notify(e.Circle, *e.Message)
		}
		return
	}
	if e.Kind == app.EventUpdated {
		if e.Message != nil && m.chat != nil && m.chat.id == e.Circle {
			m.chat.update(e.Message.ID)
		}
		return
	}
	m.Refresh()
}

// notify tells the member of a message in a circle not on show, if they
// asked for notifications. The message's words are in it only if they
// asked for that too: a notification may be read by anyone near the screen.
func (m *Main) notify(id app.CircleID, msg app.Message) {
	if !m.settings.Notifications || msg.Kind != "post" {
		return
	}
	n := fyne.NewNotification("Hearth", textNotifyPlain)
	if m.settings.NotifyText {
		name := "a circle"
		for _, c := range m.circles {
			if c.ID == id {
				name = c.Name
			}
		}
		n = fyne.NewNotification(name, msg.AuthorNick+": "+msg.Text)
	}
	m.opt.Notify(n)
}

// SetSettings applies s, saves it in the vault and tells Options.OnSettings.
func (m *Main) SetSettings(s app.Settings) error {
	if m.opt.Account == nil {
		return nil
	}
	if err := m.opt.Account.SaveSettings(s); err != nil {
		return err
	}
	m.settings = s
	ApplySettings(fyne.CurrentApp(), s)
	if m.opt.OnSettings != nil {
		m.opt.OnSettings(s)
	}
	return nil
}

// unreadText is the count shown beside a circle's name.
func unreadText(n int) string {
	if n > 99 {
		return "99+ new"
	}
	return fmt.Sprintf("%d new", n)
}

func (m *Main) showNewCircle() {
	m.newName = widget.NewEntry()
	m.newName.SetPlaceHolder("Circle name")
	m.newNick = widget.NewEntry()
	m.newNick.SetPlaceHolder("Your pseudonym in this circle")
	m.newStatus = widget.NewLabel("")
	m.newStatus.Wrapping = fyne.TextWrapWord
	m.newCreate = widget.NewButton(textCreate, m.submitNewCircle)
	m.newCreate.Importance = widget.HighImportance
	cancel := widget.NewButton(textCancel, nil)
	hint := widget.NewLabel("Members see only your pseudonym, never your name.")
	hint.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(m.newName, m.newNick, hint, m.newStatus, container.NewHBox(cancel, m.newCreate))
	d := dialog.NewCustomWithoutButtons(textNewCircle, sized(body, 360), m.win)
	cancel.OnTapped = d.Hide
	m.newNick.OnSubmitted = func(string) { m.submitNewCircle() }
	m.newDialog = d
	d.Show()
	m.win.Canvas().Focus(m.newName)
}

func (m *Main) submitNewCircle() {
	if m.newCreate.Disabled() {
		return
	}
	name, nick := strings.TrimSpace(m.newName.Text), strings.TrimSpace(m.newNick.Text)
	switch {
	case name == "":
		failText(m.newStatus, textNameNeeded)
		return
	case nick == "":
		failText(m.newStatus, textNickNeeded)
		return
	}
	m.newCreate.Disable()
	infoText(m.newStatus, textCreatingCircle)
	d, status, button := m.newDialog, m.newStatus, m.newCreate
	m.opt.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), coreTimeout)
		id, err := m.core.CreateCircle(ctx, name, nick)
		cancel()
		m.opt.Do(func() {
			if err != nil {
				button.Enable()
				failText(status, fmt.Sprintf("Could not create the circle: %v", err))
				return
			}
			d.Hide()
			m.Refresh()
			m.selectID(id)
		})
	})
}

// sized gives o a minimum width.
func sized(o fyne.CanvasObject, width float32) fyne.CanvasObject {
	r := canvas.NewRectangle(nil)
	r.SetMinSize(fyne.NewSize(width, 0))
	return container.NewStack(r, o)
}

func failText(l *widget.Label, text string) {
	l.Importance = widget.DangerImportance
	l.SetText(text)
}

func infoText(l *widget.Label, text string) {
	l.Importance = widget.MediumImportance
	l.SetText(text)
}
