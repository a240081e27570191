package p2p

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// TestStrangerRefused: a stranger that knows a member's address is refused
// at the handshake, on each transport, and receives nothing.
func TestStrangerRefused(t *testing.T) {
	const topic = "circle"
	for _, tc := range []struct {
		name   string
		listen ma.Multiaddr
	}{
		{"tcp", loopTCP},
		{"quic", loopQUIC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inMember, inStranger inbox
			a := newNode(t, Config{Listen: []ma.Multiaddr{tc.listen}, Log: newMemLog()})
			b := newNode(t, Config{Listen: []ma.Multiaddr{tc.listen}, Receive: inMember.receive})
			s := newNode(t, Config{Listen: []ma.Multiaddr{tc.listen}, Receive: inStranger.receive, Log: newMemLog()})
			allowAll(a, b)
			s.Allow(a.ID()) // the stranger is willing; the member is not
			for _, n := range []*Node{a, b, s} {
				if err := n.Join(topic); err != nil {
					t.Fatal(err)
				}
			}
			connect(t, a, b)

			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := s.Connect(ctx, addrInfo(a)); err == nil {
				t.Fatal("stranger connect: got nil, want an error")
			}
			if err := s.SyncWith(ctx, a.ID()); err == nil {
				t.Error("stranger sync: got nil, want an error")
			}
			if _, err := s.Request(ctx, a.ID(), "/hearth/test/1", []byte("hi"), 100); err == nil {
				t.Error("stranger request: got nil, want an error")
			}
			// The member does not dial the stranger either.
			if err := a.Connect(ctx, addrInfo(s)); !errors.Is(err, ErrNotAllowed) {
				t.Errorf("member connect to stranger: got %v, want %v", err, ErrNotAllowed)
			}
			a.host.Peerstore().AddAddrs(s.ID(), s.Addrs(), time.Minute)
			if err := a.host.Connect(ctx, addrInfo(s)); err == nil {
				t.Error("member host dial to stranger: got nil, want an error")
			}

			if err := a.Publish(ctx, topic, []byte("for members")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "member gets the message", func() bool { return inMember.has("for members") })
			waitFor(t, "no connection left", func() bool {
				return len(a.host.Network().ConnsToPeer(s.ID())) == 0 &&
					len(s.host.Network().ConnsToPeer(a.ID())) == 0
			})
			if got := inStranger.len(); got != 0 {
				t.Errorf("stranger got %d messages, want 0", got)
			}
			if containsPeer(a.Peers(), s.ID()) {
				t.Error("member lists the stranger among its peers")
			}
		})
	}
}

// TestDisallowDropsConnection: Disallow closes an existing connection,
// reports it on Events, and keeps the peer out.
func TestDisallowDropsConnection(t *testing.T) {
	a := newNode(t, Config{})
	b := newNode(t, Config{})
	allowAll(a, b)
	connect(t, a, b)
	waitEvent(t, a, PeerEvent{Peer: b.ID(), Connected: true})

	a.Disallow(b.ID())
	if a.Allowed(b.ID()) {
		t.Error("Allowed after Disallow: got true, want false")
	}
	waitEvent(t, a, PeerEvent{Peer: b.ID(), Connected: false})
	waitFor(t, "connections closed", func() bool {
		return a.host.Network().Connectedness(b.ID()) != network.Connected &&
			b.host.Network().Connectedness(a.ID()) != network.Connected
	})
	if got := a.Peers(); len(got) != 0 {
		t.Errorf("peers after Disallow: got %v, want none", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Connect(ctx, addrInfo(a)); err == nil {
		t.Error("reconnect of a disallowed peer: got nil, want an error")
	}
	a.Allow(b.ID())
	connect(t, b, a)
}

// waitEvent reads n's events until want arrives.
func waitEvent(t *testing.T, n *Node, want PeerEvent) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case got, ok := <-n.Events():
			if !ok {
				t.Fatalf("events closed waiting for %+v", want)
			}
			if got == want {
				return
			}
		case <-timer.C:
			t.Fatalf("gave up waiting for event %+v", want)
		}
	}
}

// TestEventsDropOldest: nobody reads the events; the node never blocks and
// the channel keeps the newest.
func TestEventsDropOldest(t *testing.T) {
	n := newNode(t, Config{Listen: []ma.Multiaddr{}})
	const total = 3 * eventBuffer
	for i := range total {
		n.emit(PeerEvent{Peer: peer.ID(rune('a' + i%26)), Connected: i%2 == 0})
	}
	if got := len(n.Events()); got != eventBuffer {
		t.Fatalf("buffered events: got %d, want %d", got, eventBuffer)
	}
	first := <-n.Events()
	i := total - eventBuffer
	if want := (PeerEvent{Peer: peer.ID(rune('a' + i%26)), Connected: i%2 == 0}); first != want {
		t.Errorf("oldest kept event: got %+v, want %+v", first, want)
	}
}

