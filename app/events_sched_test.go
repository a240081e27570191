package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
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

// A welcome pack carries consented posts and resources, and events only
// until they are over, by the Hearth's clock.
func TestWelcomedKinds(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	event := func(start time.Time, minutes uint32) *envelope.Record {
		b, err := proto.Marshal(&record.Event{Title: "circle", StartMs: start.UnixMilli(), DurationMin: minutes})
		if err != nil {
			t.Fatal(err)
		}
		return &envelope.Record{Kind: envelope.Kind_KIND_EVENT, Body: b}
	}
	tests := []struct {
		name string
		rec  *envelope.Record
		want bool
	}{
		{"post", &envelope.Record{Kind: envelope.Kind_KIND_POST}, true},
		{"resource", &envelope.Record{Kind: envelope.Kind_KIND_RESOURCE}, true},
		{"reaction", &envelope.Record{Kind: envelope.Kind_KIND_REACTION}, false},
		{"guidelines", &envelope.Record{Kind: envelope.Kind_KIND_GUIDELINES}, false},
		{"event to come", event(now.Add(time.Hour), 60), true},
		{"event under way", event(now.Add(-30*time.Minute), 60), true},
		{"event over", event(now.Add(-2*time.Hour), 60), false},
		{"event that ended this instant", event(now.Add(-time.Hour), 60), false},
		{"event body that does not decode", &envelope.Record{Kind: envelope.Kind_KIND_EVENT, Body: []byte{0xff}}, false},
	}
	for _, tc := range tests {
		if got := welcomed(tc.rec, now); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
