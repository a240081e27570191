package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/identity"
	"github.com/hearth-circles/hearth/crypto/invite"
	"github.com/hearth-circles/hearth/p2p"
	"github.com/hearth-circles/hearth/storage"
)

// The mailbox peer: an always-on node that a facilitator admits to circles
// with a mailbox invite. It holds each circle's envelopes exactly as they
// travel (ciphertext under content keys it never has), takes them from
// gossip and sync, serves them over /hearth/sync/1, and forgets them after
// the circle's retention (or MailboxOptions.Keep). Of a circle it knows the
// id, the current gossip topics and the roster's peer ids and signing keys,
// from the letters members send it: never its name, a pseudonym or a key
// that opens a record.

// Store layout of a served circle: one sealed value.
const bucketMailbox = "mailbox"

var keyMailbox = []byte("state")

// DefaultMailboxKeep is how long a mailbox holds envelopes of a circle that
// keeps its messages (retention 0).
const DefaultMailboxKeep = 30 * day

// mailboxNick is the name a mailbox gives itself in a roster.
const mailboxNick = "mailbox"

// MailboxOptions configure a Mailbox.
type MailboxOptions struct {
	// Listen are address templates, as Options.Listen. Nil: loopback.
	Listen []multiaddr.Multiaddr
	// Announce are the addresses members are told to dial (a public
	// address in front of a port forward, say); a port of 0 takes the
	// port the node listens on. Nil: the listen addresses.
	Announce []multiaddr.Multiaddr
	// Keep is how long envelopes are held when the circle sets no
	// retention; zero is DefaultMailboxKeep.
	Keep      time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
	SyncEvery time.Duration
}

// Mailbox is a vault's mailbox circles and, once Online, their nodes.
type Mailbox struct {
	v     *Vault
	store *storage.Store
	opt   MailboxOptions
	log   *slog.Logger

	mu      sync.Mutex
	circles map[CircleID]*mbCircle
	taken   map[string]bool
	online  bool
	closed  bool
	wg      sync.WaitGroup // goroutines Close waits for
}

// mbCircle is one circle a mailbox serves.
type mbCircle struct {
	mb  *Mailbox
	id  CircleID
	log *slog.Logger

	mu      sync.Mutex
	state   *record.MailboxState
	self    *identity.Identity
	peerKey crypto.PrivKey
	node    *p2p.Node
	peers   map[peer.ID]*record.MailboxPeer
	invited map[peer.ID]bool // one-time ids of outstanding invites
	topics  map[uint64]string
	// oldTopics are the topics before the last letter, to leave.
	oldTopics []string
}

// MailboxCircle is a served circle as `mailbox list` shows it.
type MailboxCircle struct {
	ID        CircleID
	PeerID    string
	Epoch     uint64
	Peers     int // roster entries, this mailbox included
	Connected int
	Envelopes int
	Bytes     int64
	Addrs     []string
}

// isMailboxCircle reports whether the store keeps circle as a mailbox.
func isMailboxCircle(s *storage.Store, id [16]byte) bool {
	_, err := s.Get(id, bucketMailbox, keyMailbox)
	return err == nil
}

// OpenMailbox loads the mailbox circles of an unlocked vault; it is offline
// until Online.
func OpenMailbox(v *Vault, opt MailboxOptions) (*Mailbox, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if len(opt.Listen) == 0 {
		opt.Listen = DefaultListen
	}
	if opt.Keep <= 0 {
		opt.Keep = DefaultMailboxKeep
	}
	m := &Mailbox{v: v, store: v.Store(), opt: opt, log: opt.Logger, circles: map[CircleID]*mbCircle{}, taken: map[string]bool{}}
	ids, err := m.store.Circles()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		raw, err := m.store.Get(id, bucketMailbox, keyMailbox)
		if errors.Is(err, storage.ErrNotFound) {
			continue // a circle this vault is a member of
		}
		if err != nil {
			return nil, err
		}
		st := new(record.MailboxState)
		if err := proto.Unmarshal(raw, st); err != nil {
			return nil, fmt.Errorf("mailbox circle %s: %w", CircleID(id), err)
		}
		c, err := m.newCircle(CircleID(id), st)
		if err != nil {
			return nil, err
		}
		m.circles[c.id] = c
	}
	return m, nil
}

