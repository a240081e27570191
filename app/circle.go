package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/epoch"
	"github.com/hearth-circles/hearth/crypto/identity"
	"github.com/hearth-circles/hearth/p2p"
	"github.com/hearth-circles/hearth/storage"
)

// Buckets of a circle's sealed key-value space in the store.
const (
	bucketState   = "state"   // "circle" → record.CircleState
	bucketMembers = "members" // member id → record.Member
	bucketInvites = "invites" // invite id → record.InviteState
	bucketCommits = "commits" // epoch (8 bytes) → hash of the winning commit envelope ‖ its author ‖ seq
	// bucketLostCommits names commits that lost to another for their epoch
	// but were sealed to this member: epoch ‖ author ‖ seq (8+16+8 bytes) →
	// nothing. Their keys are derived again at load from the stored commit
	// envelope, so no key is kept at rest beside the keyring.
	bucketLostCommits = "lostcommits"
)

var keyCircle = []byte("circle")

// maxSeqJump is how far beyond the last sequence number seen of an author
// a record may be.
const maxSeqJump = 1 << 20

// Bounds on what a circle keeps in memory for envelopes it cannot place yet
// (an epoch whose key has not arrived, an author not yet in the roster).
const (
	maxHeld      = 4096
	maxHeldBytes = 16 << 20
)

// member is a roster entry.
type member struct {
	rec      *record.Member
	id       MemberID
	pub      identity.Public
	verifier *identity.Verifier // pub.SignKey, expanded for fast checks
	peer     peer.ID
}

// epochKeys are what a circle derives from one epoch's secret.
type epochKeys struct {
	number  uint64
	secret  epoch.Secret
	content [32]byte
	topic   string
	// lost are the content keys of commits that opened this epoch too but
	// lost to the one above (two commits made at once): members who took
	// a losing commit first wrote under its key until they learned of the
	// winner, and those records are still read. Kept in memory only.
	lost [][32]byte
}

// open opens an envelope of this epoch: under the epoch's key, or under a
// losing commit's.
func (ek *epochKeys) open(circle CircleID, env []byte, lookup func(identity.MemberID) (*identity.Verifier, error)) (*envelope.Opened, error) {
	o, err := envelope.Open([16]byte(circle), &ek.content, env, lookup)
	for i := 0; errors.Is(err, envelope.ErrDecrypt) && i < len(ek.lost); i++ {
		o, err = envelope.Open([16]byte(circle), &ek.lost[i], env, lookup)
	}
	return o, err
}

// decrypt decrypts an envelope of this epoch, as open does, but leaves its
// signature unchecked.
func (ek *epochKeys) decrypt(circle CircleID, env []byte) (envelope.Header, *envelope.Signed, error) {
	h, s, err := envelope.Decrypt([16]byte(circle), &ek.content, env)
	for i := 0; errors.Is(err, envelope.ErrDecrypt) && i < len(ek.lost); i++ {
		h, s, err = envelope.Decrypt([16]byte(circle), &ek.lost[i], env)
	}
	return h, s, err
}

// heldEnvelope is an envelope kept until its epoch key or author arrives.
type heldEnvelope struct {
	from peer.ID
	env  []byte
}

// circle is one circle's state in an unlocked vault, and its node when
// online. All fields below mu are guarded by it.
type circle struct {
	h     *Hearth
	id    CircleID
	store *storage.Store
	log   *slog.Logger

	mu       sync.Mutex
	state    *record.CircleState
	self     *identity.Identity
	selfID   MemberID
	peerKey  crypto.PrivKey
	selfPeer peer.ID
	seq      uint64 // the last sequence number this member used
	roster   map[MemberID]*member
	byPeer   map[peer.ID]MemberID
	epochs   map[uint64]*epochKeys
	invites  map[[16]byte]*record.InviteState
	maxSeen  map[MemberID]uint64
	// inflight holds the envelopes catch-up pages are checking now, by
	// author and sequence number (receiveBatch); safe without mu.
	inflight sync.Map
	// view is what checking an envelope needs, for use without mu: the
	// epochs' keys and the members' verifiers, replaced (never changed)
	// under mu when they change (publishViewLocked).
	view atomic.Pointer[keyView]
	// syncing is the node while online, for the gossip validator to ask,
	// without mu, what catch-up sync is bringing (p2p.Node.Claimed).
	syncing    atomic.Pointer[p2p.Node]
	held       []heldEnvelope
	heldBytes  int
	heldSums   map[[sha256.Size]byte]bool // of the envelopes in held
	after      afterPost                  // reactions, retractions, hidden posts
	sched      scheduled                  // events and answers
	limits     liveLimits
	batch      *batch // non-nil while a batch of envelopes is received
	pending    *batch // received by gossip, announced, not yet written
	flushTimer *time.Timer
	node       *p2p.Node
	connected  map[peer.ID]bool
	mbKick     chan struct{} // see mailboxKick
}

