package p2p

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater admits only peers in the allowed set. The decision that matters is
// taken at InterceptSecured, the first point where the remote's identity is
// proven: a stranger completes no more than the security handshake. Dials to
// strangers are refused before any packet is sent.
type gater struct {
	mu      sync.RWMutex
	allowed map[peer.ID]struct{}
}

var _ connmgr.ConnectionGater = (*gater)(nil)

func newGater() *gater {
	return &gater{allowed: make(map[peer.ID]struct{})}
}

func (g *gater) allow(ids ...peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		if id != "" {
			g.allowed[id] = struct{}{}
		}
	}
}

func (g *gater) disallow(ids ...peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		delete(g.allowed, id)
	}
}

func (g *gater) isAllowed(id peer.ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.allowed[id]
	return ok
}

// InterceptPeerDial refuses to dial a peer outside the allowed set.
func (g *gater) InterceptPeerDial(p peer.ID) bool { return g.isAllowed(p) }

// InterceptAddrDial allows any address of an allowed peer.
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.isAllowed(p) }

// InterceptAccept lets the handshake start: the remote is not known yet.
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses a connection, in either direction, as soon as the
// remote has proven an identity outside the allowed set.
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.isAllowed(p)
}

// InterceptUpgraded checks again, for a peer disallowed during the upgrade.
func (g *gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return g.isAllowed(c.RemotePeer()), 0
}
