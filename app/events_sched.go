package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
)

// Answers a member may give an event.
var Answers = []string{"yes", "maybe", "no"}

const (
	bucketEvents = "events" // event ref → record.Event
	bucketRsvps  = "rsvps"  // event ref ‖ member → answer
	maxTitle     = 200
	maxWhere     = 500
	maxDesc      = 4 << 10
)

// EventOptions describe a session to schedule.
type EventOptions struct {
	Title       string
	Start       time.Time // in the time zone it is meant in
	Duration    time.Duration
	Where       string // a place or a link
	Description string
}

// EventInfo is a scheduled session as members see it.
type EventInfo struct {
	ID          string
	Title       string
	Start       time.Time // in the zone it was scheduled in
	Duration    time.Duration
	Where       string
	Description string
	Answers     map[string]int // "yes" → 3 ...
	MyAnswer    string
}

// scheduled is the circle's events and answers, kept in memory.
type scheduled struct {
	events  map[entryKey]*record.Event
	answers map[entryKey]map[MemberID]string
}

func (c *circle) loadEvents() error {
	c.sched = scheduled{events: map[entryKey]*record.Event{}, answers: map[entryKey]map[MemberID]string{}}
	if err := c.store.List(c.id, bucketEvents, func(k, v []byte) error {
		t, ok := parseRefKey(k)
		ev := new(record.Event)
		if ok && proto.Unmarshal(v, ev) == nil {
			c.sched.events[t] = ev
		}
		return nil
	}); err != nil {
		return err
	}
	return c.store.List(c.id, bucketRsvps, func(k, v []byte) error {
		if t, ok := parseRefKey(k); ok && len(k) == 40 {
			c.setAnswer(t, MemberID(k[24:]), string(v))
		}
		return nil
	})
}

func (c *circle) setAnswer(t entryKey, who MemberID, answer string) {
	m := c.sched.answers[t]
	if m == nil {
		m = map[MemberID]string{}
		c.sched.answers[t] = m
	}
	m[who] = answer
}

// ScheduleEvent schedules a session; facilitators only. Events are shown to
// members who join later too, until they are over.
func (h *Hearth) ScheduleEvent(ctx context.Context, id CircleID, opt EventOptions) (string, error) {
	switch {
	case strings.TrimSpace(opt.Title) == "":
		return "", fmt.Errorf("%w: an event needs a title", ErrInvalid)
	case len(opt.Title) > maxTitle || len(opt.Where) > maxWhere || len(opt.Description) > maxDesc:
		return "", fmt.Errorf("event %w", ErrTooLong)
	case opt.Start.IsZero() || opt.Duration <= 0 || opt.Duration > 7*day:
		return "", fmt.Errorf("%w: an event needs a start and a duration of up to a week", ErrInvalid)
	}
	ev := &record.Event{
		Title: opt.Title, StartMs: opt.Start.UnixMilli(), Zone: opt.Start.Location().String(),
		DurationMin: uint32(opt.Duration / time.Minute), Where: opt.Where, Description: opt.Description,
	}
	c, err := h.circle(id)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
		c.mu.Unlock()
		return "", ErrNotFacilitator
	}
	out, o, err := c.publishLocked(envelope.Kind_KIND_EVENT, ev, envelope.Scope_SCOPE_FUTURE)
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	c.send(ctx, out)
	return messageID(o.Header.Author, o.Header.Seq), nil
}

// RSVP answers an event: "yes", "maybe" or "no".
func (h *Hearth) RSVP(ctx context.Context, id CircleID, event, answer string) error {
	if !slices.Contains(Answers, answer) {
		return fmt.Errorf("%w: answer yes, maybe or no", ErrInvalid)
	}
	ref, err := parseMessageID(event)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return h.publish(ctx, id, envelope.Kind_KIND_RSVP, &record.Rsvp{Event: ref, Answer: answer}, func(c *circle) error {
		t, _ := refOf(ref)
		if c.sched.events[t] == nil {
			return fmt.Errorf("%w: no such event", ErrInvalid)
		}
		return nil
	})
}