func newEpochKeys(circle CircleID, n uint64, s epoch.Secret) *epochKeys {
	return &epochKeys{number: n, secret: s, content: s.ContentKey(circle), topic: s.Topic(circle)}
}

// loadCircle reads a circle's state from the store.
func loadCircle(h *Hearth, id CircleID) (*circle, error) {
	c := &circle{
		h: h, id: id, store: h.store, log: h.log.With("circle", id.String()[:8]),
		roster: map[MemberID]*member{}, byPeer: map[peer.ID]MemberID{},
		epochs: map[uint64]*epochKeys{}, invites: map[[16]byte]*record.InviteState{},
		maxSeen: map[MemberID]uint64{}, connected: map[peer.ID]bool{},
	}
	raw, err := h.store.Get(id, bucketState, keyCircle)
	if err != nil {
		return nil, fmt.Errorf("read circle: %w", err)
	}
	c.state = new(record.CircleState)
	if err := proto.Unmarshal(raw, c.state); err != nil {
		return nil, fmt.Errorf("read circle: %w", err)
	}
	if c.self, err = identity.Parse(c.state.Identity); err != nil {
		return nil, fmt.Errorf("read circle identity: %w", err)
	}
	c.selfID = c.self.ID()
	if c.peerKey, err = crypto.UnmarshalPrivateKey(c.state.PeerKey); err != nil {
		return nil, fmt.Errorf("read circle peer key: %w", err)
	}
	if c.selfPeer, err = peer.IDFromPrivateKey(c.peerKey); err != nil {
		return nil, fmt.Errorf("read circle peer key: %w", err)
	}
	err = h.store.List(id, bucketMembers, func(_, v []byte) error {
		m := new(record.Member)
		if err := proto.Unmarshal(v, m); err != nil {
			return err
		}
		return c.putMemberLocked(m)
	})
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	err = h.store.List(id, bucketInvites, func(k, v []byte) error {
		inv := new(record.InviteState)
		if err := proto.Unmarshal(v, inv); err != nil {
			return err
		}
		var key [16]byte
		copy(key[:], k)
		c.invites[key] = inv
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read invites: %w", err)
	}
	numbers, err := h.store.Epochs(id)
	if err != nil {
		return nil, err
	}
	for _, n := range numbers {
		s, err := h.store.Epoch(id, n)
		if err != nil {
			return nil, err
		}
		c.epochs[n] = newEpochKeys(id, n, epoch.Secret(s))
	}
	c.publishViewLocked()
	if err := c.loadLostKeysLocked(); err != nil {
		return nil, fmt.Errorf("read the circle's earlier keys: %w", err)
	}
	if c.epochs[c.state.Epoch] == nil {
		return nil, fmt.Errorf("circle %s: key of the current epoch missing: %w", id, storage.ErrNoEpoch)
	}
	if err := c.loadAfterPost(); err != nil {
		return nil, fmt.Errorf("read reactions: %w", err)
	}
	if err := c.loadScopes(); err != nil {
		return nil, fmt.Errorf("read scopes: %w", err)
	}
	if err := c.loadEvents(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	marks, err := h.store.HighWater(id)
	if err != nil {
		return nil, err
	}
	for a, s := range marks {
		c.maxSeen[a] = s
	}
	c.seq = marks[c.selfID]
	return c, nil
}

// keyView is a snapshot of the keys receipt checks envelopes with.
type keyView struct {
	epochs    map[uint64]*epochKeys
	verifiers map[MemberID]*identity.Verifier
}

// publishViewLocked replaces the view after the epochs or the roster
// changed.
func (c *circle) publishViewLocked() {
	v := &keyView{epochs: maps.Clone(c.epochs), verifiers: make(map[MemberID]*identity.Verifier, len(c.roster))}
	for id, m := range c.roster {
		v.verifiers[id] = m.verifier
	}
	c.view.Store(v)
}

// addMemberLocked puts m in the in-memory roster and publishes the view.
func (c *circle) addMemberLocked(m *record.Member) error {
	if err := c.putMemberLocked(m); err != nil {
		return err
	}
	c.publishViewLocked()
	return nil
}

// putMemberLocked puts m in the in-memory roster; the caller publishes the
// view (loading a circle does so once, after its epochs, not once a
// member: each view copies the whole roster).
func (c *circle) putMemberLocked(m *record.Member) error {
	pub := identity.Public{SignKey: ed25519.PublicKey(m.SignKey), SealKey: m.SealKey}
	v, err := identity.NewVerifier(pub.SignKey)
	if err != nil {
		return fmt.Errorf("roster entry with a bad signing key: %w", err)
	}
	pid, err := peer.IDFromBytes(m.PeerId)
	if err != nil {
		return fmt.Errorf("roster entry with a bad peer id: %w", err)
	}
	id := pub.ID()
	c.roster[id] = &member{rec: m, id: id, pub: pub, verifier: v, peer: pid}
	c.byPeer[pid] = id
	return nil
}

// saveMemberLocked persists a roster entry, durably.
func (c *circle) saveMemberLocked(m *record.Member) error {
	return c.saveMemberAsLocked(m, true)
}

// saveMemberAsLocked persists a roster entry, durably or not.
func (c *circle) saveMemberAsLocked(m *record.Member, durable bool) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	id := identity.Public{SignKey: m.SignKey}.ID()
	return c.store.Put(c.id, bucketMembers, id[:], b, durable)
}

func (c *circle) saveStateLocked(durable bool) error {
	b, err := proto.Marshal(c.state)
	if err != nil {
		return err
	}
	return c.store.Put(c.id, bucketState, keyCircle, b, durable)
}

func (c *circle) saveInviteLocked(id [16]byte, inv *record.InviteState) error {
	b, err := proto.Marshal(inv)
	if err != nil {
		return err
	}
	return c.store.Put(c.id, bucketInvites, id[:], b, true)
}

// signKeyLocked looks up the verifier of an author's signing key; callers
// hold mu.
func (c *circle) signKeyLocked(a MemberID) (*identity.Verifier, error) {
	m := c.roster[a]
	if m == nil {
		return nil, errors.New("not in the roster")
	}
	return m.verifier, nil
}

func (c *circle) selfMemberLocked() *member { return c.roster[c.selfID] }

// goneLocked reports whether this member has left or been removed.
func (c *circle) goneLocked() bool {
	m := c.selfMemberLocked()
	return m == nil || m.rec.Gone
}

// outgoing is an envelope to publish once the lock is released.
type outgoing struct {
	topic string
	env   []byte
}

// publishLocked seals, applies and stores a record of this member, and
// returns the envelope to publish once mu is released.
func (c *circle) publishLocked(kind envelope.Kind, body proto.Message, scope envelope.Scope) (outgoing, *envelope.Opened, error) {
	if c.goneLocked() {
		return outgoing{}, nil, ErrNotMember
	}
	ek := c.epochs[c.state.Epoch]
	b, err := proto.Marshal(body)
	if err != nil {
		return outgoing{}, nil, err
	}
	rec := &envelope.Record{
		Kind: kind, Body: b, Scope: scope,
		Lamport: c.state.Lamport + 1, SentAtMs: c.h.now().UnixMilli(),
	}
	env, signed, err := envelope.Seal([16]byte(c.id), &ek.content, ek.number, c.seq+1, c.self, rec)
	if err != nil {
		return outgoing{}, nil, err
	}
	h, _ := envelope.Parse(env)
	o := &envelope.Opened{Header: h, Signed: signed, Record: rec}
	if err := c.acceptLocked(c.peerID(), env, o); err != nil {
		return outgoing{}, nil, err
	}
	c.seq++
	return outgoing{topic: ek.topic, env: env}, o, nil
}

func (c *circle) peerID() peer.ID { return c.selfPeer }

// send publishes envelopes on the network; offline, they wait in the store
// and reach the others through sync.
func (c *circle) send(ctx context.Context, outs ...outgoing) {
	c.mu.Lock()
	node := c.node
	c.mu.Unlock()
	if node == nil {
		return
	}
	for _, o := range outs {
		if err := node.Publish(ctx, o.topic, o.env); err != nil {
			c.log.Debug("publish", "err", err)
		}
	}
}

// Verdicts of receive, for the gossip validator.
type verdict int

const (
	vAccept verdict = iota
	vIgnore
	vReject
	vDuplicate // accepted: a record stored already
)

// receive takes an envelope from the network (gossip or sync), checks it,
// applies it and stores it. A record stored already is accepted again.
func (c *circle) receive(from peer.ID, env []byte) verdict {
	if v := c.receiveOne(from, env); v != vDuplicate {
		return v
	}
	return vAccept
}

// receiveOne is receive, telling a record stored already (vDuplicate) from
// a new one.
func (c *circle) receiveOne(from peer.ID, env []byte) verdict {
	h, err := envelope.Parse(env)
	if err != nil {
		c.h.count("refused_malformed")
		return vReject
	}
	return c.receiveParsed(from, h, env)
}

// receiveParsed is receive for an envelope whose header was parsed already.
func (c *circle) receiveParsed(from peer.ID, h envelope.Header, env []byte) verdict {
	// The costly part of receipt, decryption and the signature check, runs
	// before the circle's lock is taken, so validators on several cores do
	// not queue behind one another.
	pre, v, done := c.preopen(h, env, false, false)
	if done {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Records that change nothing but the history are announced at once and
	// written a moment later, a page per transaction (group commit): a
	// crash before the write loses nothing that sync does not bring back,
	// since the high-water marks have not moved.
	if c.pending == nil {
		c.pending = &batch{has: map[entryKey]bool{}}
	}
	c.batch = c.pending
	v = c.receiveLocked(from, h, env, pre)
	c.batch = nil
	switch n := len(c.pending.entries); {
	case n >= maxPending:
		c.flushPendingLocked()
	case n > 0 && c.flushTimer == nil:
		c.flushTimer = time.AfterFunc(pendingDelay, c.flushPending)
	}
	return v
}

// preopened is an envelope decrypted and verified before the circle's lock
// was taken, with the keys of the view then. A member's signing key is
// fixed once known; an epoch's key may be replaced (two commits for one
// epoch, see commit.go), so an envelope that failed to decrypt under a key
// replaced since is opened again under the lock.
type preopened struct {
	o   *envelope.Opened
	err error
	ek  *epochKeys // the keys it was opened under
	// v is the author's verifier while the signature is still to be
	// checked (a catch-up page checks its signatures together).
	v *identity.Verifier
}

// preopen does, without the circle's lock, what receipt can do without it:
// with replays true (catch-up, where several peers serve the same
// envelopes), a replay of a stored envelope is recognised by its bytes and
// accepted with no cryptography (done is true); otherwise the envelope is
// decrypted and, unless deferVerify, verified, when its epoch and author
// are known. Gossip skips the store read: its own message ids keep copies
// away. A nil result leaves everything to receiveLocked.
func (c *circle) preopen(h envelope.Header, env []byte, replays, deferVerify bool) (pre *preopened, v verdict, done bool) {
	if replays {
		stored, err := c.store.Envelope(c.id, h.Author, h.Seq)
		if err == nil && stored != nil && bytes.Equal(stored, env) {
			c.h.count("replayed")
			return nil, vDuplicate, true
		}
	}
	view := c.view.Load()
	if view == nil {
		return nil, 0, false
	}
	ek, key := view.epochs[h.Epoch], view.verifiers[h.Author]
	if ek == nil || key == nil {
		return nil, 0, false
	}
	if deferVerify {
		h, s, err := ek.decrypt(c.id, env)
		if err != nil {
			return &preopened{err: err, ek: ek}, 0, false
		}
		return &preopened{o: &envelope.Opened{Header: h, Signed: s}, v: key, ek: ek}, 0, false
	}
	o, err := ek.open(c.id, env, func(a identity.MemberID) (*identity.Verifier, error) {
		if a != h.Author {
			return nil, errors.New("not in the roster")
		}
		return key, nil
	})
	return &preopened{o: o, err: err, ek: ek}, 0, false
}

// verifyPreopened checks together the signatures preopen left unchecked in
// pres, and decodes the records that pass.
func (c *circle) verifyPreopened(pres []*preopened) {
	var ss []*envelope.Signed
	var vs []*identity.Verifier
	var idx []int
	for i, p := range pres {
		if p != nil && p.v != nil {
			ss, vs, idx = append(ss, p.o.Signed), append(vs, p.v), append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	for j, err := range envelope.VerifyAll([16]byte(c.id), ss, vs) {
		p := pres[idx[j]]
		p.v = nil
		if err == nil {
			p.o.Record, err = p.o.Signed.Decode()
		}
		if err != nil {
			p.o, p.err = nil, err
		}
	}
}

// Group commit of received records.
const (
	pendingDelay = 2 * time.Millisecond
	maxPending   = 256
)

func (c *circle) flushPending() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushPendingLocked()
}

// flushPendingLocked writes the received records not yet stored.
func (c *circle) flushPendingLocked() {
	if c.flushTimer != nil {
		c.flushTimer.Stop()
		c.flushTimer = nil
	}
	if c.pending == nil || len(c.pending.entries) == 0 {
		return
	}
	saved := c.batch
	c.batch = c.pending
	c.flushBatchLocked()
	c.batch = saved
}

func (c *circle) receiveLocked(from peer.ID, h envelope.Header, env []byte, pre *preopened) verdict {
	ek := c.epochs[h.Epoch]
	if ek == nil {
		if h.Epoch > c.state.Epoch {
			// A record of an epoch we have no key for: we missed a commit.
			c.h.count("held_unknown_epoch")
			c.holdLocked(from, env)
			// Gossip brings new records alone: the sender, which read this
			// one, holds the commit, and a catch-up session with it brings
			// it. A catch-up page brings the commit in the same session
			// when the peer holds it (the held records are tried again once
			// it is applied); when the peer does not (a mailbox holds
			// nothing from before the epoch that admitted it), asking it
			// again would only bring the same records again, a session a
			// second for as long as it stays connected.
			if c.node != nil && from != c.selfPeer && (c.batch == nil || !c.batch.caughtUp) {
				c.h.count("sync_requested")
				c.node.RequestSync(from)
			}
		} else {
			c.h.count("ignored_unknown_epoch")
		}
		return vIgnore
	}
	if c.batch != nil && c.batch.has[entryKey{h.Author, h.Seq}] {
		c.h.count("ignored_duplicate")
		return vDuplicate
	}
	if h.Seq > c.maxSeen[h.Author]+maxSeqJump {
		// No member writes a million records unseen: a sequence number this
		// far ahead is refused, before any work proportional to the gap.
		c.h.count("refused_seq_jump")
		return vReject
	}
	have, err := c.store.HasEnvelope(c.id, h.Author, h.Seq)
	if err != nil {
		c.log.Warn("read store", "err", err)
		return vIgnore
	}
	var o *envelope.Opened
	if pre != nil && errors.Is(pre.err, envelope.ErrDecrypt) && ek != pre.ek {
		pre = nil // opened under an epoch key replaced since: again, under this one
	}
	if pre != nil {
		o, err = pre.o, pre.err
	} else {
		o, err = ek.open(c.id, env, c.signKeyLocked)
	}
	switch {
	case errors.Is(err, envelope.ErrUnknownAuthor):
		c.h.count("held_unknown_author")
		c.holdLocked(from, env)
		return vIgnore
	case err != nil:
		c.h.count("refused_forged")
		c.log.Debug("refused envelope", "err", err, "from", from)
		return vReject
	}
	if a := c.roster[h.Author]; a.rec.Gone && h.Epoch >= a.rec.GoneEpoch && !have {
		// Written in or after the epoch its author left or was removed in.
		c.h.count("refused_gone_author")
		return vReject
	}
	if have {
		// Stored already: the store tells a replay from a second, different
		// record signed for the same position (equivocation).
		_, err := c.store.Append(c.id, storage.Entry{Author: h.Author, Seq: h.Seq, Epoch: h.Epoch, Envelope: env})
		if errors.Is(err, storage.ErrEquivocation) {
			c.h.count("equivocation")
			c.h.emit(Event{Kind: EventEquivocation, Circle: c.id})
			return vReject
		}
		c.h.count("ignored_duplicate")
		return vDuplicate // the same record again: gossip's own dedup keeps it from going round
	}
	if err := c.acceptLocked(from, env, o); err != nil {
		if errors.Is(err, errRefused) {
			c.h.count("refused_unauthorised")
			return vReject
		}
		if errors.Is(err, storage.ErrEquivocation) {
			c.h.count("equivocation")
			c.h.emit(Event{Kind: EventEquivocation, Circle: c.id})
			return vReject
		}
		c.log.Warn("store envelope", "err", err)
		return vIgnore
	}
	if prev := c.maxSeen[h.Author]; h.Seq > prev+1 && c.node != nil {
		c.h.count("sync_requested")
		c.node.RequestSync(from)
	}
	if h.Seq > c.maxSeen[h.Author] {
		c.maxSeen[h.Author] = h.Seq
	}
	return vAccept
}

// holdLocked keeps an envelope that may become readable (a future epoch, an
// author not yet in the roster), within bounds, and once: every catch-up
// session with a peer that holds records of an epoch this member has no
// key for brings them again.
func (c *circle) holdLocked(from peer.ID, env []byte) {
	sum := sha256.Sum256(env)
	if c.heldSums[sum] {
		c.h.count("held_already")
		return
	}
	if len(c.held) >= maxHeld || c.heldBytes+len(env) > maxHeldBytes {
		c.h.count("dropped_held")
		return
	}
	if c.heldSums == nil {
		c.heldSums = make(map[[sha256.Size]byte]bool)
	}
	c.heldSums[sum] = true
	c.held = append(c.held, heldEnvelope{from: from, env: env})
	c.heldBytes += len(env)
}

// retryHeldLocked runs held envelopes again after the roster or the epochs
// changed.
func (c *circle) retryHeldLocked() {
	for progress := true; progress && len(c.held) > 0; {
		progress = false
		held := c.held
		c.held, c.heldBytes = nil, 0
		clear(c.heldSums)
		for _, he := range held {
			h, _ := envelope.Parse(he.env)
			before := len(c.held)
			c.receiveLocked(he.from, h, he.env, nil)
			if len(c.held) == before {
				progress = true
			}
		}
	}
}

// errRefused marks a record that is well formed and signed but not allowed
// (a commit or removal by someone without the right).
var errRefused = errors.New("record refused")

// acceptLocked applies a verified record to the circle's state and stores it.
func (c *circle) acceptLocked(from peer.ID, env []byte, o *envelope.Opened) error {
	entry := storage.Entry{
		Author: o.Header.Author, Seq: o.Header.Seq, Epoch: o.Header.Epoch,
		Envelope: env, Lamport: o.Record.Lamport,
	}
	after, durable, err := c.applyLocked(env, o)
	if err != nil {
		return err
	}
	if displayed(o.Record.Kind) {
		entry.Record = storedRecord(o.Signed)
	}
	entry.Durable = durable
	entry.TTL = c.retentionTTL()
	if b := c.batch; b != nil {
		if after == nil && !durable {
			// Nothing else depends on this record: it joins the batch,
			// written in one transaction when the batch is flushed.
			b.has[entryKey{entry.Author, entry.Seq}] = true
			b.entries = append(b.entries, entry)
			if displayed(o.Record.Kind) {
				msg := c.messageLocked(o.Signed, o.Record)
				if !b.caughtUp {
					c.h.emit(Event{Kind: EventMessage, Circle: c.id, Message: &msg})
				} else {
					b.msgs = append(b.msgs, msg)
				}
			}
			c.state.Lamport = max(c.state.Lamport, o.Record.Lamport)
			return nil
		}
		c.flushBatchLocked() // keep the store in the order records were applied
	}
	stored, err := c.store.Append(c.id, entry)
	if err != nil {
		return err
	}
	if o.Record.Lamport > c.state.Lamport {
		c.state.Lamport = o.Record.Lamport
	}
	if !stored {
		return nil
	}
	if after != nil {
		after()
	}
	if displayed(o.Record.Kind) {
		msg := c.messageLocked(o.Signed, o.Record)
		c.h.emit(Event{Kind: EventMessage, Circle: c.id, Message: &msg})
	}
	return nil
}

// entryKey names a record by author and sequence number.
type entryKey struct {
	author MemberID
	seq    uint64
}

// batch collects records received together (a page of catch-up sync) so
// that they are stored in one transaction.
type batch struct {
	has     map[entryKey]bool
	entries []storage.Entry
	msgs    []Message
	// caughtUp marks a catch-up page, brought by a sync session, whose
	// messages are announced once written; gossip's batch announces each
	// on receipt.
	caughtUp bool
}

// receiveBatch takes many envelopes at once, as catch-up sync delivers
// them: each goes through the receive path, and those that change nothing
// but the history are stored together. Decryption and signature checks run
// first, outside the circle's lock, the page split over the cores and the
// signatures of each part checked as one batch; replays of stored
// envelopes (several peers serving the same catch-up) cost a read.
func (c *circle) receiveBatch(from peer.ID, envs [][]byte) {
	c.applyBatch(from, c.prepareBatch(envs, runtime.GOMAXPROCS(0)))
}

// preparedBatch is a catch-up page checked outside the circle's lock, to
// be applied in order.
type preparedBatch struct {
	envs  [][]byte
	hs    []envelope.Header
	pres  []*preopened
	skip  []bool
	owned []bool // this batch marked it in flight
}

// prepareBatch is the first stage of receiveBatch: parsing, replays, and
// decryption and signature checks, with no lock held, the page split in up
// to cores parts of at least minPart, each part's signatures checked as
// one batch.
func (c *circle) prepareBatch(envs [][]byte, cores int) *preparedBatch {
	b := &preparedBatch{
		envs:  envs,
		hs:    make([]envelope.Header, len(envs)),
		pres:  make([]*preopened, len(envs)),
		skip:  make([]bool, len(envs)),
		owned: make([]bool, len(envs)),
	}
	parts := max(1, min(cores, (len(envs)+minPart-1)/minPart))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(envs)/parts, (p+1)*len(envs)/parts
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				h, err := envelope.Parse(envs[i])
				if err != nil {
					c.h.count("refused_malformed")
					b.skip[i] = true
					continue
				}
				b.hs[i] = h
				// Several members serve a returning member the same pages
				// at once: an envelope another page is checking already,
				// byte for byte, is left to that page.
				if prev, loaded := c.inflight.LoadOrStore(entryKey{h.Author, h.Seq}, envs[i]); !loaded {
					b.owned[i] = true
				} else if bytes.Equal(prev.([]byte), envs[i]) {
					c.h.count("replayed")
					b.skip[i] = true
					continue
				}
				var done bool
				b.pres[i], _, done = c.preopen(h, envs[i], true, true)
				b.skip[i] = done
			}
			c.verifyPreopened(b.pres[lo:hi])
		})
	}
	wg.Wait()
	return b
}

