package p2p

import (
	"context"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// A member that cannot be dialled (it listens nowhere) reserves on the
// circle's relay; another reaches it through the relayed address, and the
// relayed connection carries gossip both ways: the relay announced no limit,
// so the connection is not Limited.
func TestRelayedConnectionCarriesGossip(t *testing.T) {
	const topic = "circle"
	var inA, inB inbox
	r := newNode(t, Config{RelayService: true})
	a := newNode(t, Config{Receive: inA.receive, HolePunching: true})
	b := newNode(t, Config{Receive: inB.receive, HolePunching: true, Listen: []ma.Multiaddr{}})
	allowAll(r, a, b)
	if len(b.Addrs()) != 0 {
		t.Fatalf("b listens on %v, want nowhere", b.Addrs())
	}
	b.KeepReservation(r.ID(), r.Addrs())
	waitFor(t, "b's relayed addresses", func() bool { return len(b.RelayAddrs()) > 0 })
	for _, x := range b.RelayAddrs() {
		if !isRelayed(x) {
			t.Fatalf("relayed address %s has no p2p-circuit", x)
		}
	}
	for _, n := range []*Node{a, b} {
		if err := n.Join(topic); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.Connect(ctx, peer2(b.ID(), b.RelayAddrs())); err != nil {
		t.Fatalf("connect through the relay: %v", err)
	}
	if got := a.Route(b.ID()); got != RouteRelayed {
		t.Fatalf("route a→b: got %q, want %q", got, RouteRelayed)
	}
	waitMesh(t, topic, 1, a, b)
	if err := a.Publish(ctx, topic, []byte("over the relay")); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, topic, []byte("and back")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "gossip both ways over the relay", func() bool {
		return inB.has("over the relay") && inA.has("and back")
	})
}

// The relay serves allowed peers only, in both roles.
func TestRelayACL(t *testing.T) {
	r := newNode(t, Config{RelayService: true})
	a := newNode(t, Config{})
	s := newNode(t, Config{})
	r.Allow(a.ID())
	acl := relayACL{r.gater}
	if !acl.AllowReserve(a.ID(), nil) {
		t.Error("an allowed peer may not reserve")
	}
	if acl.AllowReserve(s.ID(), nil) {
		t.Error("a stranger may reserve")
	}
	if acl.AllowConnect(a.ID(), nil, s.ID()) || acl.AllowConnect(s.ID(), nil, a.ID()) {
		t.Error("a circuit to or from a stranger is allowed")
	}
	r.Allow(s.ID())
	if !acl.AllowConnect(a.ID(), nil, s.ID()) {
		t.Error("a circuit between allowed peers is refused")
	}
}

func peer2(id peer.ID, addrs []ma.Multiaddr) peer.AddrInfo {
	return peer.AddrInfo{ID: id, Addrs: addrs}
}

// Disallowing a relay drops the reservation on it, and the node says its
// relayed addresses changed.
func TestDisallowDropsReservation(t *testing.T) {
	r := newNode(t, Config{RelayService: true})
	b := newNode(t, Config{Listen: []ma.Multiaddr{}})
	allowAll(r, b)
	b.KeepReservation(r.ID(), r.Addrs())
	waitFor(t, "b's relayed addresses", func() bool { return len(b.RelayAddrs()) > 0 })
	for len(b.Events()) > 0 {
		<-b.Events()
	}
	b.Disallow(r.ID())
	if got := b.RelayAddrs(); len(got) != 0 {
		t.Fatalf("relayed addresses after the relay was disallowed: got %v, want none", got)
	}
	waitFor(t, "an address event", func() bool {
		select {
		case ev := <-b.Events():
			return ev.Addrs && ev.Peer == r.ID()
		default:
			return false
		}
	})
}
