// Package syncpb holds the Protocol Buffers frames of Hearth's catch-up sync
// protocol, /hearth/sync/1: a Frame carries either a high-water map (one Mark
// per author: every envelope up to that sequence number is held), a batch of
// opaque envelopes, or the end of one side's envelopes for a round. The code
// is generated from sync.proto and committed; package p2p specifies how frames
// are ordered and bounded, and refuses any frame that breaks those rules
// before acting on it.
package syncpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative sync.proto