// applyBatch is the second stage of receiveBatch: applying and storing,
// under the circle's lock.
func (c *circle) applyBatch(from peer.ID, b *preparedBatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushPendingLocked()
	c.batch = &batch{has: make(map[entryKey]bool, len(b.envs)), caughtUp: true}
	for i, env := range b.envs {
		if !b.skip[i] {
			c.receiveLocked(from, b.hs[i], env, b.pres[i])
		}
	}
	c.flushBatchLocked()
	c.batch = nil
	// Stored (or held, or refused): later copies find them in the store.
	for i, o := range b.owned {
		if o {
			c.inflight.Delete(entryKey{b.hs[i].Author, b.hs[i].Seq})
		}
	}
}

// minPart is the fewest envelopes of a catch-up page given a core of its
// own: smaller parts lose more to starting than they gain.
const minPart = 16

// flushBatchLocked writes the batch so far and announces its messages.
func (c *circle) flushBatchLocked() {
	b := c.batch
	if b == nil || len(b.entries) == 0 {
		return
	}
	_, err := c.store.AppendBatch(c.id, b.entries)
	switch {
	case errors.Is(err, storage.ErrEquivocation):
		c.h.count("equivocation")
		c.h.emit(Event{Kind: EventEquivocation, Circle: c.id})
	case err != nil:
		c.log.Warn("store batch", "err", err)
		b.msgs = nil // not stored: sync brings them again
	}
	for _, e := range b.entries {
		if e.Seq > c.maxSeen[e.Author] {
			c.maxSeen[e.Author] = e.Seq
		}
	}
	for i := range b.msgs {
		c.h.emit(Event{Kind: EventMessage, Circle: c.id, Message: &b.msgs[i]})
	}
	b.entries, b.msgs = b.entries[:0], b.msgs[:0]
	clear(b.has)
}

