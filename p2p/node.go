package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// userAgent is what identify tells peers: neutral, not the module path.
const userAgent = "hearth"

// eventBuffer is the capacity of the Events channel.
const eventBuffer = 64

// Config configures a Node. Key is required; everything else has a default.
type Config struct {
	// Key is the circle's own peer key; the node's peer id derives from it.
	Key crypto.PrivKey
	// Listen is the explicit list of listen addresses, for example
	// /ip4/0.0.0.0/tcp/0 and /ip4/0.0.0.0/udp/0/quic-v1. Empty means the
	// node only dials out.
	Listen []ma.Multiaddr
	// Validate judges each gossip message before it is delivered or
	// forwarded, including the node's own publishes. It runs inline, one
	// message at a time per node, so it may do the whole of receipt (the
	// app checks, stores and announces a record there, before it is passed
	// on), at the cost of holding up the node's gossip meanwhile. Nil
	// accepts every message.
	Validate func(Message) Verdict
	// Receive is called for each validated gossip message from a peer (not
	// for the node's own publishes), from one goroutine per topic, in
	// arrival order. It should return quickly: while it runs, later
	// messages of that topic queue and, past a bound, are dropped (catch-up
	// sync restores them). Nil drops messages after validation.
	Receive func(Message)
	// Log is the store catch-up sync reads and delivers to. Nil disables
	// sync: the node neither starts nor serves sessions.
	Log Log
	// SyncEvery is the period of background sync with each connected peer,
	// jittered by a quarter either way. Zero means 30 seconds.
	SyncEvery time.Duration
	// Logger receives debug and warning records; nil discards them. No
	// record carries message contents.
	Logger *slog.Logger
	// MDNS turns on discovery of allowed peers on the local network. It
	// announces the node's peer id and addresses to the whole network
	// segment, so it is off by default.
	MDNS bool
	// RelayService makes the node a circuit relay v2 for its allowed peers
	// (a mailbox), with no limit on relayed connections; see relay.go.
	RelayService bool
	// HolePunching turns on DCUtR: a relayed connection is upgraded to a
	// direct one where both NATs allow it.
	HolePunching bool

	tuning gossipTuning // for benchmarks and tests only
}

// PeerEvent reports that an allowed peer connected or disconnected.
type PeerEvent struct {
	Peer      peer.ID
	Connected bool
	// Addrs reports instead that the node's relayed addresses (RelayAddrs)
	// changed, through the relay Peer.
	Addrs bool
}

// Node is one circle's libp2p node. Its methods are safe for concurrent use.
type Node struct {
	cfg    Config
	log    *slog.Logger
	host   host.Host
	ps     *pubsub.PubSub
	gater  *gater
	filter *topicFilter
	busSub event.Subscription
	disc   io.Closer
	relay  io.Closer // the relay service, if any

	stopPubSub context.CancelFunc
	closeOnce  sync.Once
	closeErr   error
	wg         sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	closed  bool
	cancels map[uint64]context.CancelFunc
	nextOp  uint64
	syncs   map[peer.ID]*peerSync
	// initiating bounds the sessions this node runs as initiator at once
	// (see maxInitiating).
	initiating chan struct{}
	// claims are what the sessions running now expect to receive (see
	// claim); marksTurn lets one session at a time announce its marks and
	// make its claim.
	claims    map[*claim]struct{}
	marksTurn chan struct{}
	seen      map[peer.ID]bool // peers reported connected on Events
	// reservations are the relays the node keeps a reservation on.
	reservations map[peer.ID]*reservation

	tmu    sync.Mutex // guards topics; taken before mu, never while holding it
	topics map[string]*joined

	evMu     sync.Mutex
	events   chan PeerEvent
	evClosed bool
}

