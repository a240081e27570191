package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEventsAndRSVP(t *testing.T) {
	ctx := context.Background()
	id, a, b, _ := circleOfThree(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database")
	}
	start := time.Now().Add(48 * time.Hour).In(berlin).Truncate(time.Minute)
	opt := EventOptions{Title: "Tuesday check-in", Start: start, Duration: 90 * time.Minute, Where: "here, in Hearth"}
	if _, err := b.h.ScheduleEvent(ctx, id, opt); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member schedules: got %v, want ErrNotFacilitator", err)
	}
	ev, err := a.h.ScheduleEvent(ctx, id, opt)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event at B", func() bool {
		es, _ := b.h.Events(id)
		return len(es) == 1 && es[0].ID == ev
	})
	if err := b.h.RSVP(ctx, id, ev, "yes"); err != nil {
		t.Fatal(err)
	}
	if err := b.h.RSVP(ctx, id, ev, "perhaps"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown answer: got %v, want ErrInvalid", err)
	}
	waitFor(t, "B's answer at A", func() bool {
		es, _ := a.h.Events(id)
		return len(es) == 1 && es[0].Answers["yes"] == 1
	})
	es, _ := a.h.Events(id)
	if !es[0].Start.Equal(start) || es[0].Start.Location().String() != "Europe/Berlin" || es[0].Duration != 90*time.Minute {
		t.Fatalf("got start %v (%s), duration %v; want %v in Europe/Berlin, 1h30m", es[0].Start, es[0].Start.Location(), es[0].Duration, start)
	}
	cal, err := b.h.EventICS(id, ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BEGIN:VCALENDAR", "SUMMARY:Tuesday check-in (Tuesday evening)", "LOCATION:here\\, in Hearth", "DTSTART"} {
		if !strings.Contains(string(cal), want) {
			t.Fatalf("ics lacks %q:\n%s", want, cal)
		}
	}
	// A newcomer is told of the upcoming session.
	d := newMember(t)
	code, _ := a.h.Invite(ctx, id, InviteOptions{})
	if _, err := d.h.Join(ctx, code, "dune"); err != nil {
		t.Fatal(err)
	}
	got, _ := d.h.Events(id)
	if len(got) != 1 || got[0].Title != "Tuesday check-in" {
		t.Fatalf("newcomer got events %+v, want the check-in", got)
	}
}
