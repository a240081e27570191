package p2p

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/hearth-circles/hearth/p2p/syncpb"
)

// Log is the store that catch-up sync reads from and delivers to. The app
// implements it over its encrypted store; a mailbox that cannot decrypt
// implements it over ciphertext. Envelopes are opaque to this package,
// which never learns their sequence numbers: it relies on HighWater being
// contiguous, so that Envelopes(author, after, k) for after below the mark
// returns exactly the envelopes after+1, after+2, ... up to the mark.
//
// Methods may be called from several goroutines at once. An error from any
// of them ends the session in progress.
type Log interface {
	// HighWater returns, per author, the contiguous high-water sequence
	// number: every envelope of that author from 1 to it is held. Authors
	// with nothing held may be left out.
	HighWater() (map[[16]byte]uint64, error)
	// Envelopes returns up to limit envelopes of author with a sequence
	// number above after, in ascending order of sequence number, that peer
	// to may be sent (a member is never sent what was said before it
	// joined).
	Envelopes(to peer.ID, author [16]byte, after uint64, limit int) ([][]byte, error)
	// Deliver takes envelopes fetched by sync, exactly as gossip receipt
	// would: each is checked and stored once; envelopes already held are
	// no error. from is the peer that sent them.
	Deliver(from peer.ID, envs [][]byte) error
}

// StagedLog is a Log whose Deliver comes in two stages, so that a session
// checks one batch while the batch before it is being stored: Prepare does
// the work that needs no order (decryption, signatures), and may run while
// Apply of the batch before runs; Apply finishes the delivery, called once
// for every prepared batch (even when the session fails), in the order the
// batches came. Deliver must be Apply(Prepare(...)).
type StagedLog interface {
	Log
	Prepare(from peer.ID, envs [][]byte) any
	Apply(from peer.ID, prepared any) error
}

// syncProtocol is the catch-up sync protocol (see the package documentation).
const syncProtocol protocol.ID = "/hearth/sync/1"

// Bounds of a sync session.
const (
	// MaxSyncRounds bounds the rounds of one session.
	MaxSyncRounds = 16
	// roundEnvelopes and roundBytes bound what one side sends in a round.
	// Between rounds the receiver stores all it took in before it
	// announces its marks again, and the sender waits for them, so every
	// round boundary idles both for a round trip and a batch: a round
	// holds a long absence's catch-up (ten thousand messages measured
	// about 10% faster than in rounds of 4,096).
	roundEnvelopes = 16384
	roundBytes     = 32 << 20
	// frameTimeout is the deadline of every frame read or write.
	frameTimeout = 30 * time.Second
	// sessionTimeout bounds a whole session.
	sessionTimeout = 10 * time.Minute
	// maxServing bounds the sessions one peer may have us serve at once.
	maxServing = 2
	// maxInitiating bounds the sessions a node initiates at once, whatever
	// the peer. A member coming back to a circle connects to every member
	// at once, and each would otherwise stream it the same history: with
	// two at a time, the first sessions bring what was missed and the
	// rest find nothing left to send, while one slow peer cannot hold up
	// the others.
	maxInitiating = 2
	// defaultSyncEvery is the period of background sync.
	defaultSyncEvery = 30 * time.Second
	// turnWait bounds how long a session waits for its turn to announce
	// its marks (see claim) before it announces them anyway.
	turnWait = time.Second
	// requestDelay is how long a requested session waits, for gossip in
	// flight and for further requests. The side that accepted a connection
	// waits as long before its own session, so that usually the dialer's
	// session runs alone and the accepter's finds nothing left to do.
	requestDelay = time.Second
)

// marks is a high-water map without zero entries.
type marks = map[[authorLen]byte]uint64

// round is the pair of maps exchanged at the start of a round.
type round struct{ initiator, responder marks }

func (r round) equal(o round) bool {
	return maps.Equal(r.initiator, o.initiator) && maps.Equal(r.responder, o.responder)
}

// differ reports whether some author is behind on either side.
func differ(a, b marks) bool { return !maps.Equal(a, b) }

// SyncWith runs one catch-up session with p, initiated by this node: both
// sides end up with every envelope the other held, up to the session's
// bounds, but for what either announced as busy (on its way in another
// session, which brings it). It dials p if needed and returns when the
// responder has taken everything sent to it.
func (n *Node) SyncWith(ctx context.Context, p peer.ID) error {
	if n.cfg.Log == nil {
		return ErrSyncDisabled
	}
	if !n.Allowed(p) {
		return fmt.Errorf("sync with %s: %w", p, ErrNotAllowed)
	}
	ctx, end, ok := n.begin(ctx)
	if !ok {
		return ErrClosed
	}
	defer end()
	return n.initiate(ctx, p)
}

