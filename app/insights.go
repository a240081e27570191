package app

import (
	"slices"
	"time"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/storage"
)

// Insights are what a facilitator may learn of a circle's life, computed
// on this machine from its own store and never sent anywhere.
type Insights struct {
	// PostsPerWeek counts posts by the week (Monday, UTC) they were sent,
	// oldest first.
	PostsPerWeek []WeekCount
	// ActiveMembers: members who posted in the last 30 days.
	ActiveMembers int
	// Unanswered: posts that no other member replied to.
	Unanswered int
	// MedianFirstReply: the median time from a post to its first reply by
	// another member; zero when no post has a reply.
	MedianFirstReply time.Duration
	Posts            int
}

// WeekCount is one week's posts.
type WeekCount struct {
	Week  time.Time
	Posts int
}

// Insights computes the circle's insights. Facilitators only.
func (h *Hearth) Insights(id CircleID) (Insights, error) {
	c, err := h.circle(id)
	if err != nil {
		return Insights{}, err
	}
	c.mu.Lock()
	if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
		c.mu.Unlock()
		return Insights{}, ErrNotFacilitator
	}
	c.flushPendingLocked()
	c.mu.Unlock()

	type post struct {
		author MemberID
		sent   time.Time
		reply  time.Time // first reply by another member
	}
	posts := map[string]*post{}
	var replies []Message
	var cur *storage.Cursor
	for {
		page, err := c.store.Latest([16]byte(id), cur, storage.MaxPage)
		if err != nil {
			return Insights{}, err
		}
		if len(page) == 0 {
			break
		}
		c.mu.Lock()
		for _, it := range page {
			s, rec, ok := decodeStored(it)
			if !ok {
				continue
			}
			m := c.messageLocked(s, rec)
			if m.Kind != "post" && m.Kind != "hidden" {
				continue
			}
			posts[m.ID] = &post{author: m.Author, sent: m.SentAt}
			if m.ReplyTo != "" {
				replies = append(replies, m)
			}
		}
		c.mu.Unlock()
		last := page[len(page)-1]
		cur = &storage.Cursor{Lamport: last.Lamport, Author: last.Author, Seq: last.Seq}
	}
	for _, r := range replies {
		p := posts[r.ReplyTo]
		if p == nil || p.author == r.Author {
			continue
		}
		if p.reply.IsZero() || r.SentAt.Before(p.reply) {
			p.reply = r.SentAt
		}
	}

	var in Insights
	weeks := map[time.Time]int{}
	active := map[MemberID]bool{}
	var waits []time.Duration
	since := h.now().Add(-30 * day)
	for _, p := range posts {
		in.Posts++
		weeks[weekOf(p.sent)]++
		if p.sent.After(since) {
			active[p.author] = true
		}
		if p.reply.IsZero() {
			in.Unanswered++
		} else {
			waits = append(waits, max(0, p.reply.Sub(p.sent)))
		}
	}
	for w, n := range weeks {
		in.PostsPerWeek = append(in.PostsPerWeek, WeekCount{Week: w, Posts: n})
	}
	slices.SortFunc(in.PostsPerWeek, func(a, b WeekCount) int { return a.Week.Compare(b.Week) })
	in.ActiveMembers = len(active)
	if len(waits) > 0 {
		slices.Sort(waits)
		in.MedianFirstReply = waits[len(waits)/2]
	}
	return in, nil
}

// weekOf is the Monday 00:00 UTC that starts t's week.
func weekOf(t time.Time) time.Time {
	t = t.UTC()
	d := (int(t.Weekday()) + 6) % 7
	return time.Date(t.Year(), t.Month(), t.Day()-d, 0, 0, 0, 0, time.UTC)
}
