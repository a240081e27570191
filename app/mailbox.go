package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hpke"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/identity"
)

// The member's side of the mailbox peer. A mailbox is a roster entry of role
// mailbox: members' gaters admit it, gossip and sync with it, but commits
// never seal the epoch secret to it. What it needs to follow the circle —
// the gossip topics of the current and previous epoch, the roster's peer
// ids and signing keys, the retention setting — members send it as a
// MailboxLetter: a MailboxUpdate sealed to the mailbox's own HPKE key and
// signed by the sender, over /hearth/mailbox/1 when they connect to it and
// whenever the epoch or the roster changes. Nothing in a letter names the
// circle or a member.

// MailboxProtocol is the request/response protocol on which members hand a
// mailbox its letters. The answer is empty.
const MailboxProtocol = protocol.ID("/hearth/mailbox/1")

const (
	// maxMailboxLetter bounds a letter: a roster of a few hundred members.
	maxMailboxLetter = 256 << 10
	// mailboxResend is how often a member sends its letter again anyway.
	mailboxResend = 5 * time.Minute
	// letterLabel separates the letter signature and the sealing context
	// from every other use of the same keys.
	letterLabel = "hearth/v1 mailbox letter\x00"
	// maxInvitePeers bounds the outstanding invites a letter lists.
	maxInvitePeers = 256
)

var (
	// ErrNotMailboxInvite: a mailbox was given a member's invite, or a
	// member a mailbox's.
	ErrNotMailboxInvite = errors.New("this invite is not for a mailbox")
	// ErrBadLetter: a mailbox letter did not open or verify.
	ErrBadLetter = errors.New("mailbox letter refused")
)

// mailboxUpdateLocked is what a mailbox is told of the circle now.
func (c *circle) mailboxUpdateLocked() *record.MailboxUpdate {
	u := &record.MailboxUpdate{Circle: c.id[:], Epoch: c.state.Epoch, RetentionDays: c.state.RetentionDays}
	for _, n := range []uint64{c.state.Epoch - 1, c.state.Epoch} {
		if k := c.epochs[n]; k != nil {
			u.Topics = append(u.Topics, &record.MailboxTopic{Epoch: n, Topic: k.topic})
		}
	}
	for _, m := range c.rosterLocked() {
		u.Peers = append(u.Peers, &record.MailboxPeer{
			PeerId: []byte(m.peer), SignKey: m.rec.SignKey, Role: m.rec.Role, JoinedEpoch: m.rec.JoinedEpoch,
		})
	}
	nowMs := c.h.now().UnixMilli()
	for _, inv := range c.invites {
		if ii := inv.Issued; nowMs < ii.ExpiresMs && inv.Used < ii.Uses && len(u.InvitePeers) < maxInvitePeers {
			u.InvitePeers = append(u.InvitePeers, ii.PeerId)
		}
	}
	slices.SortFunc(u.InvitePeers, bytes.Compare)
	return u
}

// letterInfo binds a sealed letter to its circle.
func letterInfo(circle CircleID) []byte {
	return append([]byte(letterLabel), circle[:]...)
}

// sealLetter seals u to a mailbox's HPKE key and signs it as self.
func sealLetter(self *identity.Identity, circle CircleID, sealKey []byte, u *record.MailboxUpdate) (*record.MailboxLetter, error) {
	plain, err := proto.Marshal(u)
	if err != nil {
		return nil, err
	}
	pk, err := identity.KEM().NewPublicKey(sealKey)
	if err != nil {
		return nil, fmt.Errorf("mailbox seal key: %w", err)
	}
	sealed, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), letterInfo(circle), plain)
	if err != nil {
		return nil, fmt.Errorf("seal mailbox letter: %w", err)
	}
	msg := append(letterInfo(circle), sealed...)
	return &record.MailboxLetter{Sealed: sealed, SignKey: self.Public().SignKey, Signature: self.Sign(msg)}, nil
}