// RequestSync asks for a catch-up session with p soon, for example because
// the app saw a gap in an author's sequence numbers. The session starts
// after a short delay (a second), so that gossip still in flight can fill
// the gap first, and requests coalesce: while a session with p waits or
// runs, further requests add at most one more session. RequestSync never
// blocks and never dials: a peer that is not connected is skipped.
func (n *Node) RequestSync(p peer.ID) {
	n.requestSync(p, requestDelay)
}

// requestSync asks for a session with p after delay.
func (n *Node) requestSync(p peer.ID, delay time.Duration) {
	if n.cfg.Log == nil || !n.Allowed(p) || p == n.host.ID() {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	st := n.syncs[p]
	if st == nil {
		st = &peerSync{}
		n.syncs[p] = st
	}
	st.pending = true
	n.kickLocked(p, st, delay)
}

// peerSync is the sync state of one peer, guarded by Node.mu. A node does
// not start a session with a peer while it serves one from that peer: the
// request waits, and runs when the served session ends.
type peerSync struct {
	pending bool // a session is wanted
	running bool // a worker goroutine is running (or waiting) for this peer
	serving int  // sessions from this peer being served
}

// kickLocked starts the worker of p, after delay, if a session is wanted
// and none runs.
func (n *Node) kickLocked(p peer.ID, st *peerSync, delay time.Duration) {
	if !st.pending || st.running || st.serving > 0 {
		return
	}
	ctx, end, ok := n.beginLocked(context.Background())
	if !ok {
		return
	}
	st.running = true
	go n.syncWorker(ctx, end, p, delay)
}

// syncWorker runs sessions with p while requests are pending.
func (n *Node) syncWorker(ctx context.Context, end func(), p peer.ID, delay time.Duration) {
	defer end()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	for {
		n.mu.Lock()
		st := n.syncs[p]
		if n.closed || !st.pending || st.serving > 0 {
			st.running = false
			n.forgetLocked(p, st)
			n.mu.Unlock()
			return
		}
		st.pending = false
		n.mu.Unlock()

		if n.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		select {
		case n.initiating <- struct{}{}:
		case <-ctx.Done():
			continue // the loop sees the node closed
		}
		sctx, cancel := context.WithTimeout(network.WithNoDial(ctx, "sync"), sessionTimeout)
		err := n.initiate(sctx, p)
		cancel()
		<-n.initiating
		if err != nil && ctx.Err() == nil {
			n.log.Debug("sync session failed", "peer", p, "err", err)
		}
	}
}

// forgetLocked drops the state of a peer with nothing going on.
func (n *Node) forgetLocked(p peer.ID, st *peerSync) {
	if !st.pending && !st.running && st.serving == 0 {
		delete(n.syncs, p)
	}
}

// syncLoop asks for a session with every connected peer, every SyncEvery
// give or take a quarter.
func (n *Node) syncLoop(ctx context.Context, end func(), every time.Duration) {
	defer end()
	t := time.NewTimer(jitter(every))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range n.Peers() {
			n.requestSync(p, 0)
		}
		t.Reset(jitter(every))
	}
}

// jitter returns d scaled by a random factor in [0.75, 1.25).
func jitter(d time.Duration) time.Duration {
	return d - d/4 + rand.N(d/2+1)
}

// syncStream is a sync stream with buffered I/O and per-frame deadlines.
// A catch-up reads and writes thousands of frames on one stream, so each
// direction keeps one frame buffer: decodeFrame copies out all it returns,
// and a frame is written out before the next is encoded.
type syncStream struct {
	s    network.Stream
	r    *bufio.Reader
	w    *bufio.Writer
	rbuf []byte
	wbuf []byte
}

func newSyncStream(s network.Stream) *syncStream {
	return &syncStream{s: s, r: bufio.NewReader(s), w: bufio.NewWriter(s)}
}

func (c *syncStream) read() (frame, error) {
	if err := c.s.SetReadDeadline(time.Now().Add(frameTimeout)); err != nil {
		return frame{}, err
	}
	b, err := readFrame(c.r, c.rbuf)
	if err != nil {
		return frame{}, err
	}
	c.rbuf = b
	return decodeFrame(b)
}

func (c *syncStream) write(b []byte, err error) error {
	if err != nil {
		return err
	}
	if err := c.s.SetWriteDeadline(time.Now().Add(frameTimeout)); err != nil {
		return err
	}
	return writeFrame(c.w, b)
}

