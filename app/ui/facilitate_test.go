package ui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/hearth-circles/hearth/app"
)

// circleOfTwo is a facilitator's Main and a member's, in one circle; the
// member joined with the facilitator's invite and accepted the guidelines.
func circleOfTwo(t *testing.T) (fac, mem *harness, id app.CircleID) {
	t.Helper()
	fac = newHarness(t)
	fac.createCircle("Tuesday group", "river")
	id = fac.m.chat.id
	code, err := fac.core.Invite(context.Background(), id, app.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mem = newHarnessSharing(t)
	if _, err := mem.core.Join(context.Background(), code, "willow"); err != nil {
		t.Fatal(err)
	}
	if err := mem.core.AcceptGuidelines(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	mem.until("the member's chat view", func() bool { return mem.m.chat != nil && mem.m.chat.id == id })
	fac.until("two members at the facilitator", func() bool {
		ms, _ := fac.core.Members(id)
		return len(ms) == 2
	})
	fac.m.Refresh()
	return fac, mem, id
}

// memberID is the id of the member called nick, as core sees the circle.
func memberID(t *testing.T, core *app.Hearth, id app.CircleID, nick string) app.MemberID {
	t.Helper()
	ms, err := core.Members(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Nick == nick {
			return m.ID
		}
	}
	t.Fatalf("member %q: got none in %+v, want one", nick, ms)
	return app.MemberID{}
}

// shown finds the message with text on show in h's chat view.
func (h *harness) shown(id string) *app.Message {
	for i := range h.m.chat.msgs {
		if h.m.chat.msgs[i].ID == id {
			return &h.m.chat.msgs[i]
		}
	}
	return nil
}

func (h *harness) post(text string) app.Message {
	h.t.Helper()
	msg, err := h.core.Post(context.Background(), h.m.chat.id, app.PostOptions{Text: text})
	if err != nil {
		h.t.Fatal(err)
	}
	return msg
}

func TestFacilitatorRemovesMemberFromPanel(t *testing.T) {
	fac, mem, id := circleOfTwo(t)
	willow := memberID(t, fac.core, id, "willow")

	fac.m.openFacilitation(textMembersItem)
	p := fac.m.facil.members
	if p == nil || len(p.rows) != 2 {
		t.Fatalf("members panel: got %v, want two rows", p)
	}
	if self := p.row(memberID(t, fac.core, id, "river")); self.remove != nil || !strings.Contains(self.label.Text, "facilitator") {
		t.Errorf("own row: got remove %v, label %q; want no remove, the facilitator role", self.remove, self.label.Text)
	}
	r := p.row(willow)
	if r == nil || r.remove == nil || r.role == nil || r.role.Text != textMakeFacil {
		t.Fatalf("willow's row: got %+v, want remove and make co-facilitator", r)
	}

	test.Tap(r.role)
	fac.drain()
	if got := memberRole(t, fac.core, id, willow); got != app.RoleFacilitator {
		t.Fatalf("after make co-facilitator: got role %v, want facilitator", got)
	}
	if r := p.row(willow); r.role.Text != textMakeMember {
		t.Errorf("role button after promotion: got %q, want %q", r.role.Text, textMakeMember)
	}
	test.Tap(p.row(willow).role)
	fac.drain()
	if got := memberRole(t, fac.core, id, willow); got != app.RoleMember {
		t.Fatalf("after make member again: got role %v, want member", got)
	}

	test.Tap(p.row(willow).remove)
	test.Type(p.reason, "asked to leave")
	test.Tap(p.confirm)
	fac.drain()
	ms, _ := fac.core.Members(id)
	if len(ms) != 1 || ms[0].Nick != "river" {
		t.Fatalf("roster after removal: got %+v, want river alone", ms)
	}
	if p.row(willow) != nil {
		t.Errorf("panel after removal: got a row for willow, want none")
	}

	// The removed member is told plainly and can no longer post.
	mem.until("the removal notice", func() bool { return mem.m.facil.notice == textRemovedNotice })
	if c := mem.m.chat; c.status.Text != textRemovedNotice || !c.send.Disabled() {
		t.Errorf("removed member's chat: got status %q, send disabled %v; want the notice and no sending", c.status.Text, c.send.Disabled())
	}
}

func memberRole(t *testing.T, core *app.Hearth, id app.CircleID, m app.MemberID) app.Role {
	t.Helper()
	ms, _ := core.Members(id)
	for _, x := range ms {
		if x.ID == m {
			return x.Role
		}
	}
	t.Fatalf("member %s: gone", m)
	return 0
}

func TestHideShowsHiddenByFacilitator(t *testing.T) {
	fac, mem, id := circleOfTwo(t)
	msg := mem.post("something off topic")
	fac.until("the member's post at the facilitator", func() bool { return fac.shown(msg.ID) != nil })

	f := fac.m.facil.core
	fac.m.chat.openPostActions(f, *fac.shown(msg.ID))
	a := fac.m.chat.facil.actions
	if a == nil || a.hide == nil || a.report == nil || a.retract != nil {
		t.Fatalf("facilitator's actions on another's post: got %+v, want hide and report only", a)
	}
	test.Tap(a.hide)
	test.Tap(a.confirm) // no reason yet
	fac.drain()
	if got := fac.shown(msg.ID); got.Kind != "post" {
		t.Fatalf("hidden without a reason: got kind %q, want post", got.Kind)
	}
	test.Type(a.reason, "off topic")
	test.Tap(a.confirm)
	fac.drain()
	got := fac.shown(msg.ID)
	if got == nil || got.Kind != "hidden" {
		t.Fatalf("after hide: got %+v, want it hidden", got)
	}
	if want := textHiddenBy + ": off topic"; kindText(*got) != want {
		t.Errorf("hidden post reads %q, want %q", kindText(*got), want)
	}
	mem.until("the hidden post at the member", func() bool {
		m := mem.shown(msg.ID)
		return m != nil && m.Kind == "hidden" && kindText(*m) == textHiddenBy+": off topic"
	})
	_ = id
}

func TestNonFacilitatorSeesNoFacilitatorActions(t *testing.T) {
	fac, mem, id := circleOfTwo(t)
	msg := fac.post("welcome, everyone")
	mem.until("the facilitator's post at the member", func() bool { return mem.shown(msg.ID) != nil })

	items := mem.m.facilitationItems(mem.m.chat.info)
	for _, no := range []string{textReportsItem, textInsightsItem} {
		if slices.Contains(items, no) {
			t.Errorf("member's Circle menu: got %q, want it absent", no)
		}
	}
	if items := fac.m.facilitationItems(fac.m.chat.info); !slices.Contains(items, textReportsItem) || !slices.Contains(items, textInsightsItem) {
		t.Errorf("facilitator's Circle menu: got %v, want Reports and Insights", items)
	}
	mem.m.openFacilitation(textReportsItem)
	mem.m.openFacilitation(textInsightsItem)
	if mem.m.facil.reports != nil || mem.m.facil.insights != nil {
		t.Errorf("member opened reports or insights by shortcut: got them, want neither")
	}

	mem.m.chat.openPostActions(mem.m.facil.core, *mem.shown(msg.ID))
	if a := mem.m.chat.facil.actions; a.hide != nil || a.report == nil {
		t.Errorf("member's actions on another's post: got hide %v, report %v; want report only", a.hide, a.report)
	}
	mem.m.openFacilitation(textMembersItem)
	for _, r := range mem.m.facil.members.rows {
		if r.remove != nil || r.role != nil {
			t.Errorf("member's panel row %q: got facilitator actions, want none", r.member.Nick)
		}
	}
	mem.m.openFacilitation(textEventsItem)
	mem.m.openFacilitation(textLibraryItem)
	if mem.m.facil.events.schedule != nil || mem.m.facil.library.add != nil || mem.m.facil.library.export != nil {
		t.Errorf("member's events or library: got facilitator buttons, want none")
	}
	mem.m.openFacilitation(textSettingsItem)
	if !mem.m.facil.settings.retention.Disabled() {
		t.Errorf("member's retention setting: got enabled, want disabled")
	}
	mem.m.openFacilitation(textGuidelineItem)
	if mem.m.facil.editor != nil {
		t.Errorf("member opened the guidelines editor")
	}
	_ = id
}

func TestReportReachesFacilitatorsReports(t *testing.T) {
	fac, mem, id := circleOfTwo(t)
	msg := fac.post("a post that troubles someone")
	mem.until("the post at the member", func() bool { return mem.shown(msg.ID) != nil })

	fac.m.openFacilitation(textReportsItem)
	v := fac.m.facil.reports
	if v == nil || len(v.reports) != 0 {
		t.Fatalf("reports before any: got %+v, want an empty view", v)
	}

	mem.m.chat.openPostActions(mem.m.facil.core, *mem.shown(msg.ID))
	a := mem.m.chat.facil.actions
	test.Tap(a.report)
	test.Type(a.reason, "this made me uneasy")
	test.Tap(a.confirm)
	mem.drain()
	if a.status.Text != textReportSent {
		t.Fatalf("after reporting: got status %q, want %q", a.status.Text, textReportSent)
	}
	fac.until("the report in the open Reports view", func() bool {
		return len(v.reports) == 1
	})
	if r := v.reports[0]; r.Text != "this made me uneasy" || r.FromNick != "willow" || r.Target != msg.ID {
		t.Errorf("report: got %+v, want willow's text about %s", r, msg.ID)
	}
	if _, err := mem.core.Reports(id); err == nil {
		t.Errorf("member reads reports: got no error, want ErrNotFacilitator")
	}
}

func TestScheduleEventStoresZone(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	id := h.m.chat.id
	h.m.openFacilitation(textEventsItem)
	v := h.m.facil.events
	test.Tap(v.schedule)
	f := v.form
	test.Type(f.title, "Check-in")
	f.date.SetText("2099-03-04")
	f.clock.SetText("18:30")
	f.zone.SetText("Nowhere/Atlantis")
	f.duration.SetSelected("1 hour 30 minutes")
	test.Type(f.where, "in Hearth")
	test.Tap(f.ok)
	h.drain()
	if f.status.Text != textBadZone {
		t.Fatalf("unknown zone: got status %q, want %q", f.status.Text, textBadZone)
	}
	f.zone.SetText("America/New_York")
	test.Tap(f.ok)
	h.drain()

	evs, err := h.core.Events(id)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: got %+v, %v; want one", evs, err)
	}
	ev := evs[0]
	if ev.Start.Location().String() != "America/New_York" || ev.Start.Format("2006-01-02 15:04") != "2099-03-04 18:30" ||
		ev.Duration != 90*time.Minute || ev.Where != "in Hearth" {
		t.Fatalf("stored event: got %s %v %v %q, want 18:30 New York time, 90 minutes, in Hearth", ev.Start, ev.Start.Location(), ev.Duration, ev.Where)
	}
	if len(v.rows) != 1 {
		t.Fatalf("events on show: got %d, want 1", len(v.rows))
	}

	v.rows[0].rsvp.SetSelected("maybe")
	h.drain()
	if evs, _ := h.core.Events(id); evs[0].MyAnswer != "maybe" {
		t.Errorf("after RSVP: got %q, want maybe", evs[0].MyAnswer)
	}
	var saved string
	var data []byte
	v.save = func(name string, b []byte) { saved, data = name, b }
	test.Tap(v.rows[0].ics)
	if saved != "Check-in.ics" || !strings.Contains(string(data), "BEGIN:VEVENT") || !strings.Contains(string(data), "DTSTART:20990304T233000Z") {
		t.Errorf("calendar file: got %q with %q, want Check-in.ics starting 18:30 New York time (23:30 UTC)", saved, data)
	}
}

func TestReminderBeforeSession(t *testing.T) {
	now := time.Date(2099, 3, 4, 18, 0, 0, 0, time.UTC)
	var got []*fyne.Notification
	r := newReminders(func() time.Time { return now }, func(n *fyne.Notification) { got = append(got, n) })
	evs := []app.EventInfo{
		{ID: "soon", Title: "Check-in", Start: now.Add(10 * time.Minute)},
		{ID: "later", Start: now.Add(time.Hour)},
		{ID: "started", Start: now.Add(-time.Minute)},
		{ID: "declined", Start: now.Add(5 * time.Minute), MyAnswer: "no"},
	}
	r.check(evs)
	if len(got) != 1 {
		t.Fatalf("first check: got %d reminders, want 1 (the session in 10 minutes)", len(got))
	}
	if strings.Contains(got[0].Content, "Check-in") {
		t.Errorf("reminder text: got %q, want it without the session's title", got[0].Content)
	}
	r.check(evs)
	if len(got) != 1 {
		t.Fatalf("second check: got %d reminders, want still 1", len(got))
	}
	now = now.Add(50 * time.Minute) // "later" is 10 minutes away
	r.check(evs)
	if len(got) != 2 {
		t.Fatalf("50 minutes on: got %d reminders, want 2", len(got))
	}
}

func TestRetentionChoiceApplied(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	h.m.openFacilitation(textSettingsItem)
	s := h.m.facil.settings
	if s.retention.Selected != "Keep messages" {
		t.Fatalf("retention at first: got %q, want Keep messages", s.retention.Selected)
	}
	s.retention.SetSelected("7 days")
	h.drain()
	if got := h.core.Circles()[0].RetentionDays; got != 7 {
		t.Fatalf("retention in the core: got %d days, want 7", got)
	}
	if s.status.Text != textRetentionSaved {
		t.Errorf("status: got %q, want %q", s.status.Text, textRetentionSaved)
	}
	if s.wipe != nil {
		t.Errorf("panic wipe without a hook: got a button, want none")
	}
}

func TestPanicWipeAsksOnce(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	wiped := 0
	h.m.SetPanicWipe(func() error { wiped++; return nil })
	h.m.openFacilitation(textSettingsItem)
	s := h.m.facil.settings
	test.Tap(s.wipe)
	if wiped != 0 {
		t.Fatalf("before confirming: got %d wipes, want 0", wiped)
	}
	test.Tap(s.confirm)
	if wiped != 1 {
		t.Fatalf("after confirming: got %d wipes, want 1", wiped)
	}
}

func TestLeaveCircle(t *testing.T) {
	fac, mem, id := circleOfTwo(t)
	mem.m.openFacilitation(textSettingsItem)
	s := mem.m.facil.settings
	test.Tap(s.leave)
	test.Tap(s.confirm)
	mem.drain()
	if len(mem.core.Circles()) != 0 {
		t.Fatalf("circles after leaving: got %d, want 0", len(mem.core.Circles()))
	}
	if mem.m.facil.notice != textLeftNotice || len(mem.m.circles) != 0 {
		t.Errorf("after leaving: got notice %q and %d circles listed, want %q and none", mem.m.facil.notice, len(mem.m.circles), textLeftNotice)
	}
	fac.until("the member gone at the facilitator", func() bool {
		ms, _ := fac.core.Members(id)
		return len(ms) == 1
	})
}

func TestGuidelinesEditorAndAcceptance(t *testing.T) {
	fac, mem, id := circleOfTwo(t)
	fac.m.openFacilitation(textGuidelineItem)
	e := fac.m.facil.editor
	if !strings.Contains(e.text.Text, "#") || e.version.Text != "Version 1" {
		t.Fatalf("editor at first: got version %q and text %q, want the default guidelines, version 1", e.version.Text, e.text.Text)
	}
	e.text.SetText("# Our agreements\n\n- What is said here stays here.")
	test.Tap(e.publish)
	fac.drain()
	if e.version.Text != "Version 2" || e.status.Text != textEditorSaved {
		t.Fatalf("after publishing: got %q, %q; want version 2 and %q", e.version.Text, e.status.Text, textEditorSaved)
	}
	// The member is asked to accept, and reads but does not post until then.
	mem.until("the new guidelines offered to the member", func() bool {
		return mem.m.chat.agree != nil && mem.m.chat.status.Text == textReadOnly
	})
	if _, err := mem.core.Post(context.Background(), id, app.PostOptions{Text: "hello"}); err == nil {
		t.Fatalf("posting before accepting: got no error, want one")
	}
	test.Tap(mem.m.chat.agree)
	mem.drain()
	if g, _ := mem.core.Guidelines(id); !g.Accepted || g.Version != 2 {
		t.Fatalf("after accepting: got %+v, want version 2 accepted", g)
	}
	if mem.m.chat.status.Visible() {
		t.Errorf("read-only notice after accepting: got %q shown, want it gone", mem.m.chat.status.Text)
	}
}

func TestWelcomePackRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	id := h.m.chat.id
	if _, err := h.core.Post(context.Background(), id, app.PostOptions{Text: "for later members", Scope: app.ScopeFuture}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.core.Post(context.Background(), id, app.PostOptions{Text: "just us"}); err != nil {
		t.Fatal(err)
	}

	h.m.openFacilitation(textLibraryItem)
	v := h.m.facil.library
	test.Tap(v.add)
	test.Type(v.resTitle, "Crisis lines")
	test.Type(v.resText, "Call your local number.")
	test.Tap(v.confirm)
	h.drain()
	if len(v.items) != 1 || v.items[0].Title != "Crisis lines" {
		t.Fatalf("library after adding: got %+v, want the crisis lines", v.items)
	}

	var file []byte
	v.save = func(name string, b []byte) { file = b }
	test.Tap(v.export)
	test.Type(v.pass, "told in person")
	test.Type(v.repeat, "told in persn")
	test.Tap(v.confirm)
	h.drain()
	if file != nil {
		t.Fatal("exported with mismatched passphrases")
	}
	v.repeat.SetText("told in person")
	test.Tap(v.confirm)
	h.drain()
	if file == nil {
		t.Fatalf("export: got no file (status %q), want one", v.status.Text)
	}

	// A newcomer, in a vault of its own, opens the pack and keeps it.
	other := newHarnessSharing(t)
	other.m.openFacilitation(textOpenPackItem)
	p := other.m.facil.packs
	p.chooseFile = func(use func(string, []byte)) { use("Tuesday group welcome pack.hearthpack", file) }
	test.Tap(p.choose)
	test.Type(p.pass, "a wrong guess")
	test.Tap(p.open)
	other.drain()
	if p.status.Text != textPackWrongPass || !p.keep.Disabled() {
		t.Fatalf("wrong passphrase: got %q, keep enabled %v; want %q", p.status.Text, !p.keep.Disabled(), textPackWrongPass)
	}
	p.pass.SetText("told in person")
	test.Tap(p.open)
	other.drain()
	if p.shown == nil || len(p.shown.Items) != 2 {
		t.Fatalf("opened pack: got %+v (status %q), want 2 items", p.shown, p.status.Text)
	}
	test.Tap(p.keep)
	other.drain()
	if p.status.Text != textKept {
		t.Fatalf("keep: got status %q, want %q", p.status.Text, textKept)
	}
	packs, err := other.core.Packs()
	if err != nil || len(packs) != 1 || packs[0].Circle != id || packs[0].Items != 2 {
		t.Fatalf("kept packs: got %+v, %v; want one of 2 items from %s", packs, err, id)
	}
	if len(p.packs) != 1 {
		t.Errorf("kept packs on show: got %d, want 1", len(p.packs))
	}
	lib, err := other.core.PackLibrary(id)
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]bool{}
	for _, r := range lib.Items {
		texts[r.Text] = true
	}
	if !texts["for later members"] || !texts["Call your local number."] || texts["just us"] {
		t.Errorf("kept pack: got %v, want the consented items only", texts)
	}
	// Keeping the same file again changes nothing.
	test.Tap(p.open)
	other.drain()
	test.Tap(p.keep)
	other.drain()
	if p.status.Text != textKeptAlready {
		t.Errorf("keeping again: got %q, want %q", p.status.Text, textKeptAlready)
	}
}

