package ui

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
	"github.com/hearth-circles/hearth/crypto/vault"
)

// cheapParams keep the key derivation fast in tests.
var cheapParams = vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// waitLimit only keeps a broken test from hanging; nothing is timed.
const waitLimit = 60 * time.Second

// harness is a Main over a real Hearth, online on loopback, in a test
// window. Slow work runs synchronously and UI updates from other goroutines
// queue until the test drains them on its own goroutine.
type harness struct {
	t    *testing.T
	win  fyne.Window
	core *app.Hearth
	m    *Main

	mu      sync.Mutex
	pending []func()
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	test.NewTempApp(t)
	h := &harness{t: t, win: test.NewWindow(nil), core: newCore(t)}
	h.win.Resize(fyne.NewSize(1000, 700))
	h.m = NewMain(h.win, h.core, Options{Go: func(work func()) { work() }, Do: h.do})
	h.win.SetContent(h.m.Content())
	t.Cleanup(func() {
		if err := h.m.Close(); err != nil {
			t.Errorf("Main.Close: %v", err)
		}
		h.win.Close()
	})
	return h
}

func newCore(t *testing.T) *app.Hearth {
	t.Helper()
	v, err := app.CreateVaultWithParams(filepath.Join(t.TempDir(), "hearth"), []byte("a quiet place to talk"), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	core, err := app.New(v, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := core.Close(); err != nil {
			t.Errorf("Hearth.Close: %v", err)
		}
		if err := v.Close(); err != nil {
			t.Errorf("Vault.Close: %v", err)
		}
	})
	if err := core.Online(context.Background()); err != nil {
		t.Fatal(err)
	}
	return core
}

func (h *harness) do(f func()) {
	h.mu.Lock()
	h.pending = append(h.pending, f)
	h.mu.Unlock()
}

// drain runs the queued UI updates on the test goroutine.
func (h *harness) drain() {
	for {
		h.mu.Lock()
		fs := h.pending
		h.pending = nil
		h.mu.Unlock()
		if len(fs) == 0 {
			return
		}
		for _, f := range fs {
			f()
		}
	}
}

// until drains UI updates until cond holds, failing after waitLimit.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		h.drain()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s: got nothing, want it", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// createCircle creates a circle through the New circle dialog.
func (h *harness) createCircle(name, nick string) {
	h.t.Helper()
	test.Tap(h.m.newButton)
	test.Type(h.m.newName, name)
	test.Type(h.m.newNick, nick)
	test.Tap(h.m.newCreate)
	h.drain()
	if h.m.chat == nil {
		h.t.Fatalf("after New circle: got no chat view (status %q), want one", h.m.newStatus.Text)
	}
}

func TestEmptyVaultShowsHint(t *testing.T) {
	h := newHarness(t)
	if got, want := len(h.m.circles), 0; got != want {
		t.Fatalf("circles: got %d, want %d", got, want)
	}
	if h.m.chat != nil {
		t.Errorf("chat view with no circle: got one, want none")
	}
	hint := false
	for _, o := range test.LaidOutObjects(h.win.Content()) {
		if l, ok := o.(*widget.Label); ok && l.Text == textNoCircles && l.Visible() {
			hint = true
		}
	}
	if !hint {
		t.Error("empty vault: got no hint, want one")
	}
	if it := italicTexts(h.win.Content()); len(it) > 0 {
		t.Errorf("empty vault: %q drawn in italic, want no italic (see look.Font)", it)
	}
}

