package app

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestInsights(t *testing.T) {
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	first, err := b.h.Post(ctx, id, PostOptions{Text: "is anyone else awake?"})
	if err != nil {
		t.Fatal(err)
	}
	lonely, err := c.h.Post(ctx, id, PostOptions{Text: "nobody answers this"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the posts at A", func() bool {
		return findPost(t, a, id, first.ID) != nil && findPost(t, a, id, lonely.ID) != nil
	})
	if _, err := a.h.Post(ctx, id, PostOptions{Text: "I am, how are you?", ReplyTo: first.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.Insights(id); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member asks: got %v, want ErrNotFacilitator", err)
	}
	in, err := a.h.Insights(id)
	if err != nil {
		t.Fatal(err)
	}
	if in.Posts != 3 || in.ActiveMembers != 3 || in.Unanswered != 2 {
		t.Fatalf("got %d posts, %d active, %d unanswered; want 3, 3, 2", in.Posts, in.ActiveMembers, in.Unanswered)
	}
	if in.MedianFirstReply < 0 || in.MedianFirstReply > time.Minute {
		t.Fatalf("got median first reply %v, want at most a few milliseconds", in.MedianFirstReply)
	}
	if len(in.PostsPerWeek) != 1 || in.PostsPerWeek[0].Posts != 3 || in.PostsPerWeek[0].Week.Weekday() != time.Monday {
		t.Fatalf("got weeks %+v, want this week's 3", in.PostsPerWeek)
	}
}
