package ui

import (
	"context"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/hearth-circles/hearth/app"
)

// joinedPair is two members' views of one circle: h created it ("river",
// facilitator) and other joined it ("willow") and accepted its guidelines.
func joinedPair(t *testing.T) (h, other *harness, id app.CircleID) {
	t.Helper()
	h = newHarness(t)
	h.createCircle("Tuesday group", "river")
	id = h.m.chat.id
	code, err := h.core.Invite(context.Background(), id, app.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other = newHarnessSharing(t)
	if _, err := other.core.Join(context.Background(), code, "willow"); err != nil {
		t.Fatal(err)
	}
	if err := other.core.AcceptGuidelines(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	other.drain()
	other.m.Refresh()
	return h, other, id
}

func TestMembersPanelListsMembers(t *testing.T) {
	h, _, _ := joinedPair(t)
	h.until("both members online", func() bool {
		h.m.Refresh()
		return h.m.circles[0].Members == 2 && h.m.circles[0].Online == 2
	})
	c := h.m.chat
	if got, want := c.conn.Text, "2 of 2 members online"; got != want {
		t.Errorf("connection line: got %q, want %q", got, want)
	}
	if c.membersSide.Visible() {
		t.Fatal("members panel before Members is pressed: got shown, want hidden")
	}
	test.Tap(c.membersBtn)
	if !c.membersSide.Visible() || c.members == nil {
		t.Fatal("members panel after Members: got hidden, want shown")
	}
	got := map[string]string{}
	for _, m := range c.members.members {
		got[m.Nick] = memberDetail(m)
	}
	want := map[string]string{"river": "facilitator · online", "willow": "member · online"}
	if len(got) != len(want) {
		t.Fatalf("members: got %v, want %v", got, want)
	}
	for nick, detail := range want {
		if got[nick] != detail {
			t.Errorf("member %s: got %q, want %q", nick, got[nick], detail)
		}
	}
	if got, want := c.members.heading.Text, textMembers+" — 2 of 2 online"; got != want {
		t.Errorf("panel heading: got %q, want %q", got, want)
	}
	if got, want := c.members.list.Length(), 2; got != want {
		t.Errorf("panel rows: got %d, want %d", got, want)
	}
	test.Tap(c.membersBtn)
	if c.membersSide.Visible() {
		t.Error("members panel after a second Members: got shown, want hidden")
	}
}

func TestUnreadCounts(t *testing.T) {
	h, other, shared := joinedPair(t)
	h.createCircle("Another group", "river") // now on show
	if h.m.chat.id == shared {
		t.Fatal("after creating a second circle: got the first on show, want the new one")
	}
	for _, text := range []string{"are you there?", "I had a hard week"} {
		if _, err := other.core.Post(context.Background(), shared, app.PostOptions{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	h.until("two unread in the shared circle", func() bool { return h.m.unread[shared] == 2 })
	if got, want := unreadText(h.m.unread[shared]), "2 new"; got != want {
		t.Errorf("unread label: got %q, want %q", got, want)
	}
	h.m.selectID(shared)
	if got := h.m.unread[shared]; got != 0 {
		t.Errorf("unread after opening the circle: got %d, want 0", got)
	}
}

func TestUnreadCountsSurviveLock(t *testing.T) {
	h, v, _ := newHarnessWithVault(t)
	h.createCircle("Tuesday group", "river")
	shared := h.m.chat.id
	code, err := h.core.Invite(context.Background(), shared, app.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := newHarnessSharing(t)
	if _, err := other.core.Join(context.Background(), code, "willow"); err != nil {
		t.Fatal(err)
	}
	if err := other.core.AcceptGuidelines(context.Background(), shared); err != nil {
		t.Fatal(err)
	}
	h.createCircle("Another group", "river") // the shared one is read up to here
	for _, text := range []string{"one", "two", "three"} {
		if _, err := other.core.Post(context.Background(), shared, app.PostOptions{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	h.until("three unread", func() bool { return h.m.unread[shared] == 3 })
	if err := h.m.Close(); err != nil {
		t.Fatalf("Close (saves the read marks): %v", err)
	}
	// Unlocked again: a new view over the same vault counts them again.
	m2 := NewMain(h.win, h.core, Options{Go: func(work func()) { work() }, Do: h.do, Account: v})
	defer m2.Close()
	if got := m2.unread[shared]; got != 3 {
		t.Errorf("unread after a new view: got %d, want 3", got)
	}
}

func TestNotifyWhileAway(t *testing.T) {
	h, other, id := joinedPair(t)
	var sent []string
	h.m.opt.Notify = func(n *fyne.Notification) { sent = append(sent, n.Content) }
	h.m.away = true // another app in front
	if _, err := other.core.Post(context.Background(), id, app.PostOptions{Text: "anyone up?"}); err != nil {
		t.Fatal(err)
	}
	h.until("a notification while away", func() bool { return len(sent) == 1 })
	if sent[0] != textNotifyPlain {
		t.Errorf("notification: got %q, want %q", sent[0], textNotifyPlain)
	}
	h.m.away = false
	msg, err := other.core.Post(context.Background(), id, app.PostOptions{Text: "still here"})
	if err != nil {
		t.Fatal(err)
	}
	h.until("the post on show", func() bool { return indexOf(h.m.chat, msg.ID) >= 0 })
	if len(sent) != 1 {
		t.Errorf("notifications for the circle on show, app in front: got %d, want none more", len(sent)-1)
	}
}
