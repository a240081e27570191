package app

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/epoch"
	"github.com/hearth-circles/hearth/crypto/identity"
	"github.com/hearth-circles/hearth/crypto/invite"
	"github.com/hearth-circles/hearth/crypto/seal"
	"github.com/hearth-circles/hearth/p2p"
	"github.com/hearth-circles/hearth/storage"
)

// JoinProtocol is the request/response protocol a newcomer uses, under the
// one-time identity derived from its invite, to be admitted.
const JoinProtocol = protocol.ID("/hearth/join/1")

const (
	maxJoinRequest  = 16 << 10
	maxJoinResponse = 8 << 20
	maxNick         = 64
	maxCircleName   = 120
	// maxWelcomeItems bounds the consented history handed to a newcomer.
	maxWelcomeItems = 2000
	maxWelcomeBytes = 4 << 20
)

// InviteOptions are the settings of a new invite.
type InviteOptions struct {
	Expires time.Duration // zero: 24 hours
	Uses    int           // zero: one
	// Mailbox makes an invite that admits a mailbox peer (facilitators
	// only): it joins with role mailbox and is never given content keys.
	Mailbox bool
}

// Invite issues an invite code for circle c: it gossips an invite-issued
// record (the hash of the secret and the one-time peer id derived from it),
// so that any member online can admit its holder, and returns the code.
func (h *Hearth) Invite(ctx context.Context, id CircleID, opt InviteOptions) (string, error) {
	c, err := h.circle(id)
	if err != nil {
		return "", err
	}
	if opt.Expires <= 0 {
		opt.Expires = 24 * time.Hour
	}
	if opt.Uses <= 0 {
		opt.Uses = 1
	}
	c.mu.Lock()
	if me := c.selfMemberLocked(); opt.Mailbox && (me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR) {
		c.mu.Unlock()
		return "", ErrNotFacilitator
	}
	addrs := c.addrsLocked()
	if len(addrs) == 0 {
		c.mu.Unlock()
		return "", fmt.Errorf("invite: %w (bring the circle online once so it has an address)", ErrOffline)
	}
	inv, err := invite.New([16]byte(id), c.peerID(), addrs, h.now().Add(opt.Expires))
	if err != nil {
		c.mu.Unlock()
		return "", err
	}
	oneTime, err := invitePeer(inv)
	if err != nil {
		c.mu.Unlock()
		return "", err
	}
	invID := inv.ID()
	ii := &record.InviteIssued{
		InviteId: invID[:], PeerId: []byte(oneTime),
		ExpiresMs: inv.Expires.UnixMilli(), Uses: uint32(opt.Uses), Mailbox: opt.Mailbox,
	}
	out, _, err := c.publishLocked(envelope.Kind_KIND_INVITE_ISSUED, ii, envelope.Scope_SCOPE_CIRCLE)
	if err == nil {
		st := c.invites[invID]
		st.Code = inv.String()
		err = c.saveInviteLocked(invID, st)
	}
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	c.send(ctx, out)
	c.kickMailboxes() // so that the newcomer can reach this member through a mailbox
	return inv.String(), nil
}

// invitePeer is the one-time libp2p identity of an invite's holder.
func invitePeer(inv invite.Invite) (peer.ID, error) {
	k, err := invitePeerKey(inv)
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(k)
}

func invitePeerKey(inv invite.Invite) (crypto.PrivKey, error) {
	seed := inv.PeerKeySeed()
	return crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
}

// joinProof is the HMAC with which a joiner shows it holds the invite secret,
// over the request with the proof field empty.
func joinProof(inv invite.Invite, req *record.JoinRequest) []byte {
	r := proto.Clone(req).(*record.JoinRequest)
	r.Proof = nil
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	key := inv.ProofKey()
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte("hearth/v1 join request\x00"))
	m.Write(b)
	return m.Sum(nil)
}

