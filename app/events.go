package app

import "sync"

// EventKind says what changed.
type EventKind int

const (
	// EventMessage: a new record to show (Event.Message).
	EventMessage EventKind = iota + 1
	// EventMembers: the roster changed.
	EventMembers
	// EventConnection: a peer connected or disconnected (Event.Peer).
	EventConnection
	// EventEpoch: the circle moved to a new epoch.
	EventEpoch
	// EventCircles: a circle was created or joined.
	EventCircles
	// EventRemoved: this member was removed from the circle.
	EventRemoved
	// EventEquivocation: a member signed two different records for the same
	// position; facilitators are shown the evidence.
	EventEquivocation
	// EventUpdated: a post got a reaction, was withdrawn or hidden
	// (Event.Message.ID names it); read it again.
	EventUpdated
	// EventReport: a member reported a post to this facilitator.
	EventReport
)

// Event is a change in one of the vault's circles.
type Event struct {
	Kind    EventKind
	Circle  CircleID
	Message *Message
	Peer    string
}

// eventBuffer is how many events a slow subscriber may fall behind before
// it misses some (it can always re-read the history).
const eventBuffer = 1024

// hub fans events out to subscribers without ever blocking the sender.
type hub struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

// Subscribe returns a channel of events and a function that ends the
// subscription. A subscriber that falls behind misses events rather than
// slowing the circle.
func (h *Hearth) Subscribe() (<-chan Event, func()) {
	return h.events.subscribe()
}

func (h *Hearth) emit(e Event) { h.events.send(e) }

func (b *hub) subscribe() (<-chan Event, func()) {
	ch := make(chan Event, eventBuffer)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(ch)
		return ch, func() {}
	}
	if b.subs == nil {
		b.subs = map[chan Event]struct{}{}
	}
	b.subs[ch] = struct{}{}
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *hub) send(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (b *hub) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		close(ch)
	}
	b.subs = nil
}