// displayed reports whether records of a kind are shown in the history (and
// so kept decoded in the store).
func displayed(k envelope.Kind) bool {
	switch k {
	case envelope.Kind_KIND_POST, envelope.Kind_KIND_MEMBER_JOINED, envelope.Kind_KIND_MEMBER_LEFT,
		envelope.Kind_KIND_MEMBER_REMOVED, envelope.Kind_KIND_ROLE_CHANGE, envelope.Kind_KIND_GUIDELINES,
		envelope.Kind_KIND_EVENT, envelope.Kind_KIND_RESOURCE, envelope.Kind_KIND_RETENTION:
		return true
	}
	return false
}

// Stored record formats: a decoded record is kept with its signature, so it
// can be handed on (in a welcome pack) with the signature intact.
const (
	// storedOwnEpoch: 0x01 | signature | record; the record's epoch is the
	// entry's.
	storedOwnEpoch = 1
	// storedOtherEpoch: 0x02 | epoch (8) | signature | record, for a record
	// kept under another epoch than the one it was signed in (welcome-pack
	// items, sealed at rest under the epoch the newcomer joined in).
	storedOtherEpoch = 2
)

func storedRecord(s *envelope.Signed) []byte {
	b := make([]byte, 0, 1+len(s.Signature)+len(s.Record))
	b = append(b, storedOwnEpoch)
	return append(append(b, s.Signature...), s.Record...)
}

