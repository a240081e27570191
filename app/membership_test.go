package app

import (
	"context"
	"errors"
	"testing"
	"time"
)

func epochOf(t *testing.T, m *testMember, id CircleID) uint64 {
	t.Helper()
	for _, c := range m.h.Circles() {
		if c.ID == id {
			return c.Epoch
		}
	}
	return 0
}

// A removed member reads nothing posted after its removal, and its peer is
// no longer admitted.
func TestRemoveMember(t *testing.T) {
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	var cID MemberID
	ms, _ := c.h.Members(id)
	for _, m := range ms {
		if m.Self {
			cID = m.ID
		}
	}
	if err := b.h.Remove(ctx, id, cID, "not a facilitator"); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member removes: got %v, want ErrNotFacilitator", err)
	}
	removed, cancel := c.h.Subscribe()
	defer cancel()
	before := epochOf(t, a, id)
	if err := a.h.Remove(ctx, id, cID, "asked to leave"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B in the new epoch", func() bool { return epochOf(t, b, id) > before })
	if _, err := a.h.Post(ctx, id, PostOptions{Text: "after the removal"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to read the post", func() bool { return hasAll(b.texts(id), "after the removal") })
	waitFor(t, "C to learn it was removed", func() bool {
		for {
			select {
			case ev := <-removed:
				if ev.Kind == EventRemoved {
					return true
				}
			default:
				return false
			}
		}
	})
	if hasAll(c.texts(id), "after the removal") {
		t.Fatal("the removed member read a post made after its removal")
	}
	if epochOf(t, c, id) > before {
		t.Fatalf("the removed member holds epoch %d, opened after its removal", epochOf(t, c, id))
	}
	if _, err := c.h.Post(ctx, id, PostOptions{Text: "still here?"}); !errors.Is(err, ErrNotMember) {
		t.Fatalf("removed member posts: got %v, want ErrNotMember", err)
	}
	for _, m := range []*testMember{a, b} {
		ms, _ := m.h.Members(id)
		if len(ms) != 2 {
			t.Fatalf("got %d members, want 2", len(ms))
		}
	}
}

// A member who leaves forgets the circle; a facilitator rotates the keys.
func TestLeave(t *testing.T) {
	ctx := context.Background()
	id, a, b, _ := circleOfThree(t)
	waitConnected(t, b, a, id) // the goodbye needs a connection
	before := epochOf(t, a, id)
	if err := b.h.Leave(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.History(id, "", 10); !errors.Is(err, ErrNoCircle) {
		t.Fatalf("history after leaving: got %v, want ErrNoCircle", err)
	}
	if len(b.h.Circles()) != 0 {
		t.Fatal("the circle is still listed after leaving")
	}
	waitFor(t, "the facilitator to rotate the keys", func() bool { return epochOf(t, a, id) > before })
	deadline := time.Now().Add(30 * time.Second)
	for {
		ms, _ := a.h.Members(id)
		if len(ms) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d members after a leave, want 2", len(ms))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCoFacilitator(t *testing.T) {
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	idOf := func(m *testMember) MemberID {
		ms, _ := m.h.Members(id)
		for _, x := range ms {
			if x.Self {
				return x.ID
			}
		}
		t.Fatal("no self")
		return MemberID{}
	}
	if err := b.h.SetRole(ctx, id, idOf(c), RoleFacilitator); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member promotes: got %v, want ErrNotFacilitator", err)
	}
	if err := a.h.SetRole(ctx, id, idOf(b), RoleFacilitator); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to be a facilitator at C", func() bool {
		ms, _ := c.h.Members(id)
		for _, m := range ms {
			if m.Nick == "birch" {
				return m.Role == RoleFacilitator
			}
		}
		return false
	})
	// Now B may remove.
	if err := b.h.Remove(ctx, id, idOf(c), ""); err != nil {
		t.Fatalf("co-facilitator removes: %v", err)
	}
}