func TestCreateCircleDialog(t *testing.T) {
	for _, tc := range []struct {
		name, circle, nick string
		wantStatus         string
		wantCircles        int
	}{
		{"no name", "", "river", textNameNeeded, 0},
		{"no pseudonym", "Tuesday group", "  ", textNickNeeded, 0},
		{"good", "Tuesday group", "river", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			test.Tap(h.m.newButton)
			test.Type(h.m.newName, tc.circle)
			test.Type(h.m.newNick, tc.nick)
			test.Tap(h.m.newCreate)
			h.drain()
			if got := len(h.core.Circles()); got != tc.wantCircles {
				t.Fatalf("core circles: got %d, want %d", got, tc.wantCircles)
			}
			if tc.wantCircles == 0 {
				if got := h.m.newStatus.Text; got != tc.wantStatus {
					t.Errorf("status: got %q, want %q", got, tc.wantStatus)
				}
				return
			}
			if got, want := len(h.m.circles), 1; got != want {
				t.Fatalf("listed circles: got %d, want %d", got, want)
			}
			if got, want := h.m.circles[0].Name, tc.circle; got != want {
				t.Errorf("listed name: got %q, want %q", got, want)
			}
			if h.m.chat == nil || h.m.chat.id != h.m.circles[0].ID {
				t.Fatalf("chat view: got none or another circle, want the new one")
			}
			if got, want := h.m.chat.conn.Text, "1 of 1 members online"; got != want {
				t.Errorf("connection line: got %q, want %q", got, want)
			}
		})
	}
}

