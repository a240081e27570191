package ui

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// rowOf builds and fills a list row for message i of c, as the list would.
func rowOf(c *chatView, i int) *fyne.Container {
	row := newRow().(*fyne.Container)
	c.updateRow(i, row)
	return row
}

// rowActions is a row's reaction and Reply buttons.
func rowActions(row *fyne.Container) *fyne.Container {
	right := row.Objects[0].(*fyne.Container).Objects[1].(*fyne.Container)
	if len(right.Objects) == 0 {
		right = row.Objects[4].(*fyne.Container)
	}
	return right.Objects[0].(*fyne.Container)
}

func indexOf(c *chatView, id string) int {
	for i, m := range c.msgs {
		if m.ID == id {
			return i
		}
	}
	return -1
}

func TestReactionsShowCounts(t *testing.T) {
	h, other, id := joinedPair(t)
	msg, err := h.core.Post(context.Background(), id, app.PostOptions{Text: "a long week"})
	if err != nil {
		t.Fatal(err)
	}
	h.until("the post on show", func() bool { return indexOf(h.m.chat, msg.ID) >= 0 })
	other.until("the post reaches the other member", func() bool {
		got, _ := other.core.History(id, "", 5)
		return len(got) > 0 && got[len(got)-1].ID == msg.ID
	})
	// The other member sends strength; this one hears it.
	if err := other.core.React(context.Background(), id, msg.ID, "Sending strength"); err != nil {
		t.Fatal(err)
	}
	c := h.m.chat
	h.until("the reaction counted", func() bool { return c.msgs[indexOf(c, msg.ID)].Reactions["Sending strength"] == 1 })
	row := rowOf(c, indexOf(c, msg.ID))
	actions := rowActions(row)
	strength := actions.Objects[2].(*widget.Button)
	if got, want := strength.Text, "Sending strength · 1"; got != want {
		t.Errorf("reaction button: got %q, want %q", got, want)
	}
	// This member taps "I hear you": counted, and marked as theirs.
	test.Tap(actions.Objects[0].(*widget.Button))
	h.drain()
	m := c.msgs[indexOf(c, msg.ID)]
	if m.Reactions["I hear you"] != 1 || m.MyReaction != "I hear you" {
		t.Fatalf("after tapping I hear you: got %v (mine %q), want one, mine", m.Reactions, m.MyReaction)
	}
	row = rowOf(c, indexOf(c, msg.ID))
	hear := rowActions(row).Objects[0].(*widget.Button)
	if got, want := hear.Text, "I hear you · 1"; got != want || hear.Importance != widget.HighImportance {
		t.Errorf("own reaction button: got %q (importance %v), want %q, high", got, hear.Importance, want)
	}
	// Tapping it again takes it back.
	test.Tap(hear)
	h.drain()
	if m := c.msgs[indexOf(c, msg.ID)]; m.Reactions["I hear you"] != 0 || m.MyReaction != "" {
		t.Errorf("after tapping again: got %v (mine %q), want none", m.Reactions, m.MyReaction)
	}
}

func TestReplyShowsQuote(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	c := h.m.chat
	first, err := h.core.Post(context.Background(), c.id, app.PostOptions{Text: "Does anyone else sleep badly?\nIt has been weeks."})
	if err != nil {
		t.Fatal(err)
	}
	h.until("the post on show", func() bool { return indexOf(c, first.ID) >= 0 })
	row := rowOf(c, indexOf(c, first.ID))
	test.Tap(rowActions(row).Objects[len(app.Reactions)].(*widget.Button)) // Reply
	if !c.replyBar.Visible() || c.replyTo != first.ID {
		t.Fatalf("after Reply: got bar %v, reply to %q; want shown, %q", c.replyBar.Visible(), c.replyTo, first.ID)
	}
	want := "Replying to river: Does anyone else sleep badly? …"
	if got := c.replyLabel.Text; got != want {
		t.Errorf("reply bar: got %q, want %q", got, want)
	}
	test.Type(c.entry, "me too")
	test.Tap(c.send)
	h.drain()
	hist, err := h.core.History(c.id, "", 5)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.Text != "me too" || last.ReplyTo != first.ID {
		t.Fatalf("stored reply: got %q answering %q, want %q answering %q", last.Text, last.ReplyTo, "me too", first.ID)
	}
	if c.replyBar.Visible() {
		t.Error("reply bar after sending: got shown, want hidden")
	}
	quote := rowOf(c, indexOf(c, last.ID)).Objects[1].(*widget.Label)
	if !quote.Visible() || quote.Text != want {
		t.Errorf("reply row quote: got %q (shown %v), want %q", quote.Text, quote.Visible(), want)
	}
}

