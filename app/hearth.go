package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/assets"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/epoch"
	"github.com/hearth-circles/hearth/crypto/identity"
	"github.com/hearth-circles/hearth/p2p"
	"github.com/hearth-circles/hearth/storage"
)

// Options configure a Hearth.
type Options struct {
	// Listen are the address templates each circle's node listens on. A
	// port of 0 is replaced by the port the circle used last time, so that
	// addresses others hold stay valid. Nil: loopback, TCP and QUIC.
	Listen []multiaddr.Multiaddr
	// MDNS turns on LAN discovery (it announces on the local network).
	MDNS   bool
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// SyncEvery is the period of catch-up sync; zero is the node's default.
	SyncEvery time.Duration
}

// DefaultListen is where circles listen when no address is given.
var DefaultListen = []multiaddr.Multiaddr{
	multiaddr.StringCast("/ip4/127.0.0.1/tcp/0"),
	multiaddr.StringCast("/ip4/127.0.0.1/udp/0/quic-v1"),
}

// Hearth is an unlocked vault's circles: their state, their history and, once
// Online, one libp2p node per circle.
type Hearth struct {
	v     *Vault
	store *storage.Store
	opt   Options
	log   *slog.Logger

	mu      sync.Mutex
	circles map[CircleID]*circle
	taken   map[string]bool // listen addresses held by this Hearth's nodes
	online  context.Context // non-nil while online; cancelled by Close
	stop    context.CancelFunc
	wg      sync.WaitGroup
	closed  bool

	events  hub
	countMu sync.Mutex
	counts  map[string]uint64
}

// New loads the circles of an unlocked vault. It is offline until Online.
func New(v *Vault, opt Options) (*Hearth, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if len(opt.Listen) == 0 {
		opt.Listen = DefaultListen
	}
	h := &Hearth{
		v: v, store: v.Store(), opt: opt, log: opt.Logger,
		circles: map[CircleID]*circle{}, counts: map[string]uint64{}, taken: map[string]bool{},
	}
	ids, err := h.store.Circles()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if isMailboxCircle(h.store, id) {
			continue // served by a Mailbox, not a member's circle
		}
		c, err := loadCircle(h, CircleID(id))
		if err != nil {
			return nil, fmt.Errorf("circle %s: %w", CircleID(id), err)
		}
		h.circles[c.id] = c
	}
	return h, nil
}

func (h *Hearth) now() time.Time { return h.opt.Now() }

func (h *Hearth) count(what string) {
	h.countMu.Lock()
	h.counts[what]++
	h.countMu.Unlock()
}

// Counters returns how many envelopes were refused, ignored or dropped, by
// reason.
func (h *Hearth) Counters() map[string]uint64 {
	h.countMu.Lock()
	defer h.countMu.Unlock()
	out := make(map[string]uint64, len(h.counts))
	for k, v := range h.counts {
		out[k] = v
	}
	return out
}

func (h *Hearth) circle(id CircleID) (*circle, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.circles[id]
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoCircle, id)
	}
	return c, nil
}

func (h *Hearth) addCircle(c *circle) {
	h.mu.Lock()
	h.circles[c.id] = c
	h.mu.Unlock()
	h.emit(Event{Kind: EventCircles, Circle: c.id})
}

// background runs f on a goroutine that Close waits for, unless Hearth is
// closing.
func (h *Hearth) background(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
}

func (h *Hearth) isOnline() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.online != nil
}

// Close takes every circle offline and waits for the nodes to stop. It does
// not close the vault. It is safe to call more than once.
func (h *Hearth) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	stop := h.stop
	circles := slices.Collect(mapValues(h.circles))
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
	var errs []error
	for _, c := range circles {
		errs = append(errs, c.goOffline())
	}
	h.wg.Wait()
	h.events.close()
	return errors.Join(errs...)
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// Online brings every circle online (and those created or joined later) and
// returns once each node listens.
func (h *Hearth) Online(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errors.New("hearth is closed")
	}
	if h.online == nil {
		h.online, h.stop = context.WithCancel(context.Background())
	}
	circles := slices.Collect(mapValues(h.circles))
	h.mu.Unlock()
	for _, c := range circles {
		if err := h.bringOnline(ctx, c); err != nil {
			return fmt.Errorf("circle %s: %w", c.id, err)
		}
	}
	return nil
}

// loopbackListen is where a short-lived node (a join) listens.
func (h *Hearth) loopbackListen() []multiaddr.Multiaddr {
	return []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")}
}