// openLetter checks a letter's signature and opens it as the mailbox me.
// It returns the sender's signing key with the update; the caller decides
// whether that sender may speak for the circle.
func openLetter(me *identity.Identity, circle CircleID, l *record.MailboxLetter) (*record.MailboxUpdate, ed25519.PublicKey, error) {
	if l == nil || len(l.SignKey) != ed25519.PublicKeySize || len(l.Sealed) == 0 || len(l.Sealed) > maxMailboxLetter {
		return nil, nil, fmt.Errorf("%w: malformed", ErrBadLetter)
	}
	msg := append(letterInfo(circle), l.Sealed...)
	if !identity.Verify(l.SignKey, msg, l.Signature) {
		return nil, nil, fmt.Errorf("%w: bad signature", ErrBadLetter)
	}
	plain, err := hpke.Open(me.SealPrivate(), hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), letterInfo(circle), l.Sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: does not open", ErrBadLetter)
	}
	var u record.MailboxUpdate
	if err := proto.Unmarshal(plain, &u); err != nil || !bytes.Equal(u.Circle, circle[:]) {
		return nil, nil, fmt.Errorf("%w: malformed update", ErrBadLetter)
	}
	for _, t := range u.Topics {
		if t.Topic == "" || len(t.Topic) > 128 {
			return nil, nil, fmt.Errorf("%w: bad topic", ErrBadLetter)
		}
	}
	for _, p := range u.Peers {
		if _, err := peer.IDFromBytes(p.PeerId); err != nil || len(p.SignKey) != ed25519.PublicKeySize {
			return nil, nil, fmt.Errorf("%w: bad roster entry", ErrBadLetter)
		}
	}
	for _, p := range u.InvitePeers {
		if _, err := peer.IDFromBytes(p); err != nil {
			return nil, nil, fmt.Errorf("%w: bad invite peer", ErrBadLetter)
		}
	}
	return &u, ed25519.PublicKey(l.SignKey), nil
}

// mailboxesLocked lists the circle's mailbox peers: the current ones, and
// those removed that are still connected (their letter no longer lists
// them, and they drop the circle).
func (c *circle) mailboxesLocked() []*member {
	var out []*member
	for _, m := range c.roster {
		if m.rec.Role == record.Role_ROLE_MAILBOX && m.id != c.selfID && (!m.rec.Gone || c.connected[m.peer]) {
			out = append(out, m)
		}
	}
	return out
}

// tellMailboxes sends the current letter to every connected mailbox whose
// last letter from this member said something else (or to all, with force).
func (c *circle) tellMailboxes(ctx context.Context, sent map[peer.ID][]byte, force bool) {
	c.mu.Lock()
	node := c.node
	if node == nil || c.goneLocked() {
		c.mu.Unlock()
		return
	}
	u := c.mailboxUpdateLocked()
	digest, _ := proto.MarshalOptions{Deterministic: true}.Marshal(u)
	type job struct {
		to     peer.ID
		letter []byte
	}
	var jobs []job
	for _, m := range c.mailboxesLocked() {
		if !c.connected[m.peer] || (!force && bytes.Equal(sent[m.peer], digest)) {
			continue
		}
		l, err := sealLetter(c.self, c.id, m.rec.SealKey, u)
		if err != nil {
			c.log.Warn("mailbox letter", "err", err)
			continue
		}
		b, _ := proto.Marshal(l)
		jobs = append(jobs, job{m.peer, b})
	}
	c.mu.Unlock()
	for _, j := range jobs {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := node.Request(rctx, j.to, MailboxProtocol, j.letter, 16)
		cancel()
		if err != nil {
			c.log.Debug("mailbox letter not delivered", "peer", j.to, "err", err)
			continue
		}
		sent[j.to] = digest
	}
}

// followMailboxes keeps the circle's mailboxes told: when one connects,
// when the epoch or the roster changes, and every mailboxResend.
func (c *circle) followMailboxes(ctx context.Context) {
	events, stop := c.h.Subscribe()
	defer stop()
	sent := map[peer.ID][]byte{}
	tick := time.NewTicker(mailboxResend)
	defer tick.Stop()
	c.tellMailboxes(ctx, sent, false)
	kick := c.mailboxKick()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.tellMailboxes(ctx, sent, true)
		case <-kick:
			c.tellMailboxes(ctx, sent, false)
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Circle != c.id {
				continue
			}
			switch ev.Kind {
			case EventConnection:
				if p, err := peer.Decode(ev.Peer); err == nil {
					delete(sent, p) // a mailbox that reconnects may have restarted
				}
				c.tellMailboxes(ctx, sent, false)
				c.reserveOnMailboxes()
			case EventEpoch, EventMembers:
				c.tellMailboxes(ctx, sent, false)
			}
		}
	}
}

