package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// Facilitation is what the facilitation and consent screens need from the
// core: roles and removal, guidelines, moderation, events, retention,
// insights, the library and welcome packs.
type Facilitation interface {
	Members(id app.CircleID) ([]app.Member, error)
	Remove(ctx context.Context, id app.CircleID, member app.MemberID, reason string) error
	Leave(ctx context.Context, id app.CircleID) error
	SetRole(ctx context.Context, id app.CircleID, member app.MemberID, role app.Role) error
	Guidelines(id app.CircleID) (app.Guidelines, error)
	SetGuidelines(ctx context.Context, id app.CircleID, text string) error
	Hide(ctx context.Context, id app.CircleID, target, reason string) error
	Report(ctx context.Context, id app.CircleID, target, text string) error
	Reports(id app.CircleID) ([]app.ReportInfo, error)
	Retract(ctx context.Context, id app.CircleID, target string) error
	NarrowScope(ctx context.Context, id app.CircleID, target string, scope app.Scope) error
	ScheduleEvent(ctx context.Context, id app.CircleID, opt app.EventOptions) (string, error)
	RSVP(ctx context.Context, id app.CircleID, event, answer string) error
	Events(id app.CircleID) ([]app.EventInfo, error)
	EventICS(id app.CircleID, event string) ([]byte, error)
	SetRetention(ctx context.Context, id app.CircleID, days int) error
	Insights(id app.CircleID) (app.Insights, error)
	AddResource(ctx context.Context, id app.CircleID, opt app.ResourceOptions) (string, error)
	Library(id app.CircleID) ([]app.Resource, error)
	ExportPack(id app.CircleID, passphrase []byte) ([]byte, error)
	ImportPack(file, passphrase []byte) (app.PackImport, error)
	Packs() ([]app.PackInfo, error)
	PackLibrary(id app.CircleID) (*app.Pack, error)
}

var _ Facilitation = (*app.Hearth)(nil)

// Texts the member reads; tests look for them.
const (
	textCircleMenu    = "Circle"
	textMembersItem   = "Members…"
	textGuidelineItem = "Guidelines…"
	textEventsItem    = "Events…"
	textLibraryItem   = "Library and welcome packs…"
	textReportsItem   = "Reports…"
	textInsightsItem  = "Insights…"
	textSettingsItem  = "Circle settings…"
	textOpenPackItem  = "Open a welcome pack…"
	textCloseDialog   = "Close the dialog on show"
	textLatestPost    = "Actions on the latest post…"
	textScheduleItem  = "Schedule a session…"
	textRemovedNotice = "You were removed from this circle; you can read what was posted before, nothing after."
	textLeftNotice    = "You left the circle. Its keys are gone from this computer."
	textReadOnly      = "You can read the circle; you can post once you accept its guidelines."
)

// Shortcuts to the facilitation screens of the circle on show (and to the
// welcome packs), so that every screen is reachable from the keyboard.
var facilitationShortcuts = []struct {
	key  fyne.KeyName
	item string
}{
	{fyne.KeyM, textMembersItem},
	{fyne.KeyG, textGuidelineItem},
	{fyne.KeyE, textEventsItem},
	{fyne.KeyB, textLibraryItem},
	{fyne.KeyR, textReportsItem},
	{fyne.KeyI, textInsightsItem},
	{fyne.KeyK, textSettingsItem},
	{fyne.KeyO, textOpenPackItem},
	{fyne.KeyP, textLatestPost},
	{fyne.KeyS, textScheduleItem},
	{fyne.KeyW, textCloseDialog},
}

// isFacilitationShortcut reports whether s is one of the shortcuts above
// or the panic wipe's.
func isFacilitationShortcut(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	if !ok {
		return false
	}
	if cs.ShortcutName() == PanicWipeShortcut.ShortcutName() {
		return true
	}
	for _, f := range facilitationShortcuts {
		if cs.Modifier == fyne.KeyModifierControl|fyne.KeyModifierShift && cs.KeyName == f.key {
			return true
		}
	}
	return false
}

// TypedShortcut passes the window's own shortcuts (facilitation screens,
// panic wipe) on to the window while the composer has the focus, where an
// entry would otherwise keep them; the rest are the entry's.
func (c *composer) TypedShortcut(s fyne.Shortcut) {
	if isFacilitationShortcut(s) {
		if cv := fyne.CurrentApp().Driver().CanvasForObject(c); cv != nil {
			if sc, ok := cv.(fyne.Shortcutable); ok {
				sc.TypedShortcut(s)
				return
			}
		}
	}
	c.Entry.TypedShortcut(s)
}

// PanicWipeShortcut is Ctrl+Shift+Delete: the panic wipe, from any screen.
var PanicWipeShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyDelete, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}