func (c *syncStream) flush() error {
	if err := c.s.SetWriteDeadline(time.Now().Add(frameTimeout)); err != nil {
		return err
	}
	return c.w.Flush()
}

// readMarks reads the marks frame that opens a round: the peer's
// high-water map (held), and the same raised to what it is fetching from
// elsewhere (wants is what it does not want sent).
func (c *syncStream) readMarks() (held, wants marks, err error) {
	f, err := c.read()
	if err != nil {
		return nil, nil, err
	}
	if f.kind != syncpb.Kind_KIND_MARKS {
		return nil, nil, fmt.Errorf("got frame %v, want marks: %w", f.kind, ErrProtocol)
	}
	return f.marks, upTo(f.marks, f.busy), nil
}

// upTo returns held raised to busy: per author, up to where a side holds
// an author's envelopes or is fetching them.
func upTo(held, busy marks) marks {
	if len(busy) == 0 {
		return held
	}
	m := maps.Clone(held)
	for a, s := range busy {
		if s > m[a] {
			m[a] = s
		}
	}
	return m
}

// highWater reads the local map, drops zero entries and checks its size.
func (n *Node) highWater() (marks, error) {
	hw, err := n.cfg.Log.HighWater()
	if err != nil {
		return nil, fmt.Errorf("high-water map: %w", err)
	}
	m := make(marks, len(hw))
	for a, s := range hw {
		if s != 0 {
			m[a] = s
		}
	}
	if len(m) > MaxAuthors {
		return nil, fmt.Errorf("local high-water map of %d authors: %w", len(m), ErrTooManyAuthors)
	}
	return m, nil
}

// claim is what one running session expects to receive: per author, the
// mark its peer announced, where it is above ours. While the session runs,
// the other sessions announce their marks raised to its claims, so that
// the members a returning member connects to do not all send it the same
// envelopes: the first session to learn what is missing fetches it, and
// the others find it spoken for. A session that fails before it has
// brought what it claimed asks the other peers for a session, so nothing
// claimed is left missing until the next periodic sync.
type claim struct{ m marks }

func (n *Node) newClaim() *claim {
	c := &claim{}
	n.mu.Lock()
	n.claims[c] = struct{}{}
	n.mu.Unlock()
	return c
}

// Claimed returns the highest sequence number of author that a session
// running now expects from its peer, 0 when none: the envelopes of author
// up to it are on their way, and a copy from gossip may be left to sync.
func (n *Node) Claimed(author [16]byte) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	var top uint64
	for c := range n.claims {
		top = max(top, c.m[author])
	}
	return top
}

// takeTurn waits, at most turnWait, for the turn of an initiator to
// announce its marks and, once the peer's are back, claim; the function it
// returns ends the turn. Only initiators take turns (a responder claims as
// it announces), so a turn never waits on a turn of the peer's.
func (n *Node) takeTurn(ctx context.Context) func() {
	t := time.NewTimer(turnWait)
	defer t.Stop()
	select {
	case n.marksTurn <- struct{}{}:
		return func() { <-n.marksTurn }
	case <-t.C:
	case <-ctx.Done():
	}
	return func() {}
}

// announce returns the marks a session announces: the local high-water
// map, and busy marks where the other running sessions have claimed more.
// With theirHeld (the peer's marks, when known already), it also makes
// own's claim, in the same step.
func (n *Node) announce(own *claim, theirHeld marks) (held, busy marks, err error) {
	held, err = n.highWater()
	if err != nil {
		return nil, nil, err
	}
	busy = make(marks)
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.claims {
		if c == own {
			continue
		}
		for a, s := range c.m {
			if s > held[a] && s > busy[a] {
				busy[a] = s
			}
		}
	}
	mine := upTo(held, busy)
	if len(mine) > MaxAuthors {
		busy, mine = nil, held // claims of authors beyond the bound: announce what is held
	}
	if theirHeld != nil {
		own.m = claimed(mine, theirHeld)
	}
	return held, busy, nil
}

// claimed is what a session expects from its peer: the peer's held marks
// where they are above what this side holds or is fetching elsewhere.
func claimed(mine, theirHeld marks) marks {
	m := make(marks)
	for a, s := range theirHeld {
		if s > mine[a] {
			m[a] = s
		}
	}
	return m
}

// setClaim records what own's session expects from its peer this round.
func (n *Node) setClaim(own *claim, mine, theirHeld marks) {
	m := claimed(mine, theirHeld)
	n.mu.Lock()
	own.m = m
	n.mu.Unlock()
}

