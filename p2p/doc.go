// Package p2p is one circle's libp2p node: a host that only the circle's
// allowed peers can reach, gossip of opaque messages, catch-up sync of
// opaque envelopes, and small request/response exchanges. It moves bytes and
// knows nothing of what they mean: keys, records and storage belong to the
// app, which supplies a validator, a receiver and a Log (an interface this
// package declares), and never touches libp2p itself.
//
// # Design
//
// Each circle gets its own Node with the circle's own peer key, so nothing
// at the network layer links a member's circles. The host runs TCP and QUIC
// on explicit listen addresses, Noise or TLS, yamux, identify with the
// neutral user agent "hearth", ping, no metrics, the circuit relay v2
// client (Config.RelayService adds the relay service, for a mailbox;
// Config.HolePunching adds DCUtR), no AutoNAT, and a resource manager with small fixed limits (a circle has tens
// of members). A connection gater admits only the allowed set (the roster,
// mailbox peers, the one-time ids of outstanding invites, kept by the app
// through Allow and Disallow): it refuses strangers as soon as the security
// handshake has proven who they are, and never dials them. Disallow also
// closes existing connections.
//
// Gossip is gossipsub under the protocol id /hearth/gossip/1.0.0. Messages
// carry no author, sequence number or signature (the envelopes inside are
// signed), their id is the SHA-256 of the data, and an RPC is at most 72 KiB.
// A subscription filter lets the node subscribe only to topics it joined,
// and keeps at most a few not-yet-joined topics per peer (see topicFilter
// for why). Config.Validate judges each message inline on a single worker,
// so messages reach Config.Receive in arrival order, from one goroutine per
// topic. The node publishes to every known subscriber of a topic at once
// (flood publishing): in a small circle that is one hop to everyone, also
// before the gossip mesh has formed. So a node asks its mesh peers not to
// send it copies (IDONTWANT) only of messages of 16 KiB and more.
//
// Gossip only reaches peers that are online and drops messages under
// bursts. Catch-up sync repairs both: on every new connection (at once for
// the dialer, a second later for the accepter), on RequestSync (when the
// app sees a gap in an author's sequence numbers), and every SyncEvery with
// jitter, the node runs a session with each connected peer. A node never
// starts a session with a peer while it serves one from that peer, and
// requests for a peer coalesce.
//
// Every goroutine the node starts is registered with it; Close cancels them
// all, closes the host and waits.
//
// # Catch-up sync protocol, /hearth/sync/1
//
// The key words MUST, MUST NOT and MAY are used as in RFC 2119.
//
// Framing. A session is one libp2p stream. Each message on it is a frame:
// the length of the frame as an unsigned varint (minimal encoding), then
// that many bytes, a Frame of package syncpb in Protocol Buffers encoding.
// The length MUST be from 1 to MaxFrameSize (1,153,433 bytes, 1.1 MiB). A
// reader MUST check the length before allocating anything for the frame.
//
// Frames. A Frame has a kind and, depending on it, one more field:
//
//	KIND_MARKS  marks: the sender's high-water map, one Mark (16-byte author
//	            id, sequence number) per author, authors in strictly
//	            ascending byte order, at most MaxAuthors (10,000) of them.
//	            An author absent from the map is at 0. A Mark MAY carry a
//	            busy mark above its sequence number: the envelopes after
//	            the sequence number up to it are on their way to the sender
//	            from another peer. The sequence number is 0 only in a Mark
//	            with a busy mark.
//	KIND_BATCH  envelopes: 1 to MaxBatchEnvelopes (256) non-empty envelopes
//	            totalling at most MaxBatchBytes (1 MiB), in ascending
//	            sequence order for each author.
//	KIND_DONE   nothing: the sender has sent all its envelopes of the round.
//
// A frame MUST be encoded exactly as the deterministic encoding of the
// generated code writes it: fields in field-number order, the kind once and
// not 0, no unknown fields, no fields that do not belong to the kind. A
// frame that breaks any of these rules is a protocol violation.
//
// Session. The peer that opened the stream is the initiator (I), the other
// the responder (R). A session is a sequence of rounds; in each:
//
//  1. I sends MARKS with its current high-water map.
//  2. R sends MARKS with its own, then BATCH frames with the envelopes I
//     lacks, then DONE.
//  3. I sends BATCH frames with the envelopes R lacks, then DONE.
//
// "The envelopes X lacks", for the maps exchanged in this round: for every
// author whose mark on the sending side is above X's mark (its busy mark,
// where it has one), the envelopes with sequence numbers from that mark + 1
// to the sender's mark, taken from the sender's Log in ascending order,
// authors in ascending byte order. In
// one round a side MUST NOT send more than 16,384 envelopes or 32 MiB of
// envelopes; it stops early at that bound and the next round continues. A
// receiver passes each batch to its Log as it arrives (Log.Deliver), and
// MUST treat more than a round's worth as a protocol violation.
//
// Busy marks. A member coming back after a while connects to every member
// at once, and each would stream it the same history. So a node keeps, for
// every session it runs, what that session's peer announced it holds
// beyond the node's own marks (the session's claim), and announces the
// other sessions' claims as busy marks: the first session to learn what
// is missing fetches it, and the peers of the others skip it. The sessions
// a node initiates announce their marks and make their claims one at a
// time (waiting at most a second for the turn), across the round trip; a
// responder knows its peer's marks before it announces, and claims at
// once. A session that fails before the node
// holds what it claimed asks every other connected peer for a session.
// Busy marks are a hint: a peer that ignores them sends copies, which
// cost only bandwidth.
//
// A round is stalled when it is not the first and both maps are equal to
// those of the previous round: neither side has taken anything in. In a
// stalled round both sides MUST send DONE with no batch before it.
//
// In the two paragraphs below, a side's map is its marks raised to its
// busy marks. After the round, I starts another round if the two maps differed, the
// round was not stalled, and fewer than MaxSyncRounds (16) rounds have run.
// Otherwise I closes its side of the stream; R, seeing the stream end where
// a round would start, closes its side, and I waits for that end before the
// session counts as complete (so R has delivered everything I sent). R MUST
// treat a round beyond MaxSyncRounds as a protocol violation.
//
// Envelopes past a gap are not exchanged: a side whose log has a gap at
// sequence number n has a mark below n, and sends nothing above it. The
// side that fills the gap sees its mark jump in the next round, and sends.
//
// Deadlines and bounds. Every frame read or write has a 30-second deadline,
// a session at most 10 minutes. A node serves at most two sessions from one
// peer at a time; the resource manager allows a peer four sync streams in
// each direction. On a protocol violation or an error of its Log, a side
// resets the stream. Storing an envelope twice is the Log's concern: a
// session may deliver envelopes the receiver already holds.
//
// # Request/response
//
// Handle and Request exchange one request and one response of opaque bytes
// on a stream of a protocol of the app's own (for example /hearth/join/1):
// the request as a uvarint length and the bytes, then the requester closes
// its side; the answer as a status byte (0 ok, 1 the handler failed, 2 the
// request was over the handler's cap) and, for 0, a uvarint length and the
// bytes. Both sides bound the size before reading and put deadlines on the
// stream. The handler's error text never crosses the wire.
//
// # Limits
//
// Members see each other's IP addresses. With Config.MDNS the node
// announces its peer id and addresses to its whole local network segment
// under libp2p's generic service name.
//
// # Relaying and hole punching
//
// A node with RelayService is a circuit relay v2 whose ACL admits
// reservations and circuits between allowed peers only, and which sends no
// limit with a circuit: go-libp2p marks a relayed connection Limited (and
// gossipsub refuses it) exactly when the relay sends one, and chat and sync
// need a full connection. Resources bound the service instead (see
// relay.go). KeepReservation holds a reservation on such a relay and
// RelayAddrs gives the relayed addresses to announce; Route tells whether a
// peer is reached directly or through a relay. With HolePunching, DCUtR
// upgrades a relayed connection to a direct one where both NATs allow it;
// go-libp2p starts it only once the host has a public address.
//
// AutoNAT is not used: its servers dial back from a second host with a
// random peer id, which the gater refuses like any stranger, so every node
// would conclude it is unreachable. The app decides instead: a node without
// a public address reserves on its circle's mailbox.
package p2p