// facilitation is Main's share of the facilitation screens: the screens
// last opened (kept for tests), the reminders and the panic wipe hook.
type facilitation struct {
	core      Facilitation // nil when the core offers none
	wipe      func() error
	reminders *reminders

	members  *memberActions
	editor   *guidelinesEditor
	events   *eventsView
	library  *libraryView
	reports  *reportsView
	insights *insightsView
	settings *circleSettings
	packs    *packOpener
	notice   string // the last plain notice shown
}

// SetPanicWipe gives the circle settings' danger area the way to destroy
// the vault; without it the area offers no wipe.
func (m *Main) SetPanicWipe(wipe func() error) { m.facil.wipe = wipe }

// FacilitationMenu is the Circle menu for the window's main menu: every
// facilitation screen of the circle on show, with its shortcut. (As main
// menu items the shortcuts work whichever widget has the focus.) Entries
// for facilitators do nothing for other members.
func (m *Main) FacilitationMenu() *fyne.Menu {
	var items []*fyne.MenuItem
	for _, s := range facilitationShortcuts {
		item := s.item
		it := fyne.NewMenuItem(item, func() { m.openFacilitation(item) })
		it.Shortcut = &desktop.CustomShortcut{KeyName: s.key, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}
		items = append(items, it)
	}
	return fyne.NewMenu(textCircleMenu, items...)
}

// startFacilitation sets up the facilitation screens' keyboard shortcuts
// and the event reminders. Called once by NewMain.
func (m *Main) startFacilitation() {
	f, _ := m.core.(Facilitation)
	m.facil.core = f
	if f == nil {
		return
	}
	for _, s := range facilitationShortcuts {
		item := s.item
		m.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: s.key, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift},
			func(fyne.Shortcut) { m.openFacilitation(item) })
	}
	m.facil.reminders = newReminders(time.Now, sendNotification)
	m.remindLater()
}

// remindLater checks for sessions about to start now and every minute
// while Main is open.
func (m *Main) remindLater() {
	if m.closed {
		return
	}
	m.checkReminders()
	time.AfterFunc(time.Minute, func() { m.opt.Do(m.remindLater) })
}

func (m *Main) checkReminders() {
	f := m.facil.core
	if f == nil || m.facil.reminders == nil {
		return
	}
	for _, c := range m.circles {
		evs, err := f.Events(c.ID)
		if err == nil {
			m.facil.reminders.check(evs)
		}
	}
}

// circleMenu is the chat header's Circle button: a menu of the screens this
// member may open.
func (m *Main) circleMenu(c *chatView) *widget.Button {
	var b *widget.Button
	b = widget.NewButton(textCircleMenu+" ▾", func() {
		items := []*fyne.MenuItem{}
		for _, name := range m.facilitationItems(c.info) {
			items = append(items, fyne.NewMenuItem(name, func() { m.openFacilitation(name) }))
		}
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b).Add(fyne.NewPos(0, b.Size().Height))
		widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), m.win.Canvas(), pos)
	})
	if m.facil.core == nil {
		b.Hide()
	}
	return b
}

// facilitationItems are the Circle menu's entries for this member's role.
func (m *Main) facilitationItems(info app.CircleInfo) []string {
	items := []string{textMembersItem, textGuidelineItem, textEventsItem, textLibraryItem}
	if info.Role == app.RoleFacilitator {
		items = append(items, textScheduleItem, textReportsItem, textInsightsItem)
	}
	return append(items, textSettingsItem, textOpenPackItem)
}

// openFacilitation opens one of the screens for the circle on show.
func (m *Main) openFacilitation(item string) {
	f := m.facil.core
	if m.closed || f == nil {
		return
	}
	if item == textCloseDialog {
		if top := m.win.Canvas().Overlays().Top(); top != nil {
			top.Hide()
		}
		return
	}
	if item == textOpenPackItem {
		m.facil.packs = showPackOpener(m.win, f, m.opt)
		return
	}
	if m.chat == nil {
		return
	}
	info := m.chat.info
	facilitator := info.Role == app.RoleFacilitator
	switch item {
	case textMembersItem:
		m.facil.members = showMembers(m.win, f, m.opt, info, m.left)
	case textGuidelineItem:
		if facilitator {
			m.facil.editor = showGuidelinesEditor(m.win, f, m.opt, info.ID)
		} else {
			m.chat.agree = showGuidelines(m.win, m.core, m.opt, info.ID, func(bool) { m.chat.checkGuidelines(false) })
			if m.chat.agree == nil {
				showGuidelinesRead(m.win, f, info.ID)
			}
		}
	case textEventsItem:
		m.facil.events = showEvents(m.win, f, m.opt, info)
	case textScheduleItem:
		if facilitator {
			m.facil.events = showEvents(m.win, f, m.opt, info)
			m.facil.events.form = m.facil.events.showSchedule()
		}
	case textLatestPost:
		for i := len(m.chat.msgs) - 1; i >= 0; i-- {
			if msg := m.chat.msgs[i]; msg.Kind == "post" || msg.Kind == "resource" {
				if !m.chat.facil.removed {
					m.chat.openPostActions(f, msg)
				}
				break
			}
		}
	case textLibraryItem:
		m.facil.library = showLibrary(m.win, f, m.opt, info)
	case textReportsItem:
		if facilitator {
			m.facil.reports = showReports(m.win, f, m.opt, info)
		}
	case textInsightsItem:
		if facilitator {
			m.facil.insights = showInsights(m.win, f, info)
		}
	case textSettingsItem:
		m.facil.settings = showCircleSettings(m.win, f, m.opt, info, m.left, m.facil.wipe)
	}
}