// release ends own's claim. After a session that failed with its claim
// unmet, every other connected peer is asked for a session.
func (n *Node) release(own *claim, p peer.ID, err error) {
	n.mu.Lock()
	delete(n.claims, own)
	claimed := own.m
	n.mu.Unlock()
	if err == nil || len(claimed) == 0 {
		return
	}
	hw, herr := n.highWater()
	if herr != nil {
		return
	}
	for a, s := range claimed {
		if hw[a] < s {
			for _, q := range n.Peers() {
				if q != p {
					n.requestSync(q, requestDelay)
				}
			}
			return
		}
	}
}

// initiate runs a session as initiator on a new stream to p.
func (n *Node) initiate(ctx context.Context, p peer.ID) (err error) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, syncProtocol)
	if err != nil {
		return fmt.Errorf("open sync stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	defer func() {
		if err != nil {
			_ = s.Reset()
		}
	}()
	c := newSyncStream(s)
	own := n.newClaim()
	defer func() { n.release(own, p, err) }()

	var prev *round
	for r := 1; ; r++ {
		release := n.takeTurn(ctx)
		held, busy, err := n.announce(own, nil)
		if err != nil {
			release()
			return err
		}
		err = c.write(encodeMarks(held, busy))
		if err == nil {
			err = c.flush()
		}
		var theirHeld, theirs marks
		if err == nil {
			theirHeld, theirs, err = c.readMarks()
		}
		if err != nil {
			release()
			return err
		}
		mine := upTo(held, busy)
		n.setClaim(own, mine, theirHeld)
		release()
		cur := round{initiator: mine, responder: theirs}
		stalled := prev != nil && cur.equal(*prev)
		if err := n.receiveEnvelopes(c, p, !stalled); err != nil {
			return err
		}
		if !stalled {
			if err := n.sendEnvelopes(c, p, held, theirs); err != nil {
				return err
			}
		}
		if err := c.write(encodeDone()); err != nil {
			return err
		}
		if err := c.flush(); err != nil {
			return err
		}
		if stalled || !differ(mine, theirs) || r == MaxSyncRounds {
			break
		}
		prev = &cur
	}
	if err := s.CloseWrite(); err != nil {
		return err
	}
	// The responder closes its side once it has delivered our last batch.
	if err := s.SetReadDeadline(time.Now().Add(frameTimeout)); err != nil {
		return err
	}
	if _, err := c.r.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			return fmt.Errorf("data after the last round: %w", ErrProtocol)
		}
		return err
	}
	return s.Close()
}

// serveSync answers a session initiated by a peer.
func (n *Node) serveSync(s network.Stream) {
	p := s.Conn().RemotePeer()
	if n.cfg.Log == nil || !n.Allowed(p) {
		_ = s.Reset()
		return
	}
	ctx, end, ok := n.begin(context.Background())
	if !ok {
		_ = s.Reset()
		return
	}
	defer end()
	if !n.startServing(p) {
		_ = s.Reset()
		return
	}
	defer n.stopServing(p)
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()

	if err := n.respond(newSyncStream(s), p); err != nil {
		_ = s.Reset()
		if ctx.Err() == nil {
			n.log.Debug("serving sync session failed", "peer", p, "err", err)
		}
		return
	}
	_ = s.Close()
}

func (n *Node) startServing(p peer.ID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.syncs[p]
	if st == nil {
		st = &peerSync{}
		n.syncs[p] = st
	}
	if st.serving >= maxServing {
		return false
	}
	st.serving++
	return true
}

func (n *Node) stopServing(p peer.ID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.syncs[p]
	st.serving--
	if !n.closed {
		n.kickLocked(p, st, 0)
	}
	n.forgetLocked(p, st)
}

// respond runs the responder's side of a session until the initiator closes.
func (n *Node) respond(c *syncStream, p peer.ID) (err error) {
	own := n.newClaim()
	defer func() { n.release(own, p, err) }()
	var prev *round
	for r := 1; ; r++ {
		theirHeld, theirs, err := c.readMarks()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if r > MaxSyncRounds {
			return fmt.Errorf("round %d: %w", r, ErrProtocol)
		}
		// The responder knows the peer's marks before it announces its
		// own, so it claims at once, with no turn to wait for.
		held, busy, err := n.announce(own, theirHeld)
		if err != nil {
			return err
		}
		mine := upTo(held, busy)
		if err := c.write(encodeMarks(held, busy)); err != nil {
			return err
		}
		if err := c.flush(); err != nil {
			return err
		}
		cur := round{initiator: theirs, responder: mine}
		stalled := prev != nil && cur.equal(*prev)
		if !stalled {
			if err := n.sendEnvelopes(c, p, held, theirs); err != nil {
				return err
			}
		}
		if err := c.write(encodeDone()); err != nil {
			return err
		}
		if err := c.flush(); err != nil {
			return err
		}
		if err := n.receiveEnvelopes(c, p, !stalled); err != nil {
			return err
		}
		prev = &cur
	}
}

