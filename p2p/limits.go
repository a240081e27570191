package p2p

import (
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// Resource limits of one circle's host. A circle has tens of members, so the
// limits are small and fixed (they do not scale with the machine's memory):
// a peer, allowed or not, cannot hold more than a few connections and a
// bounded number of streams, and the sync protocol gets a couple of streams
// per peer.
const (
	limitConns           = 256 // whole host
	limitConnsPerPeer    = 8
	limitStreams         = 2048 // whole host
	limitStreamsPerPeer  = 128
	limitSyncStreamsPeer = 4 // per direction, per peer
	limitMemory          = 512 << 20
	limitMemoryPerPeer   = 64 << 20
	limitFD              = 512
)

// newResourceManager builds the bounded resource manager of one host.
func newResourceManager() (network.ResourceManager, error) {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	scaling.AddProtocolPeerLimit(syncProtocol,
		rcmgr.BaseLimit{
			StreamsInbound:  limitSyncStreamsPeer,
			StreamsOutbound: limitSyncStreamsPeer,
			Streams:         2 * limitSyncStreamsPeer,
			Memory:          32 << 20,
		},
		rcmgr.BaseLimitIncrease{})
	scaling.AddProtocolPeerLimit(gossipProtocol,
		rcmgr.BaseLimit{StreamsInbound: 4, StreamsOutbound: 4, Streams: 8, Memory: 16 << 20},
		rcmgr.BaseLimitIncrease{})
	base := scaling.Scale(limitMemory, limitFD)

	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns:           limitConns,
			ConnsInbound:    limitConns / 2,
			ConnsOutbound:   limitConns / 2,
			Streams:         limitStreams,
			StreamsInbound:  limitStreams / 2,
			StreamsOutbound: limitStreams / 2,
			Memory:          limitMemory,
			FD:              limitFD,
		},
		PeerDefault: rcmgr.ResourceLimits{
			Conns:           limitConnsPerPeer,
			ConnsInbound:    limitConnsPerPeer,
			ConnsOutbound:   limitConnsPerPeer,
			Streams:         limitStreamsPerPeer,
			StreamsInbound:  limitStreamsPerPeer / 2,
			StreamsOutbound: limitStreamsPerPeer / 2,
			Memory:          limitMemoryPerPeer,
			FD:              limitConnsPerPeer,
		},
	}
	limiter := rcmgr.NewFixedLimiter(partial.Build(base))
	return rcmgr.NewResourceManager(limiter, rcmgr.WithMetricsDisabled())
}