// left tells the member plainly that it left a circle.
func (m *Main) left() {
	m.showNotice(textLeftNotice)
	m.Refresh()
}

func (m *Main) showNotice(text string) {
	m.facil.notice = text
	showNotice(m.win, text)
}

// facilitationEvent applies what an event from the core means for the
// facilitation screens: a post hidden, withdrawn or narrowed is shown
// again; a removal is said plainly; changed guidelines are offered for
// acceptance.
func (m *Main) facilitationEvent(e app.Event) {
	c := m.chat
	if c == nil || c.id != e.Circle {
		return
	}
	switch e.Kind {
	case app.EventUpdated:
		c.reloadShown()
	case app.EventRemoved:
		c.markRemoved()
		m.showNotice(textRemovedNotice)
	case app.EventMessage:
		if e.Message != nil && e.Message.Kind == "guidelines" && !e.Message.Mine {
			c.checkGuidelines(true)
		}
	case app.EventReport:
		if r := m.facil.reports; r != nil && r.info.ID == e.Circle {
			r.reload()
		}
	}
}

// chatFacilitation is a chat view's share: the post actions dialog last
// opened, and whether this member was removed.
type chatFacilitation struct {
	actions *postActions
	removed bool
}

// startChatFacilitation checks, as a circle opens, whether this member may
// still post in it.
func (c *chatView) startChatFacilitation() {
	if f, ok := c.core.(Facilitation); ok {
		if ms, err := f.Members(c.id); err == nil && !hasSelf(ms) {
			c.markRemoved()
			return
		}
	}
	c.checkGuidelines(false)
}

func hasSelf(ms []app.Member) bool {
	for _, m := range ms {
		if m.Self {
			return true
		}
	}
	return false
}

// checkGuidelines says the circle is read-only while its current
// guidelines wait for this member's acceptance; with prompt, it also shows
// them to accept.
func (c *chatView) checkGuidelines(prompt bool) {
	if c.facil.removed {
		return
	}
	g, err := c.core.Guidelines(c.id)
	if err != nil || g.Accepted {
		if c.status.Text == textReadOnly {
			c.status.Hide()
		}
		return
	}
	infoText(c.status, textReadOnly)
	c.status.Show()
	if prompt {
		c.agree = showGuidelines(c.win, c.core, c.opt, c.id, func(bool) { c.checkGuidelines(false) })
	}
}

// markRemoved leaves the circle readable and the composer closed.
func (c *chatView) markRemoved() {
	c.facil.removed = true
	failText(c.status, textRemovedNotice)
	c.status.Show()
	c.send.Disable()
	c.entry.Disable()
	c.invite.Disable()
}

// reloadShown reads again the messages on show, so that a post hidden,
// withdrawn or narrowed since shows as it is now.
func (c *chatView) reloadShown() {
	limit := max(len(c.msgs), pageSize)
	msgs, err := c.core.History(c.id, "", limit)
	if err != nil {
		c.fail("Could not read the history: " + err.Error())
		return
	}
	offset := c.list.GetScrollOffset()
	c.msgs, c.seen = nil, map[string]bool{}
	c.prepend(msgs)
	if len(msgs) < limit {
		c.cursor = ""
		c.earlier.Disable()
	}
	c.list.ScrollToOffset(offset)
}

// call runs f off the UI goroutine, bounded by coreTimeout, then done on it.
func call(opt Options, f func(ctx context.Context) error, done func(error)) {
	opt.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), coreTimeout)
		err := f(ctx)
		cancel()
		opt.Do(func() { done(err) })
	})
}

// attachFacilitation gives a new chat view its Circle menu and checks
// whether this member may still post.
func (m *Main) attachFacilitation(c *chatView) {
	if m.facil.core == nil {
		return
	}
	c.tools.Add(m.circleMenu(c))
	c.startChatFacilitation()
}

// bindPostActions makes a row's "…" button open the actions on msg, and
// hides it where there are none.
func (c *chatView) bindPostActions(b *widget.Button, msg app.Message) {
	f, ok := c.core.(Facilitation)
	if !ok || c.facil.removed || msg.Kind != "post" && msg.Kind != "resource" {
		b.Hide()
		return
	}
	b.Show()
	b.OnTapped = func() { c.openPostActions(f, msg) }
}

func (c *chatView) openPostActions(f Facilitation, msg app.Message) {
	c.facil.actions = showPostActions(c.win, f, c.opt, c.info, msg, c.reloadShown)
}