// Join uses an invite code: it reaches the inviting member under the code's
// one-time identity, proves the secret, hands over this member's new keys and
// pseudonym, and returns once admitted, with the circle stored and online.
// A mistyped code fails on its checksum before any network traffic.
func (h *Hearth) Join(ctx context.Context, code, nick string) (CircleID, error) {
	inv, err := invite.Parse(code, h.now())
	if err != nil {
		return CircleID{}, err
	}
	if err := checkNick(nick); err != nil {
		return CircleID{}, err
	}
	id := CircleID(inv.Circle)
	if _, err := h.circle(id); err == nil {
		return id, ErrAlreadyMember
	}
	if !h.isOnline() {
		return id, ErrOffline
	}
	keys, err := newMemberKeys()
	if err != nil {
		return id, err
	}
	invID := inv.ID()
	req := &record.JoinRequest{InviteId: invID[:], Member: keys.member(nick, record.Role_ROLE_MEMBER)}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	resp, err := requestJoin(ctx, inv, req, h.loopbackListen(), h.log)
	if err != nil {
		return id, err
	}
	if err := h.admitted(ctx, inv, keys.self, keys.peerKey, nick, resp); err != nil {
		return id, err
	}
	return id, nil
}

// Join refusals travel as short codes and map back to the sentinel errors.
const (
	refusedSpent   = "spent"
	refusedExpired = "expired"
	refusedUnknown = "unknown"
	refusedProof   = "proof"
	refusedBad     = "malformed"
	refusedKind    = "kind" // a mailbox with a member's invite, or the reverse
)

// joinTimeout bounds a join, from the request to being admitted.
const joinTimeout = 60 * time.Second

// requestJoin asks the inviter to admit req: from a throwaway host with the
// invite's one-time peer key (the only one the inviter's gate lets in for
// it), dialling the inviter directly or through a relay named in the code.
// It returns the inviter's answer, or why there is none.
func requestJoin(ctx context.Context, inv invite.Invite, req *record.JoinRequest, listen []multiaddr.Multiaddr, log *slog.Logger) (*record.JoinResponse, error) {
	req.Proof = joinProof(inv, req)
	reqBytes, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	oneTime, err := invitePeerKey(inv)
	if err != nil {
		return nil, err
	}
	tmp, err := p2p.New(ctx, p2p.Config{Key: oneTime, Listen: listen, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	defer tmp.Close()
	tmp.Allow(inv.Inviter)
	tmp.Allow(relaysIn(inv.Addrs)...) // an inviter behind NAT, reached through its mailbox
	if err := tmp.Connect(ctx, peer.AddrInfo{ID: inv.Inviter, Addrs: inv.Addrs}); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrUnreachable, err)
	}
	respBytes, err := tmp.Request(ctx, inv.Inviter, JoinProtocol, reqBytes, maxJoinResponse)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrUnreachable, err)
	}
	var resp record.JoinResponse
	if err := proto.Unmarshal(respBytes, &resp); err != nil {
		return nil, fmt.Errorf("%w: malformed answer", ErrJoinRefused)
	}
	if resp.Error != "" {
		return nil, joinError(resp.Error)
	}
	return &resp, nil
}

func joinError(code string) error {
	switch code {
	case refusedSpent:
		return ErrInviteSpent
	case refusedExpired:
		return ErrInviteExpired
	case refusedUnknown:
		return ErrInviteUnknown
	case refusedKind:
		return ErrNotMailboxInvite
	}
	return fmt.Errorf("%w (%s)", ErrJoinRefused, code)
}

func checkNick(nick string) error {
	if nick == "" {
		return errors.New("choose a pseudonym")
	}
	if len(nick) > maxNick || !utf8.ValidString(nick) {
		return fmt.Errorf("pseudonym %w (at most %d bytes)", ErrTooLong, maxNick)
	}
	return nil
}

