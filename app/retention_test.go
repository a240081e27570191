package app

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRetentionShredsOldEpochs(t *testing.T) {
	ctx := context.Background()
	a, b := newMember(t), newMember(t)
	id, err := a.h.CreateCircle(ctx, "grief", "ash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.h.Post(ctx, id, PostOptions{Text: "old words"}); err != nil {
		t.Fatal(err)
	}
	code, _ := a.h.Invite(ctx, id, InviteOptions{})
	if _, err := b.h.Join(ctx, code, "birch"); err != nil {
		t.Fatal(err)
	}
	if err := b.h.SetRetention(ctx, id, 1); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member sets retention: got %v, want ErrNotFacilitator", err)
	}
	if err := a.h.SetRetention(ctx, id, 2); !errors.Is(err, ErrInvalid) {
		t.Fatalf("2 days: got %v, want ErrInvalid", err)
	}
	if err := a.h.SetRetention(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.h.Post(ctx, id, PostOptions{Text: "new words"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the setting at B", func() bool {
		cs := b.h.Circles()
		return len(cs) == 1 && cs[0].RetentionDays == 1
	})

	// Three days on, A's store drops the epoch that ended two days ago.
	later, err := New(a.v, Options{Now: func() time.Time { return time.Now().Add(3 * day) }})
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	c, err := later.circle(id)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	err = c.shredExpiredLocked()
	_, kept := c.epochs[1]
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if kept {
		t.Fatal("the key of epoch 1 is still held")
	}
	msgs, err := later.History(id, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	if hasAll(texts, "old words") || !hasAll(texts, "new words") {
		t.Fatalf("got %q, want the new words only", texts)
	}
}