// listenFor fills the port-0 templates with the ports the circle used last.
func listenFor(templates []multiaddr.Multiaddr, last [][]byte) []multiaddr.Multiaddr {
	prev := parseAddrs(last)
	out := make([]multiaddr.Multiaddr, 0, len(templates))
	for _, t := range templates {
		out = append(out, withPort(t, prev))
	}
	return out
}

// withPort gives template t, if its port is 0, the port of the previous
// address of the same transport.
func withPort(t multiaddr.Multiaddr, prev []multiaddr.Multiaddr) multiaddr.Multiaddr {
	for _, proto := range []int{multiaddr.P_TCP, multiaddr.P_UDP} {
		port, err := t.ValueForProtocol(proto)
		if err != nil || port != "0" {
			continue
		}
		for _, p := range prev {
			pp, err := p.ValueForProtocol(proto)
			if err != nil || pp == "0" || !sameTransport(t, p) {
				continue
			}
			s := t.String()
			name := "tcp"
			if proto == multiaddr.P_UDP {
				name = "udp"
			}
			if a, err := multiaddr.NewMultiaddr(replacePort(s, name, pp)); err == nil {
				return a
			}
		}
	}
	return t
}

// anyPort is addrs with every TCP and UDP port set to 0.
// newNodeOnFreePorts starts a circle's node on cfg.Listen, the addresses it
// used last (withLast) or the templates. libp2p listens with SO_REUSEPORT,
// so two circles could bind one fixed port and the kernel would share
// connections between them: a port another node of this process holds
// (taken, under mu) is never given to another, and the node's own are
// added to it.
func newNodeOnFreePorts(ctx context.Context, cfg p2p.Config, templates []multiaddr.Multiaddr, withLast bool, mu *sync.Mutex, taken map[string]bool) (*p2p.Node, error) {
	mu.Lock()
	for i, a := range cfg.Listen {
		if taken[a.String()] {
			cfg.Listen[i] = anyPort([]multiaddr.Multiaddr{a})[0]
		}
	}
	mu.Unlock()
	node, err := p2p.New(ctx, cfg)
	if err != nil && withLast {
		cfg.Listen = templates // the old ports are taken: the templates
		node, err = p2p.New(ctx, cfg)
	}
	if err != nil {
		// A fixed port serves one circle; the others take free ones.
		cfg.Listen = anyPort(templates)
		node, err = p2p.New(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	mu.Lock()
	for _, a := range node.Addrs() {
		taken[a.String()] = true
	}
	mu.Unlock()
	return node, nil
}

func anyPort(addrs []multiaddr.Multiaddr) []multiaddr.Multiaddr {
	out := make([]multiaddr.Multiaddr, 0, len(addrs))
	for _, a := range addrs {
		var parts []string
		zeroNext := false
		for _, c := range strings.Split(a.String(), "/") {
			if zeroNext {
				c, zeroNext = "0", false
			} else if c == "tcp" || c == "udp" {
				zeroNext = true
			}
			parts = append(parts, c)
		}
		if z, err := multiaddr.NewMultiaddr(strings.Join(parts, "/")); err == nil {
			out = append(out, z)
		}
	}
	return out
}

func sameTransport(a, b multiaddr.Multiaddr) bool {
	pa, pb := a.Protocols(), b.Protocols()
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa {
		if pa[i].Code != pb[i].Code {
			return false
		}
	}
	return true
}

func replacePort(s, proto, port string) string {
	return strings.Replace(s, "/"+proto+"/0", "/"+proto+"/"+port, 1)
}

// bringOnline starts the circle's node if Hearth is online.
func (h *Hearth) bringOnline(ctx context.Context, c *circle) error {
	h.mu.Lock()
	online := h.online
	h.mu.Unlock()
	if online == nil {
		return nil
	}
	c.mu.Lock()
	if c.node != nil || c.goneLocked() {
		c.mu.Unlock()
		return nil
	}
	last := c.state.Addrs
	c.mu.Unlock()

	cfg := p2p.Config{
		Key:       c.peerKey,
		Validate:  c.validate,
		Receive:   func(p2p.Message) {},
		Log:       (*circleLog)(c),
		SyncEvery: h.opt.SyncEvery,
		Logger:    c.log,
		MDNS:      h.opt.MDNS,
		Listen:    listenFor(h.opt.Listen, last),
		// Relayed pairs of members try to go direct.
		HolePunching: true,
	}
	node, err := newNodeOnFreePorts(ctx, cfg, h.opt.Listen, len(last) > 0, &h.mu, h.taken)
	if err != nil {
		return err
	}
	node.Handle(JoinProtocol, maxJoinRequest, c.handleJoin)

	c.mu.Lock()
	c.node = node
	c.syncing.Store(node)
	for _, m := range c.roster {
		if !m.rec.Gone {
			node.Allow(m.peer)
		}
	}
	nowMs := h.now().UnixMilli()
	for _, inv := range c.invites {
		if pid, err := peer.IDFromBytes(inv.Issued.PeerId); err == nil && nowMs < inv.Issued.ExpiresMs && inv.Used < inv.Issued.Uses {
			node.Allow(pid)
		}
	}
	c.joinTopicsLocked()
	c.state.Addrs = nil
	for _, a := range node.Addrs() {
		c.state.Addrs = append(c.state.Addrs, a.Bytes())
	}
	_ = c.saveStateLocked(false)
	var presence outgoing
	var perr error
	if !c.goneLocked() {
		presence, _, perr = c.publishLocked(envelope.Kind_KIND_PRESENCE, &record.Presence{Addrs: c.state.Addrs}, envelope.Scope_SCOPE_CIRCLE)
	}
	targets := c.dialTargetsLocked()
	c.mu.Unlock()

	h.background(func() { c.watchPeers(online, node) })
	h.background(func() { c.redial(online) })
	h.background(func() { c.keepRetention(online) })
	h.background(func() { c.followMailboxes(online) })
	if perr == nil {
		c.send(ctx, presence)
	}
	for _, t := range targets {
		go c.dial(t.id, t.addrs)
	}
	return nil
}

// dialTarget is a member to connect to at its last known addresses.
type dialTarget struct {
	id    peer.ID
	addrs []multiaddr.Multiaddr
}

// dialTargetsLocked lists the current members this node is not connected
// to, with their last known addresses.
func (c *circle) dialTargetsLocked() []dialTarget {
	var targets []dialTarget
	for _, m := range c.roster {
		if m.rec.Gone || m.id == c.selfID || c.connected[m.peer] {
			continue
		}
		targets = append(targets, dialTarget{m.peer, parseAddrs(m.rec.Addrs)})
	}
	return targets
}

// parseAddrs reads binary multiaddrs, skipping any that do not parse.
func parseAddrs(bs [][]byte) []multiaddr.Multiaddr {
	var out []multiaddr.Multiaddr
	for _, b := range bs {
		if a, err := multiaddr.NewMultiaddrBytes(b); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// watchPeers follows the node's connection events.
func (c *circle) watchPeers(ctx context.Context, node *p2p.Node) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-node.Events():
			if !ok {
				return
			}
			if ev.Addrs {
				c.announceAddrs(ctx) // a relay reservation came or went
				continue
			}
			c.mu.Lock()
			if ev.Connected {
				c.connected[ev.Peer] = true
			} else {
				delete(c.connected, ev.Peer)
			}
			c.mu.Unlock()
			c.h.emit(Event{Kind: EventConnection, Circle: c.id, Peer: ev.Peer.String()})
		}
	}
}

// redial reconnects, now and then, to members this node is not connected to.
func (c *circle) redial(ctx context.Context) {
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(5000))
		select {
		case <-ctx.Done():
			return
		case <-time.After(10*time.Second + time.Duration(n.Int64())*time.Millisecond):
		}
		c.mu.Lock()
		targets := c.dialTargetsLocked()
		c.mu.Unlock()
		for _, t := range targets {
			c.dial(t.id, t.addrs)
		}
	}
}