// New starts a node: the host listens on cfg.Listen, gossip runs, and the
// sync protocol is served if cfg.Log is set. No peer is allowed yet. ctx
// bounds the start only; the node runs until Close.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Key == nil {
		return nil, errors.New("p2p: config has no key")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = defaultSyncEvery
	}
	n := &Node{
		cfg:     cfg,
		log:     cfg.Logger,
		gater:   newGater(),
		filter:  newTopicFilter(),
		cancels: make(map[uint64]context.CancelFunc),
		syncs:   make(map[peer.ID]*peerSync),

		initiating: make(chan struct{}, maxInitiating),
		claims:     make(map[*claim]struct{}),
		marksTurn:  make(chan struct{}, 1),
		seen:       make(map[peer.ID]bool),

		reservations: make(map[peer.ID]*reservation),
		topics:       make(map[string]*joined),
		events:       make(chan PeerEvent, eventBuffer),
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	rm, err := newResourceManager()
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		libp2p.NoListenAddrs, // listen only once every handler is in place
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.UserAgent(userAgent),
		libp2p.DisableMetrics(),
		libp2p.ConnectionGater(n.gater),
		libp2p.ResourceManager(rm),
		// The circuit relay client transport: members reach each other
		// through their mailbox's relay. Strangers are still refused at the
		// handshake, relayed or not.
		libp2p.EnableRelay(),
		libp2p.Ping(true),
	}
	if cfg.HolePunching {
		opts = append(opts, libp2p.EnableHolePunching())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		_ = rm.Close()
		return nil, fmt.Errorf("p2p: host: %w", err)
	}
	n.host = h
	if cfg.RelayService {
		if err := n.startRelay(); err != nil {
			_ = h.Close()
			return nil, fmt.Errorf("p2p: relay service: %w", err)
		}
	}
	if err := n.start(cfg); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

// start brings up gossip, the protocols and the background goroutines, then
// listens.
func (n *Node) start(cfg Config) error {
	psCtx, stop := context.WithCancel(context.Background())
	n.stopPubSub = stop
	ps, err := newGossip(psCtx, n.host, n.filter, cfg.tuning)
	if err != nil {
		return fmt.Errorf("p2p: gossip: %w", err)
	}
	n.ps = ps

	sub, err := n.host.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.BufSize(256))
	if err != nil {
		return fmt.Errorf("p2p: event bus: %w", err)
	}
	n.busSub = sub
	if ctx, end, ok := n.begin(context.Background()); ok {
		go n.watchPeers(ctx, end, sub)
	}
	if cfg.Log != nil {
		n.host.SetStreamHandler(syncProtocol, n.serveSync)
		if ctx, end, ok := n.begin(context.Background()); ok {
			go n.syncLoop(ctx, end, cfg.SyncEvery)
		}
	}
	if len(cfg.Listen) > 0 {
		if err := n.host.Network().Listen(cfg.Listen...); err != nil {
			return fmt.Errorf("p2p: listen: %w", err)
		}
	}
	if cfg.MDNS {
		d, err := n.startMDNS()
		if err != nil {
			return fmt.Errorf("p2p: mdns: %w", err)
		}
		n.disc = d
	}
	return nil
}

// begin registers an operation that Close cancels and waits for. The
// returned context is derived from parent; end must be called once the
// operation is over. ok is false after Close.
func (n *Node) begin(parent context.Context) (ctx context.Context, end func(), ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.beginLocked(parent)
}

func (n *Node) beginLocked(parent context.Context) (context.Context, func(), bool) {
	if n.closed {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancel(parent)
	id := n.nextOp
	n.nextOp++
	n.cancels[id] = cancel
	n.wg.Add(1)
	return ctx, func() {
		cancel()
		n.mu.Lock()
		delete(n.cancels, id)
		n.mu.Unlock()
		n.wg.Done()
	}, true
}

// Close stops every goroutine of the node, closes its connections and its
// host, and closes the Events channel. It is safe to call more than once;
// later calls return the first call's result.
func (n *Node) Close() error {
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

func (n *Node) close() error {
	n.mu.Lock()
	n.closed = true
	cancels := slices.Collect(maps.Values(n.cancels))
	n.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}

	var errs []error
	if n.disc != nil {
		errs = append(errs, n.disc.Close())
	}
	n.tmu.Lock()
	for name, j := range n.topics {
		j.sub.Cancel()
		delete(n.topics, name)
	}
	n.tmu.Unlock()
	if n.stopPubSub != nil {
		n.stopPubSub()
	}
	if n.busSub != nil {
		errs = append(errs, n.busSub.Close())
	}
	errs = append(errs, n.closeRelay())
	errs = append(errs, n.host.Close())
	n.wg.Wait()

	n.evMu.Lock()
	n.evClosed = true
	close(n.events)
	n.evMu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("p2p: close: %w", err)
	}
	return nil
}

// ID returns the node's peer id.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Addrs returns the addresses peers can dial, without the /p2p component.
func (n *Node) Addrs() []ma.Multiaddr { return n.host.Addrs() }

// Allow adds peers to the allowed set: the roster, mailbox peers and the
// one-time peer ids of outstanding invites. Only allowed peers get past the
// security handshake, in either direction.
func (n *Node) Allow(ids ...peer.ID) { n.gater.allow(ids...) }