// admitted stores the circle a join response describes and brings it online.
func (h *Hearth) admitted(ctx context.Context, inv invite.Invite, self *identity.Identity, peerKey crypto.PrivKey, nick string, resp *record.JoinResponse) error {
	id := CircleID(inv.Circle)
	if len(resp.Circle) != 16 || CircleID(resp.Circle) != id {
		return fmt.Errorf("%w: answer for another circle", ErrJoinRefused)
	}
	secret, err := seal.Open(self, inv.Circle, resp.Epoch, resp.SealedSecret)
	if err != nil || len(secret) != epoch.Size {
		return fmt.Errorf("%w: the epoch key did not open", ErrJoinRefused)
	}
	es := epoch.Secret(secret)
	peerKeyBytes, err := crypto.MarshalPrivateKey(peerKey)
	if err != nil {
		return err
	}
	state := &record.CircleState{
		Circle: id[:], Name: resp.Name, Identity: self.Marshal(), PeerKey: peerKeyBytes,
		Epoch: resp.Epoch, Lamport: resp.Lamport, CreatedMs: h.now().UnixMilli(),
		Floor: resp.Floor, Guidelines: resp.Guidelines,
	}
	if err := h.store.AddCircle(inv.Circle); err != nil {
		return fmt.Errorf("store circle: %w", err)
	}
	if err := h.store.AddEpoch(inv.Circle, resp.Epoch, es, es.StorageKey(inv.Circle)); err != nil {
		return err
	}
	stateBytes, _ := proto.Marshal(state)
	if err := h.store.Put(inv.Circle, bucketState, keyCircle, stateBytes, true); err != nil {
		return err
	}
	selfSeen := false
	for _, m := range resp.Roster {
		if (identity.Public{SignKey: m.SignKey}).ID() == self.ID() {
			selfSeen = true
		}
		b, _ := proto.Marshal(m)
		mid := identity.Public{SignKey: m.SignKey}.ID()
		if err := h.store.Put(inv.Circle, bucketMembers, mid[:], b, true); err != nil {
			return err
		}
	}
	if !selfSeen {
		_ = h.store.ForgetCircle(inv.Circle)
		return fmt.Errorf("%w: not in the roster handed over", ErrJoinRefused)
	}
	for _, mk := range resp.Floor {
		if len(mk.Author) == 16 {
			if err := h.store.SetFloor(inv.Circle, [16]byte(mk.Author), mk.Seq); err != nil {
				return err
			}
		}
	}
	c, err := loadCircle(h, id)
	if err != nil {
		return err
	}
	if err := c.noteEpochStartLocked(resp.Epoch); err != nil {
		return err
	}
	c.storeWelcomeLocked(resp.Welcome)
	h.addCircle(c)
	return h.bringOnline(ctx, c)
}

// storeWelcomeLocked verifies and keeps the consented records of the
// welcome pack. Each keeps its author's original signature; anything that
// does not verify, or was not consented, is dropped.
func (c *circle) storeWelcomeLocked(items []*record.WelcomeItem) {
	for _, it := range items {
		if len(it.Author) != 16 {
			continue
		}
		s := &envelope.Signed{Epoch: it.Epoch, Author: MemberID(it.Author), Seq: it.Seq, Record: it.Record, Signature: it.Signature}
		if err := s.VerifyKey([16]byte(c.id), it.SignKey); err != nil {
			c.h.count("refused_welcome_item")
			continue
		}
		rec, err := s.Decode()
		if err != nil || rec.Scope == envelope.Scope_SCOPE_CIRCLE {
			c.h.count("refused_welcome_item")
			continue
		}
		_, err = c.store.Append(c.id, storage.Entry{
			Author: s.Author, Seq: s.Seq, Epoch: c.state.Epoch, Lamport: rec.Lamport, Record: storedWelcomeRecord(s),
		})
		if err != nil {
			c.log.Warn("store welcome item", "err", err)
		}
		if rec.Kind == envelope.Kind_KIND_EVENT {
			var ev record.Event
			if proto.Unmarshal(rec.Body, &ev) == nil {
				_ = c.keepEventLocked(entryKey{s.Author, s.Seq}, &ev)
			}
		}
	}
}

