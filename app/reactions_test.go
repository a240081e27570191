package app

import (
	"context"
	"errors"
	"testing"
)

func findPost(t *testing.T, m *testMember, id CircleID, text string) *Message {
	t.Helper()
	msgs, err := m.h.History(id, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range msgs {
		if msgs[i].Text == text || msgs[i].ID == text {
			return &msgs[i]
		}
	}
	return nil
}

func TestReactRetractHide(t *testing.T) {
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	hard, err := b.h.Post(ctx, id, PostOptions{Text: "today was hard"})
	if err != nil {
		t.Fatal(err)
	}
	regret, err := b.h.Post(ctx, id, PostOptions{Text: "I should not have said that", Scope: ScopeFuture})
	if err != nil {
		t.Fatal(err)
	}
	rude, err := c.h.Post(ctx, id, PostOptions{Text: "something unkind"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the posts at A", func() bool { return findPost(t, a, id, rude.ID) != nil && findPost(t, a, id, hard.ID) != nil })

	if err := a.h.React(ctx, id, hard.ID, "I hear you"); err != nil {
		t.Fatal(err)
	}
	if err := c.h.React(ctx, id, hard.ID, "Sending strength"); err != nil {
		t.Fatal(err)
	}
	if err := a.h.React(ctx, id, hard.ID, "lol"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown reaction: got %v, want ErrInvalid", err)
	}
	waitFor(t, "two reactions at B", func() bool {
		m := findPost(t, b, id, hard.ID)
		return m != nil && m.Reactions["I hear you"] == 1 && m.Reactions["Sending strength"] == 1
	})

	if err := c.h.Hide(ctx, id, rude.ID, "not kind"); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member hides: got %v, want ErrNotFacilitator", err)
	}
	if err := a.h.Hide(ctx, id, rude.ID, "please be kind"); err != nil {
		t.Fatal(err)
	}
	if err := a.h.Retract(ctx, id, regret.ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("retracting another's post: got %v, want ErrInvalid", err)
	}
	if err := b.h.Retract(ctx, id, regret.ID); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*testMember{a, b, c} {
		waitFor(t, "the hiding and the retraction everywhere", func() bool {
			h := findPost(t, m, id, rude.ID)
			return h != nil && h.Kind == "hidden" && h.Text == "" && h.HiddenReason == "please be kind" &&
				findPost(t, m, id, regret.ID) == nil
		})
	}
	// A newcomer's welcome pack holds neither.
	d := newMember(t)
	code, err := a.h.Invite(ctx, id, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.h.Join(ctx, code, "dune"); err != nil {
		t.Fatal(err)
	}
	if findPost(t, d, id, "I should not have said that") != nil {
		t.Fatal("a withdrawn post reached a newcomer")
	}
}