// sendEnvelopes sends, in batches, the envelopes the peer lacks according to
// the two maps: for each author (in ascending order) where mine is ahead,
// sequence numbers theirs+1 to mine, within the round's bounds. It does not
// write the closing done frame.
func (n *Node) sendEnvelopes(c *syncStream, p peer.ID, mine, theirs marks) error {
	authors := make([][authorLen]byte, 0)
	for a, s := range mine {
		if s > theirs[a] {
			authors = append(authors, a)
		}
	}
	slices.SortFunc(authors, func(x, y [authorLen]byte) int { return bytes.Compare(x[:], y[:]) })

	var (
		batch      [][]byte
		batchBytes int
		sentEnvs   int
		sentBytes  int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b, err := appendBatch(c.wbuf[:0], batch)
		c.wbuf = b
		err = c.write(b, err)
		batch, batchBytes = batch[:0], 0
		return err
	}
	for _, a := range authors {
		after := theirs[a]
		for after < mine[a] {
			limit := min(uint64(MaxBatchEnvelopes), mine[a]-after, uint64(roundEnvelopes-sentEnvs))
			if limit == 0 {
				return flush()
			}
			envs, err := n.cfg.Log.Envelopes(p, a, after, int(limit))
			if err != nil {
				return fmt.Errorf("read envelopes: %w", err)
			}
			if uint64(len(envs)) > limit {
				envs = envs[:limit]
			}
			for _, e := range envs {
				if len(e) == 0 || len(e) > MaxBatchBytes {
					// Cannot be carried; the peer stays behind this author.
					n.log.Warn("envelope cannot be synced", "size", len(e))
					envs = nil
					break
				}
				if sentBytes+len(e) > roundBytes {
					return flush()
				}
				if len(batch) == MaxBatchEnvelopes || batchBytes+len(e) > MaxBatchBytes {
					if err := flush(); err != nil {
						return err
					}
				}
				batch = append(batch, e)
				batchBytes += len(e)
				sentBytes += len(e)
				sentEnvs++
			}
			if uint64(len(envs)) < limit {
				break // the log holds less than its map claimed
			}
			after += uint64(len(envs))
		}
	}
	return flush()
}

// receiveEnvelopes reads batches until the done frame and delivers each to
// the Log. allowed is false in a stalled round, where no batch may come.
// With a StagedLog, each batch is read and prepared while the one before
// is applied; everything is applied when it returns.
func (n *Node) receiveEnvelopes(c *syncStream, p peer.ID, allowed bool) (err error) {
	staged, _ := n.cfg.Log.(StagedLog)
	var applying chan error // the apply in progress, if any
	wait := func() error {
		if applying == nil {
			return nil
		}
		err := <-applying
		applying = nil
		return err
	}
	defer func() {
		if werr := wait(); err == nil && werr != nil {
			err = fmt.Errorf("deliver: %w", werr)
		}
	}()
	deliver := func(envs [][]byte) error {
		if staged == nil {
			return n.cfg.Log.Deliver(p, envs)
		}
		prepared := staged.Prepare(p, envs)
		if err := wait(); err != nil {
			_ = staged.Apply(p, prepared) // every prepared batch is applied
			return err
		}
		applying = make(chan error, 1)
		go func(done chan<- error) { done <- staged.Apply(p, prepared) }(applying)
		return nil
	}
	var gotEnvs, gotBytes int
	for {
		f, err := c.read()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("stream ended inside a round: %w", ErrProtocol)
		}
		if err != nil {
			return err
		}
		switch f.kind {
		case syncpb.Kind_KIND_DONE:
			return nil
		case syncpb.Kind_KIND_BATCH:
		default:
			return fmt.Errorf("got frame %v, want batch or done: %w", f.kind, ErrProtocol)
		}
		if !allowed {
			return fmt.Errorf("batch in a stalled round: %w", ErrProtocol)
		}
		gotEnvs += len(f.envs)
		for _, e := range f.envs {
			gotBytes += len(e)
		}
		if gotEnvs > roundEnvelopes || gotBytes > roundBytes {
			return fmt.Errorf("more than a round's worth of envelopes: %w", ErrProtocol)
		}
		if err := deliver(f.envs); err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
	}
}