// handleJoin admits the holder of an invite this member knows of.
func (c *circle) handleJoin(ctx context.Context, from peer.ID, reqBytes []byte) ([]byte, error) {
	refuse := func(code string) ([]byte, error) {
		return proto.Marshal(&record.JoinResponse{Error: code})
	}
	var req record.JoinRequest
	if err := proto.Unmarshal(reqBytes, &req); err != nil || len(req.InviteId) != 16 || req.Member == nil {
		return refuse(refusedBad)
	}
	m := req.Member
	pub := identity.Public{SignKey: m.SignKey, SealKey: m.SealKey}
	if _, err := identity.ParsePublic(pub.Marshal()); err != nil || checkNick(m.Nick) != nil {
		return refuse(refusedBad)
	}
	if _, err := peer.IDFromBytes(m.PeerId); err != nil {
		return refuse(refusedBad)
	}

	c.mu.Lock()
	invID := [16]byte(req.InviteId)
	st := c.invites[invID]
	switch {
	case st == nil:
		c.mu.Unlock()
		return refuse(refusedUnknown)
	case c.h.now().UnixMilli() >= st.Issued.ExpiresMs:
		c.mu.Unlock()
		return refuse(refusedExpired)
	case st.Used >= st.Issued.Uses:
		c.mu.Unlock()
		return refuse(refusedSpent)
	case string(st.Issued.PeerId) != string(from):
		c.mu.Unlock()
		return refuse(refusedProof)
	}
	// The issuer alone keeps the code, and so can check the proof; other
	// members rely on the one-time peer id, which only the secret yields.
	if st.Code != "" {
		inv, err := invite.Parse(st.Code, time.Time{})
		if err != nil || !hmac.Equal(joinProof(inv, &req), req.Proof) {
			c.mu.Unlock()
			return refuse(refusedProof)
		}
	}
	if _, ok := c.roster[pub.ID()]; ok {
		c.mu.Unlock()
		return refuse(refusedBad)
	}
	if st.Issued.Mailbox != (m.Role == record.Role_ROLE_MAILBOX) {
		c.mu.Unlock()
		return refuse(refusedKind)
	}

	nm := &record.Member{
		SignKey: m.SignKey, SealKey: m.SealKey, PeerId: m.PeerId, Nick: m.Nick,
		Role: record.Role_ROLE_MEMBER, JoinedEpoch: c.state.Epoch + 1,
	}
	if st.Issued.Mailbox {
		// A mailbox cannot publish presence: its addresses come with it.
		nm.Role = record.Role_ROLE_MAILBOX
		nm.Addrs = m.Addrs[:min(len(m.Addrs), maxPresenceAddrs)]
	}
	floor := c.seq // what this member wrote before admitting the newcomer
	joined, _, err := c.publishLocked(envelope.Kind_KIND_MEMBER_JOINED,
		&record.MemberJoined{Member: nm, InviteId: invID[:]}, envelope.Scope_SCOPE_CIRCLE)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	commit, err := c.commitLocked([]MemberID{pub.ID()}, nil)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	var resp *record.JoinResponse
	if st.Issued.Mailbox {
		resp, err = c.mailboxWelcomeLocked(pub, floor)
	} else {
		resp, err = c.welcomeLocked(pub)
	}
	// The response shares the roster's records, which later records change:
	// it is encoded before the lock is let go.
	var out []byte
	if err == nil {
		out, err = proto.Marshal(resp)
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	c.send(ctx, joined, commit)
	c.pushSync()
	return out, nil
}

// pushSync runs a catch-up round with every connected member at once, so
// that a member whose gossip mesh missed a commit moves to the new epoch
// without waiting for the periodic sync.
func (c *circle) pushSync() {
	c.mu.Lock()
	node := c.node
	var peers []peer.ID
	for p := range c.connected {
		if _, ok := c.byPeer[p]; ok {
			peers = append(peers, p) // members just gone too: they hear it
		}
	}
	c.mu.Unlock()
	if node == nil {
		return
	}
	for _, p := range peers {
		c.h.background(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := node.SyncWith(ctx, p); err != nil {
				c.log.Debug("push sync", "peer", p, "err", err)
			}
		})
	}
}

