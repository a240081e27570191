package app

import (
	"context"
	"errors"
	"testing"
)

// An author who narrows a post's scope takes it out of every later welcome
// pack.
func TestNarrowScope(t *testing.T) {
	ctx := context.Background()
	a, b := newMember(t), newMember(t)
	id, err := a.h.CreateCircle(ctx, "recovery", "ash")
	if err != nil {
		t.Fatal(err)
	}
	shared, err := a.h.Post(ctx, id, PostOptions{Text: "my story, for whoever comes", Scope: ScopeFuture})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.h.NarrowScope(ctx, id, shared.ID, ScopeCircle); err != nil {
		t.Fatal(err)
	}
	if m := findPost(t, a, id, shared.ID); m == nil || m.Scope != ScopeCircle {
		t.Fatalf("got %+v, want the post with scope circle", m)
	}
	code, _ := a.h.Invite(ctx, id, InviteOptions{})
	if _, err := b.h.Join(ctx, code, "birch"); err != nil {
		t.Fatal(err)
	}
	if findPost(t, b, id, shared.ID) != nil {
		t.Fatal("a post whose author withdrew consent reached a newcomer")
	}
	if err := b.h.NarrowScope(ctx, id, shared.ID, ScopeCircle); !errors.Is(err, ErrInvalid) {
		t.Fatalf("narrowing another's post: got %v, want ErrInvalid", err)
	}
}

// A report reaches the facilitators alone.
func TestReportPrivately(t *testing.T) {
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	p, err := c.h.Post(ctx, id, PostOptions{Text: "something hurtful"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post at B", func() bool { return findPost(t, b, id, p.ID) != nil })
	if err := b.h.Report(ctx, id, p.ID, "this hurt me"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the report at A", func() bool {
		rs, err := a.h.Reports(id)
		return err == nil && len(rs) == 1 && rs[0].Text == "this hurt me" && rs[0].Target == p.ID && rs[0].FromNick == "birch"
	})
	if _, err := c.h.Reports(id); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member reads reports: got %v, want ErrNotFacilitator", err)
	}
	// C holds the report's envelope but cannot read it.
	cc, _ := c.h.circle(id)
	cc.mu.Lock()
	n := 0
	cc.store.List(cc.id, bucketReports, func(_, _ []byte) error { n++; return nil })
	cc.mu.Unlock()
	if n != 0 {
		t.Fatalf("a member who is not a facilitator kept %d reports", n)
	}
}