func TestComposerPosts(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	c := h.m.chat

	test.Type(c.entry, "first line")
	c.entry.KeyDown(&fyne.KeyEvent{Name: "LeftShift"})
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	c.entry.KeyUp(&fyne.KeyEvent{Name: "LeftShift"})
	test.Type(c.entry, "second line")
	if got, want := c.entry.Text, "first line\nsecond line"; got != want {
		t.Fatalf("after Shift+Enter: got %q, want %q", got, want)
	}
	c.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter sends
	h.drain()
	if got := c.entry.Text; got != "" {
		t.Errorf("composer after send: got %q, want it empty", got)
	}
	if got, want := len(c.msgs), 1; got < want {
		t.Fatalf("messages on show: got %d, want at least %d", got, want)
	}
	last := c.msgs[len(c.msgs)-1]
	if got, want := last.Text, "first line\nsecond line"; got != want {
		t.Errorf("last message on show: got %q, want %q", got, want)
	}
	if got, want := c.list.Length(), len(c.msgs); got != want {
		t.Errorf("list length: got %d, want %d", got, want)
	}
	hist, err := h.core.History(c.id, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if got := hist[len(hist)-1].Text; got != last.Text {
		t.Errorf("stored last message: got %q, want %q", got, last.Text)
	}
}

func TestScopeChooserSetsStoredScope(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	c := h.m.chat
	for _, tc := range []struct {
		choice    string
		cw        string
		want      app.Scope
		wantBadge string
	}{
		{textScopeCircle, "", app.ScopeCircle, ""},
		{textScopeFuture, "", app.ScopeFuture, textBadgeFuture},
		{textScopeResource, "medication", app.ScopeResource, textBadgeResource},
	} {
		c.scope.SetSelected(tc.choice)
		if tc.cw != "" {
			test.Tap(c.cwCheck)
			test.Type(c.cwEntry, tc.cw)
		}
		text := "posted as " + tc.choice
		test.Type(c.entry, text)
		test.Tap(c.send)
		h.drain()

		hist, err := h.core.History(c.id, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		last := hist[len(hist)-1]
		if last.Text != text {
			t.Fatalf("%s: stored last text got %q, want %q", tc.choice, last.Text, text)
		}
		if last.Scope != tc.want {
			t.Errorf("%s: stored scope got %v, want %v", tc.choice, last.Scope, tc.want)
		}
		if last.ContentWarning != tc.cw {
			t.Errorf("%s: stored content warning got %q, want %q", tc.choice, last.ContentWarning, tc.cw)
		}
		if got := scopeBadge(last.Scope); got != tc.wantBadge {
			t.Errorf("%s: badge got %q, want %q", tc.choice, got, tc.wantBadge)
		}
	}
}

func TestHistoryPagesBack(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	id := h.m.chat.id
	const posts = pageSize + 7
	for i := range posts {
		if _, err := h.core.Post(context.Background(), id, app.PostOptions{Text: "post " + string(rune('a'+i%26))}); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh view of the circle shows the latest page only.
	c := newChatView(h.win, h.core, h.m.opt, h.m.circles[0])
	if got, want := len(c.msgs), pageSize; got != want {
		t.Fatalf("first page: got %d messages, want %d", got, want)
	}
	test.Tap(c.earlier)
	h.drain()
	all, err := h.core.History(id, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(c.msgs), len(all); got != want {
		t.Fatalf("after Earlier messages: got %d messages, want %d", got, want)
	}
	for i := range all {
		if c.msgs[i].ID != all[i].ID {
			t.Fatalf("message %d: got %s, want %s", i, c.msgs[i].ID, all[i].ID)
		}
	}
	if !c.earlier.Disabled() {
		t.Errorf("Earlier messages at the start: got enabled, want disabled")
	}
}

func TestInviteDialogAndJoin(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	test.Tap(h.m.chat.invite)
	d := h.m.chat.inviting
	test.Tap(d.make)
	h.drain()
	code := d.code.Text
	if code == "" {
		t.Fatalf("invite code: got none (status %q), want one", d.status.Text)
	}
	if d.qr.Hidden || d.qr.Resource == nil {
		t.Errorf("QR code: got none, want an image")
	}

	// A second member joins with the code through the Join dialog.
	other := newHarnessSharing(t)
	test.Tap(other.m.joinButton)
	test.Type(other.m.join.code, code)
	test.Type(other.m.join.nick, "willow")
	test.Tap(other.m.join.join)
	other.drain()
	if other.m.chat == nil {
		t.Fatalf("after join: got no chat view (status %q), want one", other.m.join.status.Text)
	}
	if got, want := other.m.circles[0].Name, "Tuesday group"; got != want {
		t.Errorf("joined circle: got %q, want %q", got, want)
	}
	// The newcomer reads the guidelines and accepts them before posting.
	id := other.m.circles[0].ID
	if other.m.agree == nil {
		t.Fatal("after join: got no guidelines to accept, want the dialog")
	}
	test.Tap(other.m.agree)
	other.drain()
	if g, err := other.core.Guidelines(id); err != nil || !g.Accepted {
		t.Fatalf("guidelines after accepting: got %+v, %v; want accepted", g, err)
	}
	test.Type(other.m.chat.entry, "hello, I am new")
	test.Tap(other.m.chat.send)
	other.drain()
	if msgs, _ := other.core.History(id, "", 10); len(msgs) == 0 || msgs[len(msgs)-1].Text != "hello, I am new" {
		t.Fatalf("newcomer's post: got %v, want it in the history", msgs)
	}

	// Using it again: already used.
	third := newHarnessSharing(t)
	test.Tap(third.m.joinButton)
	test.Type(third.m.join.code, code)
	test.Type(third.m.join.nick, "fern")
	test.Tap(third.m.join.join)
	third.drain()
	if got, want := third.m.join.status.Text, textSpent; got != want {
		t.Errorf("spent code: got %q, want %q", got, want)
	}
}

// newHarnessSharing is another member's Main in the test app already
// started by newHarness.
func newHarnessSharing(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, win: test.NewWindow(nil), core: newCore(t)}
	h.m = NewMain(h.win, h.core, Options{Go: func(work func()) { work() }, Do: h.do})
	h.win.SetContent(h.m.Content())
	t.Cleanup(func() {
		h.m.Close()
		h.win.Close()
	})
	return h
}

func TestJoinErrors(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	test.Tap(h.m.chat.invite)
	test.Tap(h.m.chat.inviting.make)
	h.drain()
	code := h.m.chat.inviting.code.Text
	if code == "" {
		t.Fatal("invite code: got none, want one")
	}
	// One symbol of the code's body changed to another (codes ignore case
	// and dashes, and read I, L and O as 1, 1 and 0, so B and C are safe).
	typo := []rune(code)
	i := len(typo) / 2
	for typo[i] == '-' {
		i++
	}
	if typo[i] == 'B' || typo[i] == 'b' {
		typo[i] = 'C'
	} else {
		typo[i] = 'B'
	}

	other := newHarnessSharing(t)
	for _, tc := range []struct {
		name, code, nick, want string
	}{
		{"typo", string(typo), "willow", textTypo},
		{"garbage", "not a code at all", "willow", textTypo},
		{"empty", "", "willow", textCodeNeeded},
		{"no pseudonym", code, "", textNickNeeded},
		{"own circle", code, "river", textAlreadyMember},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := h.m
			if tc.name != "own circle" {
				j = other.m
			}
			test.Tap(j.joinButton)
			test.Type(j.join.code, tc.code)
			test.Type(j.join.nick, tc.nick)
			test.Tap(j.join.join)
			h.drain()
			other.drain()
			if got := j.join.status.Text; got != tc.want {
				t.Errorf("status: got %q, want %q", got, tc.want)
			}
			if !strings.Contains(tc.name, "own") && len(other.core.Circles()) != 0 {
				t.Errorf("circles after a failed join: got %d, want 0", len(other.core.Circles()))
			}
		})
	}
}

func TestJoinErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{app.ErrInviteChecksum, textTypo},
		{app.ErrInviteExpired, textExpired},
		{app.ErrInviteSpent, textSpent},
		{app.ErrUnreachable, textUnreachable},
		{app.ErrInviteUnknown, textWithdrawn},
	} {
		if got := joinErrorText(tc.err); got != tc.want {
			t.Errorf("joinErrorText(%v): got %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestMemberColorStable(t *testing.T) {
	a, b := app.MemberID{1}, app.MemberID{2}
	if got, want := memberColor(a), memberColor(a); got != want {
		t.Errorf("same member: got %v, want %v", got, want)
	}
	if memberColor(a) == memberColor(b) {
		t.Errorf("two members: got the same colour %v, want different ones", memberColor(a))
	}
}

func TestConnectionText(t *testing.T) {
	for _, tc := range []struct {
		online, members int
		want            string
	}{
		{3, 5, "3 of 5 members online"},
		{0, 5, textOffline},
		{1, 1, "1 of 1 members online"},
		{1, 3, textAlone},
	} {
		if got := connectionText(app.CircleInfo{Online: tc.online, Members: tc.members}); got != tc.want {
			t.Errorf("connectionText(%d of %d): got %q, want %q", tc.online, tc.members, got, tc.want)
		}
	}
}

func TestContentWarningCollapsed(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	c := h.m.chat
	test.Tap(c.cwCheck)
	test.Type(c.cwEntry, "a hard week")
	test.Type(c.entry, "the text behind the warning")
	test.Tap(c.send)
	h.drain()
	last := len(c.msgs) - 1
	if got, want := c.msgs[last].ContentWarning, "a hard week"; got != want {
		t.Fatalf("content warning on show: got %q, want %q", got, want)
	}

	row := newRow().(*fyne.Container)
	text := row.Objects[3].(*widget.Label)
	show := row.Objects[2].(*fyne.Container).Objects[1].(*widget.Button)
	for i, want := range []bool{true, false, true} { // hidden, shown, hidden again
		c.updateRow(last, row)
		if got := text.Hidden; got != want {
			t.Fatalf("step %d: text hidden got %v, want %v", i, got, want)
		}
		if got, wantLabel := show.Text, map[bool]string{true: textShow, false: textHide}[want]; got != wantLabel {
			t.Errorf("step %d: button got %q, want %q", i, got, wantLabel)
		}
		test.Tap(show)
	}
	if got, want := text.Text, "the text behind the warning"; got != want {
		t.Errorf("row text: got %q, want %q", got, want)
	}
	if c.cwCheck.Checked || c.scope.Selected != textScopeCircle {
		t.Errorf("composer after send: got warning %v, scope %q; want off and %q", c.cwCheck.Checked, c.scope.Selected, textScopeCircle)
	}
}

func TestCloseTwice(t *testing.T) {
	h := newHarness(t)
	for i := range 2 {
		if err := h.m.Close(); err != nil {
			t.Errorf("Close %d: got %v, want nil", i+1, err)
		}
	}
}
