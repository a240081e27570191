package p2p

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
)

// Circuit relay v2, offered by a mailbox to its circle and used by members
// behind NAT.
//
// go-libp2p marks a relayed connection Limited, and gossipsub (like any
// protocol not opted in with network.WithAllowLimitedConn) will not open
// streams on it, exactly when the relay announces a limit in its answer to
// the connect request. The relay here announces none (relay.WithInfiniteLimits):
// a relayed connection between two members is a full connection that gossip
// and sync use. What bounds the service instead is who may use it — the ACL
// admits reservations and circuits between allowed peers only, so a
// stranger cannot even reach it past the gater — and relay.Resources below.
const (
	// relayReservationTTL is how long a reservation lasts before renewal.
	relayReservationTTL = time.Hour
	// relayMaxReservations bounds the reservations of the whole relay: a
	// circle has tens of members.
	relayMaxReservations = 256
	// relayMaxCircuits bounds the relayed connections to or from one peer.
	relayMaxCircuits = 32
	// relayBufferSize is the relay's buffer per direction of a circuit.
	relayBufferSize = 16 << 10
	// reserveRetry is the wait before trying a failed reservation again.
	reserveRetry = 10 * time.Second
)

// relayACL keeps the relay to the node's allowed set.
type relayACL struct{ g *gater }

var _ relay.ACLFilter = relayACL{}

func (a relayACL) AllowReserve(p peer.ID, _ ma.Multiaddr) bool { return a.g.isAllowed(p) }

func (a relayACL) AllowConnect(src peer.ID, _ ma.Multiaddr, dest peer.ID) bool {
	return a.g.isAllowed(src) && a.g.isAllowed(dest)
}

// startRelay makes the node a relay for its allowed peers.
func (n *Node) startRelay() error {
	res := relay.DefaultResources()
	res.Limit = nil
	res.ReservationTTL = relayReservationTTL
	res.MaxReservations = relayMaxReservations
	res.MaxCircuits = relayMaxCircuits
	res.BufferSize = relayBufferSize
	res.MaxReservationsPerIP = relayMaxReservations // members may share a home or a carrier NAT
	res.MaxReservationsPerASN = relayMaxReservations
	r, err := relay.New(n.host,
		relay.WithResources(res),
		relay.WithInfiniteLimits(),
		relay.WithACL(relayACL{n.gater}),
	)
	if err != nil {
		return err
	}
	n.relay = r
	return nil
}

// KeepReservation holds a reservation on relay (an allowed peer running the
// relay service, at addrs) for as long as the node runs or until
// DropReservation: it reserves, renews before expiry, and retries after a
// failure. RelayAddrs returns the addresses through it once it holds.
func (n *Node) KeepReservation(relayID peer.ID, addrs []ma.Multiaddr) {
	if !n.gater.isAllowed(relayID) {
		return
	}
	n.mu.Lock()
	if _, ok := n.reservations[relayID]; ok {
		n.mu.Unlock()
		return
	}
	ctx, end, ok := n.beginLocked(context.Background())
	if !ok {
		n.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	n.reservations[relayID] = &reservation{stop: cancel}
	n.mu.Unlock()
	go n.holdReservation(ctx, end, relayID, addrs)
}

// DropReservation stops holding a reservation on relay; Disallow drops the
// reservations on the peers it disallows.
func (n *Node) DropReservation(relayID peer.ID) {
	n.setRelayAddrs(relayID, nil)
	n.mu.Lock()
	r := n.reservations[relayID]
	delete(n.reservations, relayID)
	n.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// reservation is a reservation the node keeps on a relay.
type reservation struct {
	stop  func()
	addrs []ma.Multiaddr // relayed addresses while it holds
}

func (n *Node) holdReservation(ctx context.Context, end func(), relayID peer.ID, addrs []ma.Multiaddr) {
	defer end()
	defer n.setRelayAddrs(relayID, nil)
	for {
		if !n.gater.isAllowed(relayID) {
			n.setRelayAddrs(relayID, nil)
			n.mu.Lock()
			delete(n.reservations, relayID)
			n.mu.Unlock()
			return // the relay left the circle
		}
		wait := reserveRetry
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		rsvp, err := client.Reserve(rctx, n.host, peer.AddrInfo{ID: relayID, Addrs: addrs})
		cancel()
		if err != nil {
			n.log.Debug("relay reservation", "relay", relayID, "err", err)
			n.setRelayAddrs(relayID, nil)
		} else {
			n.setRelayAddrs(relayID, circuitAddrs(relayID, n.host.Peerstore().Addrs(relayID)))
			// Renew at about two thirds of the reservation's life.
			wait = time.Until(rsvp.Expiration) * 2 / 3
			wait += time.Duration(rand.Int64N(int64(wait/10) + 1))
			if wait < reserveRetry {
				wait = reserveRetry
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// circuitAddrs are the addresses at which peers reach this node through
// relay, one per (non-relayed) address of the relay.
func circuitAddrs(relayID peer.ID, relayAddrs []ma.Multiaddr) []ma.Multiaddr {
	suffix, err := ma.NewMultiaddr("/p2p/" + relayID.String() + "/p2p-circuit")
	if err != nil {
		return nil
	}
	var out []ma.Multiaddr
	for _, a := range relayAddrs {
		if isRelayed(a) {
			continue
		}
		out = append(out, a.Encapsulate(suffix))
	}
	return out
}

func (n *Node) setRelayAddrs(relayID peer.ID, addrs []ma.Multiaddr) {
	n.mu.Lock()
	r := n.reservations[relayID]
	changed := false
	if r != nil && !slices.EqualFunc(r.addrs, addrs, func(a, b ma.Multiaddr) bool { return a.Equal(b) }) {
		r.addrs = addrs
		changed = true
	}
	n.mu.Unlock()
	if changed {
		n.emit(PeerEvent{Peer: relayID, Connected: n.host.Network().Connectedness(relayID) == network.Connected, Addrs: true})
	}
}

// RelayAddrs returns the addresses at which peers reach this node through
// the relays it holds reservations on.
func (n *Node) RelayAddrs() []ma.Multiaddr {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []ma.Multiaddr
	for _, r := range n.reservations {
		out = append(out, r.addrs...)
	}
	return out
}

// isRelayed reports whether a is a relayed (p2p-circuit) address.
func isRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// Route says how the node is connected to p now: RouteDirect when one of
// its connections is not relayed, RouteRelayed when all go through a relay,
// RouteNone when it is not connected.
func (n *Node) Route(p peer.ID) Route {
	conns := n.host.Network().ConnsToPeer(p)
	if len(conns) == 0 {
		return RouteNone
	}
	for _, c := range conns {
		if !isRelayed(c.RemoteMultiaddr()) {
			return RouteDirect
		}
	}
	return RouteRelayed
}

// Route is how two peers are connected.
type Route string

// Routes.
const (
	RouteNone    Route = ""
	RouteDirect  Route = "direct"
	RouteRelayed Route = "relayed"
)

// closeRelay stops the relay service if it runs.
func (n *Node) closeRelay() error {
	if n.relay == nil {
		return nil
	}
	if err := n.relay.Close(); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	return nil
}