func TestCloseIdempotent(t *testing.T) {
	n := newNode(t, Config{Log: newMemLog()})
	if err := n.Join("t"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := n.Close(); err != nil {
			t.Fatalf("close %d: got %v, want nil", i, err)
		}
	}
	if _, ok := <-n.Events(); ok {
		t.Error("events after close: got an event, want a closed channel")
	}
	ctx := context.Background()
	p := peer.ID("x")
	n.Allow(p)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"join", n.Join("u")},
		{"publish", n.Publish(ctx, "t", []byte("x"))},
		{"sync", n.SyncWith(ctx, p)},
		{"connect", n.Connect(ctx, peer.AddrInfo{ID: p})},
		{"request", func() error { _, err := n.Request(ctx, p, "/x/1", nil, 1); return err }()},
	} {
		if !errors.Is(tc.err, ErrClosed) {
			t.Errorf("%s after close: got %v, want %v", tc.name, tc.err, ErrClosed)
		}
	}
	n.RequestSync(p) // must not start anything
}

func TestGater(t *testing.T) {
	g := newGater()
	p, q := peer.ID("p"), peer.ID("q")
	g.allow(p, "")
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"dial allowed", g.InterceptPeerDial(p), true},
		{"dial stranger", g.InterceptPeerDial(q), false},
		{"addr dial stranger", g.InterceptAddrDial(q, loopTCP), false},
		{"accept before identity", g.InterceptAccept(nil), true},
		{"secured inbound allowed", g.InterceptSecured(network.DirInbound, p, nil), true},
		{"secured inbound stranger", g.InterceptSecured(network.DirInbound, q, nil), false},
		{"secured outbound stranger", g.InterceptSecured(network.DirOutbound, q, nil), false},
		{"empty id", g.isAllowed(""), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	g.disallow(p)
	if g.InterceptSecured(network.DirInbound, p, nil) {
		t.Error("secured after disallow: got true, want false")
	}
}

// TestServingBound: a peer cannot make the node serve more than maxServing
// sync sessions at once; the next stream is reset at once.
func TestServingBound(t *testing.T) {
	a := newNode(t, Config{Log: newMemLog(), SyncEvery: time.Hour})
	b := newNode(t, Config{Log: newMemLog(), SyncEvery: time.Hour})
	allowAll(a, b)
	connect(t, b, a)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// The catch-up round that connecting starts must be over before the
	// slots are filled, or it holds one of them.
	if err := b.SyncWith(ctx, a.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sessions of connecting to end", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		st := a.syncs[b.ID()]
		return st == nil || st.serving == 0
	})
	// Streams that stop inside their first frame keep a session open
	// until its deadline; a's count of served sessions tells when they are
	// in.
	var held []network.Stream
	for range maxServing {
		s, err := b.host.NewStream(ctx, a.ID(), syncProtocol)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte{0x05}); err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	defer func() {
		for _, s := range held {
			_ = s.Reset()
		}
	}()
	waitFor(t, "sessions served", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		st := a.syncs[b.ID()]
		return st != nil && st.serving == maxServing
	})
	s, err := b.host.NewStream(ctx, a.ID(), syncProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	if _, err := s.Write([]byte{0x05}); err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 1)
	if _, err := s.Read(buf); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("stream beyond the bound: got %v, want a reset", err)
	}
	// Refused while the first sessions were still being served, not
	// dropped by a timeout that would have ended those first.
	a.mu.Lock()
	st := a.syncs[b.ID()]
	serving := 0
	if st != nil {
		serving = st.serving
	}
	a.mu.Unlock()
	if serving != maxServing {
		t.Errorf("sessions served when the extra one was refused: got %d, want %d", serving, maxServing)
	}
}

// TestIdentifyUserAgent: peers learn the neutral user agent, not the
// module path.
func TestIdentifyUserAgent(t *testing.T) {
	a := newNode(t, Config{})
	b := newNode(t, Config{})
	allowAll(a, b)
	connect(t, a, b)
	v, err := a.host.Peerstore().Get(b.ID(), "AgentVersion")
	if err != nil {
		t.Fatal(err)
	}
	if v != userAgent {
		t.Errorf("agent version: got %q, want %q", v, userAgent)
	}
}

func TestResourceLimits(t *testing.T) {
	n := newNode(t, Config{})
	rm, ok := n.host.Network().ResourceManager().(interface{ GetConnLimit() int })
	if !ok {
		t.Fatal("resource manager does not report its connection limit")
	}
	if got := rm.GetConnLimit(); got != limitConns {
		t.Errorf("connection limit: got %d, want %d", got, limitConns)
	}
}

// TestMDNSFound: with MDNS on, the node starts and stops cleanly, and a
// peer found on the local network is dialled only if allowed.
func TestMDNSFound(t *testing.T) {
	a := newNode(t, Config{MDNS: true})
	b := newNode(t, Config{})
	s := newNode(t, Config{})
	s.Allow(a.ID())
	allowAll(a, b)
	notify := mdnsNotifee{a}
	notify.HandlePeerFound(addrInfo(s)) // a stranger: ignored
	notify.HandlePeerFound(addrInfo(b))
	waitFor(t, "found peer connected", func() bool { return hasPeer(a, b.ID()) && hasPeer(b, a.ID()) })
	if got := len(a.host.Network().ConnsToPeer(s.ID())); got != 0 {
		t.Errorf("connections to a found stranger: got %d, want 0", got)
	}
}