func TestInsightsChart(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	for _, text := range []string{"one", "two", "three"} {
		h.post(text)
	}
	h.m.openFacilitation(textInsightsItem)
	v := h.m.facil.insights
	if v == nil || len(v.bars) != 1 || v.weeks[0].Posts != 3 {
		t.Fatalf("insights: got %+v, want one week of 3 posts", v)
	}
	if got := v.bars[0].MinSize().Height; got != chartHeight {
		t.Errorf("the busiest week's bar: got height %v, want %v", got, chartHeight)
	}
	if !strings.Contains(v.figures.Text, "Posts: 3") {
		t.Errorf("figures: got %q, want 3 posts", v.figures.Text)
	}
	if got := barHeight(1, 4); got != chartHeight/4 {
		t.Errorf("barHeight(1, 4): got %v, want %v", got, chartHeight/4)
	}
}

// The screens open from the keyboard, also while the composer has the
// focus, and Ctrl+Shift+W closes the one on show.
func TestFacilitationShortcuts(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	h.win.Canvas().Focus(h.m.chat.entry)
	h.m.chat.entry.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyM, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift})
	if h.m.facil.members == nil {
		t.Fatal("Ctrl+Shift+M in the composer: got no members panel, want it")
	}
	if h.win.Canvas().Overlays().Top() == nil {
		t.Fatal("members panel: got no dialog on show, want one")
	}
	h.win.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyW, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift})
	if top := h.win.Canvas().Overlays().Top(); top != nil {
		t.Errorf("after Ctrl+Shift+W: got a dialog still on show, want none")
	}
	// An entry's own shortcuts stay the entry's.
	test.Type(h.m.chat.entry, "kept")
	h.m.chat.entry.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyBackspace, Modifier: fyne.KeyModifierControl})
	if got := h.m.chat.entry.Text; got != "" {
		t.Errorf("Ctrl+Backspace in the composer: got %q, want the word deleted", got)
	}
}