func TestGuidelinesSummary(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"# Our agreements\n\n- Be kind", "set the circle's guidelines: “Our agreements”"},
		{"\n\n**What is said here stays here**", "set the circle's guidelines: “What is said here stays here”"},
		{"", "set the circle's guidelines"},
	} {
		if got := guidelinesSummary(tc.in); got != tc.want {
			t.Errorf("guidelinesSummary(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLiveMessagesStayBounded(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	c := h.m.chat
	c.maxHeld = 30
	start := len(c.msgs)
	for i := range c.maxHeld + 10 {
		c.add(app.Message{ID: fmt.Sprintf("m-%d", i), Cursor: fmt.Sprintf("c-%d", i), Kind: "post", Text: "hello", Mine: true})
	}
	if got := len(c.msgs); got != c.maxHeld {
		t.Fatalf("messages held after %d: got %d, want %d", c.maxHeld+10+start, got, c.maxHeld)
	}
	if got, want := c.msgs[len(c.msgs)-1].ID, fmt.Sprintf("m-%d", c.maxHeld+9); got != want {
		t.Errorf("newest on show: got %s, want %s", got, want)
	}
	if got, want := c.cursor, c.msgs[0].Cursor; got != want || c.earlier.Disabled() {
		t.Errorf("paging back from the oldest held: got cursor %q (button disabled %v), want %q, enabled", got, c.earlier.Disabled(), want)
	}
	if len(c.seen) != c.maxHeld {
		t.Errorf("ids remembered: got %d, want %d", len(c.seen), c.maxHeld)
	}
}

// TestNoItalicInChat: a chat with a post, a reply quoting it and an event
// (new guidelines) draws no italic text, which would make Fyne load and
// keep two more font faces (see look.Font).
func TestNoItalicInChat(t *testing.T) {
	h := newHarness(t)
	h.createCircle("Tuesday group", "river")
	c := h.m.chat
	ctx := context.Background()
	first, err := h.core.Post(ctx, c.id, app.PostOptions{Text: "Does anyone else sleep badly?"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := h.core.Post(ctx, c.id, app.PostOptions{Text: "me too", ReplyTo: first.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.core.SetGuidelines(ctx, c.id, "# Our agreements\n\n- Be *kind*"); err != nil {
		t.Fatal(err)
	}
	event := -1
	h.until("the reply and the event on show", func() bool {
		event = slices.IndexFunc(c.msgs, func(m app.Message) bool { return m.Kind != "post" })
		return indexOf(c, reply.ID) >= 0 && event >= 0
	})
	for _, i := range []int{indexOf(c, first.ID), indexOf(c, reply.ID), event} {
		for _, txt := range italicTexts(rowOf(c, i)) {
			t.Errorf("row %d (%s): %q drawn in italic, want no italic", i, c.msgs[i].Kind, txt)
		}
	}
}

// italicTexts are the texts under o drawn in italic.
func italicTexts(o fyne.CanvasObject) (out []string) {
	for _, o := range test.LaidOutObjects(o) {
		if txt, ok := o.(*canvas.Text); ok && txt.Visible() && txt.Text != "" && txt.TextStyle.Italic {
			out = append(out, txt.Text)
		}
	}
	return out
}