func (c *circle) goOffline() error {
	c.mu.Lock()
	c.flushPendingLocked()
	node := c.node
	c.node = nil
	c.syncing.Store(nil)
	clear(c.connected)
	c.mu.Unlock()
	if node == nil {
		return nil
	}
	return node.Close()
}

// validate is the gossip validator: the whole receive path runs here, so a
// record is checked and stored before it is forwarded, and a forged one is
// never passed on.
func (c *circle) validate(m p2p.Message) p2p.Verdict {
	if m.From == c.peerID() {
		return p2p.Accept // our own publish: already checked and stored
	}
	h, err := envelope.Parse(m.Data)
	if err != nil {
		c.h.count("refused_malformed")
		return p2p.Reject
	}
	if n := c.syncing.Load(); n != nil && h.Seq <= n.Claimed(h.Author) {
		// A catch-up session is bringing this record already, with the
		// others around it, checked in a batch: the gossip copy (asked
		// for on rejoining the topic) is left to it.
		c.h.count("ignored_syncing")
		return p2p.Ignore
	}
	if !c.liveRoom(h.Author) {
		// A member flooding the circle: its records beyond the rate are
		// neither stored nor passed on now; catch-up sync brings them
		// later, at its own pace, so the circle keeps working for the rest.
		c.h.count("rate_limited")
		return p2p.Ignore
	}
	switch c.receiveParsed(m.From, h, m.Data) {
	case vAccept:
		// Only a verified, new record uses up its author's allowance: one
		// forged in a member's name, or replayed, does not.
		c.allowLive(h.Author)
		// The record has just been announced, so the readers of the
		// events are runnable. Gossipsub goes on to forward the message,
		// waking a goroutine per peer, and each would run before them:
		// yielding once lets the member's screen have the post first.
		// With hearthd bench's ten peers on two cores this took the
		// median delivery from 1.4-1.5 times raw gossipsub's to below
		// it, and the highest rate every member keeps up with from
		// 170-720 to 1,190-3,110 posts a second (README).
		runtime.Gosched()
		return p2p.Accept
	case vDuplicate:
		return p2p.Accept
	case vReject:
		return p2p.Reject
	}
	return p2p.Ignore
}