// applyEventLocked takes a verified event: facilitators schedule.
func (c *circle) applyEventLocked(o *envelope.Opened, author *member) (func(), bool, error) {
	var ev record.Event
	if err := proto.Unmarshal(o.Record.Body, &ev); err != nil || author.rec.Role != record.Role_ROLE_FACILITATOR {
		return nil, false, errRefused
	}
	return nil, false, c.keepEventLocked(entryKey{o.Header.Author, o.Header.Seq}, &ev)
}

func (c *circle) keepEventLocked(t entryKey, ev *record.Event) error {
	b, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	c.sched.events[t] = ev
	return c.store.Put(c.id, bucketEvents, refKey(t), b, false)
}

// applyRsvpLocked takes a verified answer.
func (c *circle) applyRsvpLocked(o *envelope.Opened) (func(), bool, error) {
	var r record.Rsvp
	if err := proto.Unmarshal(o.Record.Body, &r); err != nil || !slices.Contains(Answers, r.Answer) {
		return nil, false, errRefused
	}
	t, ok := refOf(r.Event)
	if !ok {
		return nil, false, errRefused
	}
	who := o.Header.Author
	c.setAnswer(t, who, r.Answer)
	if err := c.store.Put(c.id, bucketRsvps, append(refKey(t), who[:]...), []byte(r.Answer), false); err != nil {
		return nil, false, err
	}
	return c.updated(t), false, nil
}

// Events lists the circle's sessions that have not ended, soonest first.
func (h *Hearth) Events(id CircleID) ([]EventInfo, error) {
	c, err := h.circle(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := h.now()
	var out []EventInfo
	for t, ev := range c.sched.events {
		info := c.eventInfoLocked(t, ev)
		if info.Start.Add(info.Duration).Before(now) || c.after.retracted[t] {
			continue
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b EventInfo) int { return a.Start.Compare(b.Start) })
	return out, nil
}

func (c *circle) eventInfoLocked(t entryKey, ev *record.Event) EventInfo {
	start := time.UnixMilli(ev.StartMs)
	if loc, err := time.LoadLocation(ev.Zone); err == nil {
		start = start.In(loc)
	}
	info := EventInfo{
		ID: messageID(t.author, t.seq), Title: cleanName(ev.Title), Start: start,
		Duration: time.Duration(ev.DurationMin) * time.Minute, Where: cleanText(ev.Where),
		Description: cleanText(ev.Description), Answers: map[string]int{},
	}
	for who, a := range c.sched.answers[t] {
		info.Answers[a]++
		if who == c.selfID {
			info.MyAnswer = a
		}
	}
	return info
}

// EventICS exports an event as an iCalendar (.ics) file for a calendar app.
// It holds what the event says and the circle's name, nothing else.
func (h *Hearth) EventICS(id CircleID, event string) ([]byte, error) {
	ref, err := parseMessageID(event)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c, err := h.circle(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	t, _ := refOf(ref)
	ev := c.sched.events[t]
	var info EventInfo
	if ev != nil {
		info = c.eventInfoLocked(t, ev)
	}
	name := cleanName(c.state.Name)
	c.mu.Unlock()
	if ev == nil {
		return nil, fmt.Errorf("%w: no such event", ErrInvalid)
	}
	cal := ics.NewCalendar()
	cal.SetMethod(ics.MethodPublish)
	cal.SetProductId("-//Hearth//Hearth//EN")
	e := cal.AddEvent(info.ID + "@hearth")
	e.SetDtStampTime(h.now())
	e.SetStartAt(info.Start)
	e.SetEndAt(info.Start.Add(info.Duration))
	e.SetSummary(info.Title + " (" + name + ")")
	if info.Where != "" {
		e.SetLocation(info.Where)
	}
	if info.Description != "" {
		e.SetDescription(info.Description)
	}
	return []byte(cal.Serialize()), nil
}