func (m *Mailbox) newCircle(id CircleID, st *record.MailboxState) (*mbCircle, error) {
	self, err := identity.Parse(st.Identity)
	if err != nil {
		return nil, fmt.Errorf("mailbox identity: %w", err)
	}
	pk, err := crypto.UnmarshalPrivateKey(st.PeerKey)
	if err != nil {
		return nil, fmt.Errorf("mailbox peer key: %w", err)
	}
	c := &mbCircle{mb: m, id: id, log: m.log.With("circle", id.String()[:8]), state: st, self: self, peerKey: pk}
	c.takeUpdateLocked(st.Update)
	return c, nil
}

// Online starts a node for every served circle (and for those joined later).
func (m *Mailbox) Online(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errors.New("mailbox is closed")
	}
	m.online = true
	cs := slices.Collect(mapValues(m.circles))
	m.mu.Unlock()
	for _, c := range cs {
		if err := c.start(ctx); err != nil {
			return fmt.Errorf("circle %s: %w", c.id, err)
		}
	}
	return nil
}

// Close stops every node. It does not close the vault.
func (m *Mailbox) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	cs := slices.Collect(mapValues(m.circles))
	m.mu.Unlock()
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.stop())
	}
	m.wg.Wait()
	return errors.Join(errs...)
}