func TestFacilitationMenu(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	menu := h.m.FacilitationMenu()
	if got, want := len(menu.Items), len(facilitationShortcuts); got != want {
		t.Fatalf("Circle menu: got %d items, want %d", got, want)
	}
	for _, it := range menu.Items {
		if it.Label == textEventsItem {
			it.Action()
		}
		if it.Shortcut == nil {
			t.Errorf("menu item %q: got no shortcut, want one", it.Label)
		}
	}
	if h.m.facil.events == nil {
		t.Errorf("after the Events… item: got no events view, want it")
	}
}

func TestLatestPostAndScheduleShortcuts(t *testing.T) {
	fac, mem, _ := circleOfTwo(t)
	first := fac.post("first")
	latest := fac.post("the latest")
	fac.until("the latest post on show", func() bool { return fac.shown(latest.ID) != nil })
	fac.m.openFacilitation(textLatestPost)
	if a := fac.m.chat.facil.actions; a == nil || a.msg.Text != "the latest" || a.retract == nil {
		t.Fatalf("actions on the latest post: got %+v, want the author's actions on %q", a, "the latest")
	}
	fac.m.openFacilitation(textScheduleItem)
	if v := fac.m.facil.events; v == nil || v.form == nil {
		t.Fatalf("Schedule a session…: got no form, want one")
	}
	mem.until("the posts at the member", func() bool { return mem.shown(first.ID) != nil })
	mem.m.openFacilitation(textScheduleItem)
	if mem.m.facil.events != nil {
		t.Errorf("member's Schedule a session…: got the form, want nothing")
	}
}
