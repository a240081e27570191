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

// allowLive reports whether a record of author may be taken from gossip now.
func (c *circle) allowLive(author MemberID) bool {
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
	return l.Allow()
}