// welcomeLocked is what a newcomer is handed: the roster, the new epoch's
// secret sealed to it, the guidelines, where its log starts, and the records
// whose authors consented to show them to later members.
func (c *circle) welcomeLocked(newcomer identity.Public) (*record.JoinResponse, error) {
	ek := c.epochs[c.state.Epoch]
	sealed, err := seal.Secret(newcomer.SealKey, [16]byte(c.id), ek.number, ek.secret[:])
	if err != nil {
		return nil, err
	}
	resp := &record.JoinResponse{
		Circle: c.id[:], Name: c.state.Name, Epoch: ek.number, SealedSecret: sealed,
		Guidelines: c.state.Guidelines, Lamport: c.state.Lamport,
	}
	for _, m := range c.rosterLocked() {
		resp.Roster = append(resp.Roster, m.rec)
	}
	c.flushPendingLocked() // the floor must count what was received
	marks, err := c.store.HighWater(c.id)
	if err != nil {
		return nil, err
	}
	for a, s := range marks {
		resp.Floor = append(resp.Floor, &record.Mark{Author: a[:], Seq: s})
	}
	resp.Welcome, err = c.welcomePackLocked()
	return resp, err
}

// welcomePackLocked collects the consented records (scope future or
// resource), newest first up to the bounds, with their signatures.
func (c *circle) welcomePackLocked() ([]*record.WelcomeItem, error) {
	return c.consentedLocked(envelope.Scope_SCOPE_FUTURE)
}

// consentedLocked collects, newest first and within bounds, the records
// whose authors consented to at least scope min (and have not withdrawn,
// narrowed or had them hidden since), with their signatures.
func (c *circle) consentedLocked(min envelope.Scope) ([]*record.WelcomeItem, error) {
	c.flushPendingLocked()
	var items []*record.WelcomeItem
	size := 0
	var cur *storage.Cursor
	for len(items) < maxWelcomeItems && size < maxWelcomeBytes {
		page, err := c.store.Latest([16]byte(c.id), cur, 500)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		for _, it := range page {
			s, rec, ok := decodeStored(it)
			if !ok || c.effectiveScope(entryKey{it.Author, it.Seq}, rec.Scope) < min || !welcomed(rec, c.h.now()) {
				continue
			}
			if k := (entryKey{it.Author, it.Seq}); c.after.retracted[k] || c.after.hidden[k] != "" {
				continue // withdrawn by its author, or hidden: never handed on
			}
			author := c.roster[it.Author]
			if author == nil {
				continue
			}
			items = append(items, &record.WelcomeItem{
				Epoch: it.Epoch, Author: it.Author[:], Seq: it.Seq,
				Record: s.Record, Signature: s.Signature, SignKey: author.pub.SignKey,
			})
			size += len(s.Record) + 200
		}
		last := page[len(page)-1]
		cur = &storage.Cursor{Lamport: last.Lamport, Author: last.Author, Seq: last.Seq}
	}
	return items, nil
}

// welcomed reports whether a consented record belongs in a welcome pack:
// posts and resources, and events not yet over at now.
func welcomed(rec *envelope.Record, now time.Time) bool {
	switch rec.Kind {
	case envelope.Kind_KIND_POST, envelope.Kind_KIND_RESOURCE:
		return true
	case envelope.Kind_KIND_EVENT:
		var ev record.Event
		return proto.Unmarshal(rec.Body, &ev) == nil &&
			time.UnixMilli(ev.StartMs).Add(time.Duration(ev.DurationMin)*time.Minute).After(now)
	}
	return false
}

// addrsLocked are the addresses an invite or presence record gives for this
// member: the node's when online, else the last known.
func (c *circle) addrsLocked() []multiaddr.Multiaddr {
	if c.node != nil {
		// Relayed addresses last: a newcomer tries the direct ones first.
		return append(c.node.Addrs(), c.node.RelayAddrs()...)
	}
	return parseAddrs(c.state.Addrs)
}