// mailboxWelcomeLocked is all a newcomer mailbox is handed: a letter with
// the topics, the roster's network identities and where its log starts.
// Its log of this member's records starts at own, before the records that
// admitted it: the commit among them is sealed under the epoch before the
// mailbox's first, and a member that was offline when it was sent, and
// later reaches only the mailbox, gets it there and so the key of every
// record the mailbox holds (members serve a mailbox from that epoch on; see
// circleLog.Envelopes).
func (c *circle) mailboxWelcomeLocked(newcomer identity.Public, own uint64) (*record.JoinResponse, error) {
	u := c.mailboxUpdateLocked()
	c.flushPendingLocked() // the floor must count what was received
	marks, err := c.store.HighWater(c.id)
	if err != nil {
		return nil, err
	}
	if own < marks[c.selfID] {
		marks[c.selfID] = own
	}
	for a, s := range marks {
		u.Floor = append(u.Floor, &record.Mark{Author: a[:], Seq: s})
	}
	l, err := sealLetter(c.self, c.id, newcomer.SealKey, u)
	if err != nil {
		return nil, err
	}
	return &record.JoinResponse{Circle: c.id[:], Mailbox: l}, nil
}

// announceAddrs publishes a presence record with the node's current
// addresses, relayed ones last.
func (c *circle) announceAddrs(ctx context.Context) {
	c.mu.Lock()
	if c.node == nil || c.goneLocked() {
		c.mu.Unlock()
		return
	}
	var addrs [][]byte
	for _, a := range c.addrsLocked() {
		if len(addrs) < maxPresenceAddrs {
			addrs = append(addrs, a.Bytes())
		}
	}
	out, _, err := c.publishLocked(envelope.Kind_KIND_PRESENCE, &record.Presence{Addrs: addrs}, envelope.Scope_SCOPE_CIRCLE)
	c.mu.Unlock()
	if err != nil {
		c.log.Debug("presence", "err", err)
		return
	}
	c.send(ctx, out)
}

// reserveOnMailboxes keeps a relay reservation on each connected mailbox,
// when this node has no public address (it is behind NAT, or on a LAN):
// the relayed addresses then go into its presence records and invites.
func (c *circle) reserveOnMailboxes() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.node == nil {
		return
	}
	for _, a := range c.node.Addrs() {
		if manet.IsPublicAddr(a) {
			return // reachable directly
		}
	}
	for _, m := range c.mailboxesLocked() {
		if !m.rec.Gone && c.connected[m.peer] {
			c.node.KeepReservation(m.peer, parseAddrs(m.rec.Addrs))
		}
	}
}

// mailboxKick returns the channel on which the circle asks its mailbox
// follower to send letters now (an invite was issued).
func (c *circle) mailboxKick() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mbKick == nil {
		c.mbKick = make(chan struct{}, 1)
	}
	return c.mbKick
}

// kickMailboxes asks for letters to go out now.
func (c *circle) kickMailboxes() {
	select {
	case c.mailboxKick() <- struct{}{}:
	default:
	}
}

// relaysIn returns the relays named in relayed addresses (the peer id
// before /p2p-circuit), which a joiner must be allowed to dial.
func relaysIn(addrs []multiaddr.Multiaddr) []peer.ID {
	var out []peer.ID
	for _, a := range addrs {
		relayPart, _ := multiaddr.SplitFunc(a, func(c multiaddr.Component) bool { return c.Protocol().Code == multiaddr.P_CIRCUIT })
		if len(relayPart) == len(a) {
			continue // not relayed
		}
		if id, err := peer.IDFromP2PAddr(relayPart); err == nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// routeLocked says how this node reaches member m now.
func (c *circle) routeLocked(m *member) string {
	if c.node == nil || m.id == c.selfID {
		return ""
	}
	return string(c.node.Route(m.peer))
}