// memberKeys are the keys a member makes for a circle it creates or joins:
// its identity there, and the key of its node there, so that neither
// links it to its other circles.
type memberKeys struct {
	self         *identity.Identity
	peerKey      crypto.PrivKey
	peerKeyBytes []byte
	peer         peer.ID
}

func newMemberKeys() (*memberKeys, error) {
	self, err := identity.New()
	if err != nil {
		return nil, err
	}
	peerKey, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	b, err := crypto.MarshalPrivateKey(peerKey)
	if err != nil {
		return nil, err
	}
	pid, err := peer.IDFromPrivateKey(peerKey)
	if err != nil {
		return nil, err
	}
	return &memberKeys{self: self, peerKey: peerKey, peerKeyBytes: b, peer: pid}, nil
}

// member is the roster entry of these keys.
func (k *memberKeys) member(nick string, role record.Role) *record.Member {
	pub := k.self.Public()
	return &record.Member{SignKey: pub.SignKey, SealKey: pub.SealKey, PeerId: []byte(k.peer), Nick: nick, Role: role}
}

// CreateCircle creates a circle with this member as its facilitator.
func (h *Hearth) CreateCircle(ctx context.Context, name, nick string) (CircleID, error) {
	if name == "" {
		return CircleID{}, errors.New("give the circle a name")
	}
	if len(name) > maxCircleName {
		return CircleID{}, fmt.Errorf("circle name %w", ErrTooLong)
	}
	if err := checkNick(nick); err != nil {
		return CircleID{}, err
	}
	var id CircleID
	if _, err := rand.Read(id[:]); err != nil {
		return id, err
	}
	keys, err := newMemberKeys()
	if err != nil {
		return id, err
	}
	self := keys.self
	secret, err := epoch.NewSecret()
	if err != nil {
		return id, err
	}
	if err := h.store.AddCircle(id); err != nil {
		return id, err
	}
	if err := h.store.AddEpoch(id, 1, secret, secret.StorageKey(id)); err != nil {
		return id, err
	}
	me := keys.member(nick, record.Role_ROLE_FACILITATOR)
	me.JoinedEpoch = 1
	state := &record.CircleState{
		Circle: id[:], Name: name, Identity: self.Marshal(), PeerKey: keys.peerKeyBytes,
		Epoch: 1, CreatedMs: h.now().UnixMilli(),
	}
	sb, _ := proto.Marshal(state)
	mb, _ := proto.Marshal(me)
	selfID := self.ID()
	if err := h.store.Put(id, bucketState, keyCircle, sb, true); err != nil {
		return id, err
	}
	if err := h.store.Put(id, bucketMembers, selfID[:], mb, true); err != nil {
		return id, err
	}
	c, err := loadCircle(h, id)
	if err != nil {
		return id, err
	}
	c.mu.Lock()
	if err := c.noteEpochStartLocked(1); err != nil {
		c.mu.Unlock()
		return id, err
	}
	_, _, err = c.publishLocked(envelope.Kind_KIND_GUIDELINES,
		&record.Guidelines{Text: assets.Guidelines, Version: 1}, envelope.Scope_SCOPE_FUTURE)
	if err == nil {
		_, err = c.acceptGuidelinesLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return id, err
	}
	h.addCircle(c)
	return id, h.bringOnline(ctx, c)
}