func storedWelcomeRecord(s *envelope.Signed) []byte {
	b := make([]byte, 0, 9+len(s.Signature)+len(s.Record))
	b = append(b, storedOtherEpoch)
	b = binary.BigEndian.AppendUint64(b, s.Epoch)
	return append(append(b, s.Signature...), s.Record...)
}

// applyLocked changes the circle's state for a verified record. It returns a
// function to run once the record is stored (for effects on the network),
// and whether the record must be written durably.
func (c *circle) applyLocked(env []byte, o *envelope.Opened) (after func(), durable bool, err error) {
	author := c.roster[o.Header.Author]
	body := o.Record.Body
	switch o.Record.Kind {
	case envelope.Kind_KIND_INVITE_ISSUED:
		var ii record.InviteIssued
		if err := proto.Unmarshal(body, &ii); err != nil || len(ii.InviteId) != 16 {
			return nil, false, errRefused
		}
		if ii.Mailbox && author.rec.Role != record.Role_ROLE_FACILITATOR {
			return nil, false, errRefused
		}
		id := [16]byte(ii.InviteId)
		if c.invites[id] == nil {
			c.invites[id] = &record.InviteState{Issued: &ii}
			if err := c.saveInviteLocked(id, c.invites[id]); err != nil {
				return nil, false, err
			}
		}
		if pid, err := peer.IDFromBytes(ii.PeerId); err == nil && c.node != nil && c.h.now().UnixMilli() < ii.ExpiresMs {
			c.node.Allow(pid)
		}
		return nil, true, nil

	case envelope.Kind_KIND_MEMBER_JOINED:
		var mj record.MemberJoined
		if err := proto.Unmarshal(body, &mj); err != nil || mj.Member == nil {
			return nil, false, errRefused
		}
		if author.rec.Role == record.Role_ROLE_MAILBOX {
			return nil, false, errRefused
		}
		if len(mj.InviteId) == 16 {
			if inv := c.invites[[16]byte(mj.InviteId)]; inv != nil {
				inv.Used++
				if err := c.saveInviteLocked([16]byte(mj.InviteId), inv); err != nil {
					return nil, false, err
				}
			}
		}
		m := proto.Clone(mj.Member).(*record.Member)
		m.Gone = false
		if m.Role != record.Role_ROLE_MAILBOX {
			m.Role = record.Role_ROLE_MEMBER
		}
		if err := c.addMemberLocked(m); err != nil {
			return nil, false, errRefused
		}
		if err := c.saveMemberLocked(m); err != nil {
			return nil, false, err
		}
		pid := c.roster[identity.Public{SignKey: m.SignKey}.ID()].peer
		return func() {
			if c.node != nil {
				c.node.Allow(pid)
				if m.Role == record.Role_ROLE_MAILBOX && pid != c.peerID() {
					go c.dial(pid, parseAddrs(m.Addrs)) // a new mailbox: connect now
				}
			}
			c.retryHeldLocked()
			c.h.emit(Event{Kind: EventMembers, Circle: c.id})
		}, true, nil

	case envelope.Kind_KIND_COMMIT:
		return c.applyCommitLocked(env, o, author)

	case envelope.Kind_KIND_MEMBER_REMOVED:
		return c.applyRemovedLocked(o, author)

	case envelope.Kind_KIND_MEMBER_LEFT:
		return c.applyLeftLocked(o, author)

	case envelope.Kind_KIND_PRESENCE:
		var p record.Presence
		if err := proto.Unmarshal(body, &p); err != nil || len(p.Addrs) > 16 {
			return nil, false, errRefused
		}
		addrs := parseAddrs(p.Addrs)
		author.rec.Addrs = p.Addrs
		// Addresses are a hint for the next start, which the presence
		// records in the log bring again: written without waiting for
		// the disk, unlike the roster changes saveMemberLocked keeps.
		if err := c.saveMemberAsLocked(author.rec, false); err != nil {
			return nil, false, err
		}
		pid := author.peer
		return func() {
			if c.node != nil && pid != c.peerID() && !c.connected[pid] {
				go c.dial(pid, addrs)
			}
		}, false, nil

	case envelope.Kind_KIND_REACTION:
		return c.applyReactionLocked(o)

	case envelope.Kind_KIND_GUIDELINES_ACCEPTED:
		return c.applyAcceptedLocked(o, author)

	case envelope.Kind_KIND_RETENTION:
		return c.applyRetentionLocked(o, author)

	case envelope.Kind_KIND_ROLE_CHANGE:
		return c.applyRoleLocked(o, author)

	case envelope.Kind_KIND_EVENT:
		return c.applyEventLocked(o, author)

	case envelope.Kind_KIND_SCOPE_CHANGE:
		return c.applyScopeLocked(o)

	case envelope.Kind_KIND_REPORT:
		return c.applyReportLocked(o)

	case envelope.Kind_KIND_RSVP:
		return c.applyRsvpLocked(o)

	case envelope.Kind_KIND_RETRACT:
		return c.applyRetractLocked(o)

	case envelope.Kind_KIND_MODERATION_HIDE:
		return c.applyHideLocked(o, author)

	case envelope.Kind_KIND_GUIDELINES:
		var g record.Guidelines
		if err := proto.Unmarshal(body, &g); err != nil {
			return nil, false, errRefused
		}
		if author.rec.Role != record.Role_ROLE_FACILITATOR {
			return nil, false, errRefused
		}
		if c.state.Guidelines == nil || g.Version > c.state.Guidelines.Version {
			c.state.Guidelines = &g
			if err := c.saveStateLocked(true); err != nil {
				return nil, false, err
			}
		}
		return nil, true, nil
	}
	return nil, false, nil
}

// dial connects to a member at its known addresses.
func (c *circle) dial(p peer.ID, addrs []multiaddr.Multiaddr) {
	c.mu.Lock()
	node := c.node
	c.mu.Unlock()
	if node == nil || len(addrs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := node.Connect(ctx, peer.AddrInfo{ID: p, Addrs: addrs}); err != nil {
		c.log.Debug("dial member", "peer", p, "err", err)
	}
}

// rosterLocked returns current members, in a stable order.
func (c *circle) rosterLocked() []*member {
	ms := make([]*member, 0, len(c.roster))
	for _, m := range c.roster {
		if !m.rec.Gone {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b *member) int { return compareIDs(a.id, b.id) })
	return ms
}

func compareIDs(a, b MemberID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}
