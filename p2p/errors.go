package p2p

import "errors"

// Errors callers branch on. Every error returned by this package that stems
// from one of these wraps it, so errors.Is works.
var (
	// ErrClosed is returned by calls on a node after Close.
	ErrClosed = errors.New("p2p: node closed")
	// ErrNotAllowed is returned when the peer is not in the allowed set.
	ErrNotAllowed = errors.New("p2p: peer not allowed")
	// ErrNotJoined is returned by Publish for a topic the node has not joined.
	ErrNotJoined = errors.New("p2p: topic not joined")
	// ErrRejected is returned by Publish when Config.Validate refused the
	// node's own message.
	ErrRejected = errors.New("p2p: message rejected by validator")
	// ErrTooLarge is returned when a message, request or response is over
	// its size cap.
	ErrTooLarge = errors.New("p2p: message too large")
	// ErrRemote is returned by Request when the remote handler failed. The
	// remote's error text is never sent over the wire.
	ErrRemote = errors.New("p2p: remote handler failed")
	// ErrSyncDisabled is returned by SyncWith on a node without a Log.
	ErrSyncDisabled = errors.New("p2p: sync disabled")
	// ErrProtocol is returned when a peer breaks a wire protocol: a
	// malformed frame, a frame out of order, or more data than allowed.
	ErrProtocol = errors.New("p2p: protocol violation")
	// ErrTooManyAuthors is returned when a high-water map has more than
	// MaxAuthors entries, whether received or produced by the local Log.
	ErrTooManyAuthors = errors.New("p2p: too many authors")
)
