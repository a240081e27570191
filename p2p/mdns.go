package p2p

import (
	"context"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// mdnsDialTimeout bounds a dial to a peer found on the local network.
const mdnsDialTimeout = 20 * time.Second

// startMDNS announces the node on the local network and dials allowed peers
// it finds there. It uses libp2p's generic service name, so the announcement
// does not say that Hearth runs here; it does carry the circle's peer id and
// addresses.
func (n *Node) startMDNS() (io.Closer, error) {
	s := mdns.NewMdnsService(n.host, "", mdnsNotifee{n})
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

type mdnsNotifee struct{ n *Node }

// HandlePeerFound dials a found peer if it is allowed and not connected.
func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	n := m.n
	if ai.ID == n.host.ID() || !n.gater.isAllowed(ai.ID) || len(n.host.Network().ConnsToPeer(ai.ID)) > 0 {
		return
	}
	ctx, end, ok := n.begin(context.Background())
	if !ok {
		return
	}
	go func() {
		defer end()
		ctx, cancel := context.WithTimeout(ctx, mdnsDialTimeout)
		defer cancel()
		if err := n.Connect(ctx, ai); err != nil {
			n.log.Debug("dialling a peer found by mdns", "peer", ai.ID, "err", err)
		}
	}()
}
