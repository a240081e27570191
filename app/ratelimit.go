package app

import (
	"sync"

	"golang.org/x/time/rate"
)

// Live gossip per author: a steady rate and a burst far above what a person
// types, so only a flood (a broken or hostile client) is held back.
const (
	liveRate  = 200 // records per second
	liveBurst = 1000
)

// liveLimits holds a token bucket per author for records arriving by gossip.
type liveLimits struct {
	mu sync.Mutex
	by map[MemberID]*rate.Limiter
}

// allowLive reports whether a record of author may be taken from gossip now,
// and takes one from the author's allowance.
func (c *circle) allowLive(author MemberID) bool { return c.liveLimiter(author).Allow() }

// liveRoom reports whether author has allowance left, taking nothing: the
// header's author is not checked yet, and a record forged in another's name
// must not use up that member's allowance.
func (c *circle) liveRoom(author MemberID) bool { return c.liveLimiter(author).Tokens() >= 1 }

func (c *circle) liveLimiter(author MemberID) *rate.Limiter {
	c.limits.mu.Lock()
	defer c.limits.mu.Unlock()
	if c.limits.by == nil {
		c.limits.by = map[MemberID]*rate.Limiter{}
	}
	l := c.limits.by[author]
	if l == nil {
		if len(c.limits.by) > 10_000 {
			clear(c.limits.by) // ids are not checked yet: bound the map
		}
		l = rate.NewLimiter(liveRate, liveBurst)
		c.limits.by[author] = l
	}
	return l
}