// background runs f on a goroutine that Close waits for, unless closing.
func (m *Mailbox) background(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// Circles lists the served circles with what is held of each.
func (m *Mailbox) Circles() ([]MailboxCircle, error) {
	m.mu.Lock()
	cs := slices.Collect(mapValues(m.circles))
	m.mu.Unlock()
	out := make([]MailboxCircle, 0, len(cs))
	for _, c := range cs {
		mc, err := c.view()
		if err != nil {
			return nil, err
		}
		out = append(out, mc)
	}
	slices.SortFunc(out, func(a, b MailboxCircle) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out, nil
}

func (c *mbCircle) view() (MailboxCircle, error) {
	c.mu.Lock()
	pid, _ := peer.IDFromPrivateKey(c.peerKey)
	mc := MailboxCircle{ID: c.id, PeerID: pid.String(), Epoch: c.state.Update.GetEpoch(), Peers: len(c.peers)}
	if c.node != nil {
		mc.Connected = len(c.node.Peers())
	}
	for _, a := range parseAddrs(c.state.Addrs) {
		mc.Addrs = append(mc.Addrs, a.String())
	}
	c.mu.Unlock()
	marks, err := c.mb.store.HighWater(c.id)
	if err != nil {
		return mc, err
	}
	for a := range marks {
		for after := uint64(0); ; {
			envs, err := c.mb.store.Envelopes(c.id, a, after, storage.MaxPage)
			if err != nil {
				return mc, err
			}
			if len(envs) == 0 {
				break
			}
			for _, e := range envs {
				mc.Envelopes++
				mc.Bytes += int64(len(e))
			}
			h, err := envelope.Parse(envs[len(envs)-1])
			if err != nil || h.Seq <= after {
				break
			}
			after = h.Seq
		}
	}
	return mc, nil
}

// takeUpdateLocked adopts what a letter said: topics and roster.
func (c *mbCircle) takeUpdateLocked(u *record.MailboxUpdate) {
	c.peers = map[peer.ID]*record.MailboxPeer{}
	c.invited = map[peer.ID]bool{}
	c.topics = map[uint64]string{}
	if u == nil {
		return
	}
	for _, p := range u.InvitePeers {
		if id, err := peer.IDFromBytes(p); err == nil {
			c.invited[id] = true
		}
	}
	for _, p := range u.Peers {
		if id, err := peer.IDFromBytes(p.PeerId); err == nil {
			c.peers[id] = p
		}
	}
	for _, t := range u.Topics {
		c.topics[t.Epoch] = t.Topic
	}
}

// selfPeer is the mailbox's peer id in this circle.
func (c *mbCircle) selfPeer() peer.ID {
	id, _ := peer.IDFromPrivateKey(c.peerKey)
	return id
}

// start brings the circle's node up, if the mailbox is online.
func (c *mbCircle) start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.node != nil {
		return nil
	}
	node, err := c.mb.newNode(ctx, c.peerKey, c.state.Addrs, c)
	if err != nil {
		return err
	}
	c.node = node
	c.state.Addrs = c.mb.announce(node)
	if err := c.saveLocked(); err != nil {
		c.log.Warn("save mailbox state", "err", err)
	}
	c.applyNodeLocked(nil, nil)
	return nil
}

func (c *mbCircle) stop() error {
	c.mu.Lock()
	node := c.node
	c.node = nil
	c.mu.Unlock()
	if node == nil {
		return nil
	}
	return node.Close()
}

// newNode starts a node for a served circle with key, listening where it
// listened last (last), with c as its log and validator.
func (m *Mailbox) newNode(ctx context.Context, key crypto.PrivKey, last [][]byte, c *mbCircle) (*p2p.Node, error) {
	cfg := p2p.Config{
		Key:       key,
		Validate:  c.validate,
		Receive:   func(p2p.Message) {},
		Log:       (*mbLog)(c),
		SyncEvery: m.opt.SyncEvery,
		Logger:    c.log,
		Listen:    listenFor(m.opt.Listen, last),
		// The circle's relay: for its roster (and outstanding invites) only.
		RelayService: true,
	}
	node, err := newNodeOnFreePorts(ctx, cfg, m.opt.Listen, len(last) > 0, &m.mu, m.taken)
	if err != nil {
		return nil, err
	}
	node.Handle(MailboxProtocol, maxMailboxLetter+1024, c.handleLetter)
	return node, nil
}

// announce is what members are told to dial: the Announce templates with
// the node's ports filled in, or else the node's own addresses.
func (m *Mailbox) announce(node *p2p.Node) [][]byte {
	actual := node.Addrs()
	addrs := actual
	if len(m.opt.Announce) > 0 {
		addrs = nil
		for _, t := range m.opt.Announce {
			addrs = append(addrs, withPort(t, actual))
		}
	}
	var out [][]byte
	for _, a := range addrs {
		if len(out) < maxPresenceAddrs {
			out = append(out, a.Bytes())
		}
	}
	return out
}

// maxPresenceAddrs bounds the addresses a member or mailbox announces.
const maxPresenceAddrs = 16

// applyNodeLocked brings the node in line with the roster and topics:
// admits the roster, refuses those who left it (prev), joins the current
// topics and leaves the others.
func (c *mbCircle) applyNodeLocked(prev map[peer.ID]*record.MailboxPeer, prevInvited map[peer.ID]bool) {
	if c.node == nil {
		return
	}
	self := c.selfPeer()
	for p := range prev {
		if _, ok := c.peers[p]; !ok && !c.invited[p] {
			c.node.Disallow(p)
		}
	}
	for p := range prevInvited {
		if _, ok := c.peers[p]; !ok && !c.invited[p] {
			c.node.Disallow(p)
		}
	}
	for p := range c.peers {
		if p != self {
			c.node.Allow(p)
		}
	}
	for p := range c.invited {
		c.node.Allow(p)
	}
	for _, t := range c.topics {
		if err := c.node.Join(t); err != nil {
			c.log.Warn("join topic", "err", err)
		}
	}
	for _, t := range c.oldTopics {
		if !slices.Contains(slices.Collect(mapValues(c.topics)), t) {
			_ = c.node.Leave(t)
		}
	}
}

func (c *mbCircle) saveLocked() error {
	b, err := proto.Marshal(c.state)
	if err != nil {
		return err
	}
	return c.mb.store.Put(c.id, bucketMailbox, keyMailbox, b, true)
}

// handleLetter takes a letter from a member: sealed to this mailbox, signed
// by the member at the other end of the connection, and not older than the
// epoch already known.
func (c *mbCircle) handleLetter(_ context.Context, from peer.ID, req []byte) ([]byte, error) {
	var l record.MailboxLetter
	if err := proto.Unmarshal(req, &l); err != nil {
		return nil, fmt.Errorf("%w: malformed", ErrBadLetter)
	}
	u, signer, err := openLetter(c.self, c.id, &l)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	sender := c.peers[from]
	if sender == nil || sender.Role == record.Role_ROLE_MAILBOX || !bytes.Equal(sender.SignKey, signer) {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: not from a member", ErrBadLetter)
	}
	if cur := c.state.Update; cur != nil && u.Epoch < cur.Epoch {
		c.mu.Unlock()
		return nil, nil // stale: a member that has not seen the last commit
	}
	self := c.selfPeer()
	removed := true
	for _, p := range u.Peers {
		if peer.ID(p.PeerId) == self {
			removed = false
		}
	}
	if removed {
		c.mu.Unlock()
		c.mb.forget(c)
		return nil, nil
	}
	u.Floor = nil
	prev, prevInvited := c.peers, c.invited
	c.oldTopics = slices.Collect(mapValues(c.topics))
	c.state.Update = u
	c.takeUpdateLocked(u)
	err = c.saveLocked()
	c.applyNodeLocked(prev, prevInvited)
	c.mu.Unlock()
	return nil, err
}

// forget drops a circle the mailbox was removed from: its node, and its
// keys and envelopes in the store.
func (m *Mailbox) forget(c *mbCircle) {
	m.mu.Lock()
	delete(m.circles, c.id)
	m.mu.Unlock()
	m.background(func() {
		time.Sleep(time.Second) // let the letter's answer go out
		if err := c.stop(); err != nil {
			c.log.Debug("stop removed circle", "err", err)
		}
		if err := m.store.ForgetCircle(c.id); err != nil {
			c.log.Warn("forget circle", "err", err)
		}
	})
}

// ttl is how long an envelope received now is held.
func (c *mbCircle) ttlLocked() time.Duration {
	if d := c.state.Update.GetRetentionDays(); d > 0 {
		return time.Duration(d) * day
	}
	return c.mb.opt.Keep
}

// take stores one envelope, as received from a roster member, if its epoch
// is one the mailbox follows (or the next, which a letter will announce).
// The holder of an invite, admitted to reach its inviter through the relay,
// gets nothing stored.
func (c *mbCircle) take(from peer.ID, env []byte) verdict {
	h, err := envelope.Parse(env)
	if err != nil {
		return vReject
	}
	c.mu.Lock()
	if p := c.peers[from]; p == nil || p.Role == record.Role_ROLE_MAILBOX {
		c.mu.Unlock()
		return vIgnore
	}
	cur := c.state.Update.GetEpoch()
	ttl := c.ttlLocked()
	c.mu.Unlock()
	if h.Epoch+1 < cur || h.Epoch > cur+1 {
		return vIgnore
	}
	_, err = c.mb.store.Append(c.id, storage.Entry{Author: h.Author, Seq: h.Seq, Epoch: h.Epoch, Envelope: env, TTL: ttl})
	switch {
	case errors.Is(err, storage.ErrEquivocation):
		return vReject
	case err != nil:
		c.log.Debug("store envelope", "err", err)
		return vIgnore
	}
	return vAccept
}

// validate is the gossip validator: a well-formed envelope of a followed
// epoch is stored and passed on.
func (c *mbCircle) validate(m p2p.Message) p2p.Verdict {
	switch c.take(m.From, m.Data) {
	case vAccept:
		return p2p.Accept
	case vReject:
		return p2p.Reject
	}
	return p2p.Ignore
}

// mbLog is a served circle as catch-up sync sees it: ciphertext only.
type mbLog mbCircle

func (l *mbLog) HighWater() (map[[16]byte]uint64, error) {
	return l.mb.store.HighWater(l.id)
}

// Envelopes serves roster members, never what was said before they joined.
func (l *mbLog) Envelopes(to peer.ID, author [16]byte, after uint64, limit int) ([][]byte, error) {
	c := (*mbCircle)(l)
	c.mu.Lock()
	p := c.peers[to]
	c.mu.Unlock()
	if p == nil || p.Role == record.Role_ROLE_MAILBOX {
		return nil, nil
	}
	envs, err := c.mb.store.Envelopes(c.id, author, after, limit)
	if err != nil || p.JoinedEpoch <= 1 {
		return envs, err
	}
	out := envs[:0]
	for _, e := range envs {
		if h, err := envelope.Parse(e); err == nil && h.Epoch >= p.JoinedEpoch {
			out = append(out, e)
		}
	}
	return out, nil
}

func (l *mbLog) Deliver(from peer.ID, envs [][]byte) error {
	for _, e := range envs {
		(*mbCircle)(l).take(from, e)
	}
	return nil
}

// Join uses a mailbox invite: the circle's node starts under a new peer key,
// then, under the invite's one-time identity, the mailbox proves the secret
// to the inviting member and hands over its keys and addresses; the answer
// is a letter with the circle's topics and roster. It returns once admitted.
func (m *Mailbox) Join(ctx context.Context, code string) (CircleID, error) {
	inv, err := invite.Parse(code, m.opt.Now())
	if err != nil {
		return CircleID{}, err
	}
	id := CircleID(inv.Circle)
	m.mu.Lock()
	_, have := m.circles[id]
	online := m.online
	m.mu.Unlock()
	if have {
		return id, ErrAlreadyMember
	}
	if !online {
		return id, ErrOffline
	}
	keys, err := newMemberKeys()
	if err != nil {
		return id, err
	}
	self, peerKey := keys.self, keys.peerKey
	c := &mbCircle{
		mb: m, id: id, log: m.log.With("circle", id.String()[:8]), self: self, peerKey: peerKey,
		state: &record.MailboxState{Circle: id[:], Identity: self.Marshal(), PeerKey: keys.peerKeyBytes, JoinedMs: m.opt.Now().UnixMilli()},
	}
	c.takeUpdateLocked(nil)
	node, err := m.newNode(ctx, peerKey, nil, c)
	if err != nil {
		return id, fmt.Errorf("join: %w", err)
	}
	c.node = node
	c.state.Addrs = m.announce(node)
	ok := false
	defer func() {
		if !ok {
			_ = node.Close()
		}
	}()

	me := keys.member(mailboxNick, record.Role_ROLE_MAILBOX)
	me.Addrs = c.state.Addrs
	invID := inv.ID()
	req := &record.JoinRequest{InviteId: invID[:], Member: me}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	resp, err := requestJoin(ctx, inv, req, anyPort(m.opt.Listen[:1]), m.log)
	if err != nil {
		return id, err
	}
	if resp.Mailbox == nil || !bytes.Equal(resp.Circle, id[:]) {
		return id, ErrNotMailboxInvite
	}
	u, signer, err := openLetter(self, id, resp.Mailbox)
	if err != nil {
		return id, fmt.Errorf("%w: %v", ErrJoinRefused, err)
	}
	var fromInviter, listed bool
	for _, p := range u.Peers {
		if peer.ID(p.PeerId) == inv.Inviter && bytes.Equal(p.SignKey, signer) && p.Role != record.Role_ROLE_MAILBOX {
			fromInviter = true
		}
		if peer.ID(p.PeerId) == keys.peer {
			listed = true
		}
	}
	if !fromInviter || !listed {
		return id, fmt.Errorf("%w: the answer is not the inviter's", ErrJoinRefused)
	}
	if err := m.store.AddCircle(id); err != nil {
		return id, fmt.Errorf("store circle: %w", err)
	}
	for _, mk := range u.Floor {
		if len(mk.Author) == 16 {
			if err := m.store.SetFloor(id, [16]byte(mk.Author), mk.Seq); err != nil {
				_ = m.store.ForgetCircle(id)
				return id, err
			}
		}
	}
	c.mu.Lock()
	u.Floor = nil
	c.state.Update = u
	c.takeUpdateLocked(u)
	err = c.saveLocked()
	if err == nil {
		c.applyNodeLocked(nil, nil)
	}
	c.mu.Unlock()
	if err != nil {
		_ = m.store.ForgetCircle(id)
		return id, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return id, errors.New("mailbox is closed")
	}
	m.circles[id] = c
	m.mu.Unlock()
	ok = true
	// The inviter is connected to the node's peer soon after: dial it, so
	// that the first sync runs now.
	m.background(func() {
		dctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := node.Connect(dctx, peer.AddrInfo{ID: inv.Inviter, Addrs: inv.Addrs}); err != nil {
			c.log.Debug("dial inviter", "err", err)
		}
	})
	return id, nil
}