// Disallow removes peers from the allowed set and closes any connection to
// them.
func (n *Node) Disallow(ids ...peer.ID) {
	n.gater.disallow(ids...)
	for _, id := range ids {
		if id == n.host.ID() {
			continue
		}
		n.DropReservation(id)
		if err := n.host.Network().ClosePeer(id); err != nil {
			n.log.Debug("closing a disallowed peer", "peer", id, "err", err)
		}
	}
}

// Allowed reports whether id is in the allowed set. The node's own id
// counts as allowed.
func (n *Node) Allowed(id peer.ID) bool {
	return id == n.host.ID() || n.gater.isAllowed(id)
}

// Connect adds ai's addresses to the peerstore, dials the peer and waits for
// one ping round trip over the connection: a peer's gater refuses us only
// after our side of the handshake has completed, so the dial alone does not
// tell. A connection that fails the ping (refused, or gone stale) is closed
// and the peer dialled once more. Connect fails with ErrNotAllowed, without
// dialling, for a peer outside the allowed set.
func (n *Node) Connect(ctx context.Context, ai peer.AddrInfo) error {
	if ai.ID == n.host.ID() {
		return errors.New("p2p: connect to self")
	}
	if !n.gater.isAllowed(ai.ID) {
		return fmt.Errorf("connect %s: %w", ai.ID, ErrNotAllowed)
	}
	ctx, end, ok := n.begin(ctx)
	if !ok {
		return ErrClosed
	}
	defer end()
	n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.AddressTTL)
	var err error
	for attempt := range 2 {
		if attempt > 0 {
			_ = n.host.Network().ClosePeer(ai.ID)
		}
		if err = n.host.Connect(ctx, ai); err != nil {
			return fmt.Errorf("connect %s: %w", ai.ID, err)
		}
		if err = n.ping(ctx, ai.ID); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("connect %s: refused: %w", ai.ID, err)
}

// ping runs one ping round trip with p over an existing connection.
func (n *Node) ping(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithCancel(network.WithNoDial(ctx, "connect check"))
	defer cancel()
	return (<-ping.Ping(ctx, n.host, p)).Error
}

// Peers returns the allowed peers the node is connected to.
func (n *Node) Peers() []peer.ID {
	var out []peer.ID
	for _, p := range n.host.Network().Peers() {
		if n.gater.isAllowed(p) && n.host.Network().Connectedness(p) == network.Connected {
			out = append(out, p)
		}
	}
	return out
}

// Events returns the channel of peer connections and disconnections of
// allowed peers. It is buffered and never blocks the node: when it is full
// the oldest event is dropped, so a reader should treat events as hints and
// consult Peers for the current set. It is closed by Close.
func (n *Node) Events() <-chan PeerEvent { return n.events }

func (n *Node) emit(ev PeerEvent) {
	n.evMu.Lock()
	defer n.evMu.Unlock()
	if n.evClosed {
		return
	}
	for {
		select {
		case n.events <- ev:
			return
		default:
		}
		select {
		case <-n.events: // drop the oldest
		default:
		}
	}
}

// connectSyncDelay is how long to wait before the session that follows a
// new connection: none for the dialer, requestDelay for the accepter.
func (n *Node) connectSyncDelay(p peer.ID) time.Duration {
	for _, c := range n.host.Network().ConnsToPeer(p) {
		if c.Stat().Direction == network.DirOutbound {
			return 0
		}
	}
	return requestDelay
}

// watchPeers turns connectedness changes into Events and sync sessions, and
// closes connections of peers disallowed while they connected.
func (n *Node) watchPeers(ctx context.Context, end func(), sub event.Subscription) {
	defer end()
	for {
		var e any
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.Out():
			if !ok {
				return
			}
			e = ev
		}
		ev, ok := e.(event.EvtPeerConnectednessChanged)
		if !ok {
			continue
		}
		p := ev.Peer
		switch ev.Connectedness {
		case network.Connected:
			if !n.gater.isAllowed(p) {
				_ = n.host.Network().ClosePeer(p)
				continue
			}
			n.mu.Lock()
			n.seen[p] = true
			n.mu.Unlock()
			n.emit(PeerEvent{Peer: p, Connected: true})
			n.requestSync(p, n.connectSyncDelay(p))
		case network.NotConnected:
			n.filter.forget(p)
			n.mu.Lock()
			was := n.seen[p]
			delete(n.seen, p)
			n.mu.Unlock()
			if was {
				n.emit(PeerEvent{Peer: p, Connected: false})
			}
		}
	}
}
