// Package epoch holds a circle's epoch secrets and the keys and names derived
// from them.
//
// A circle's content is encrypted under the secret of its current epoch; a
// facilitator starts a new epoch with a fresh random Secret when a member joins,
// leaves or is removed, and periodically. Everything an epoch needs is derived
// from its secret with HKDF-SHA256 (RFC 5869), with the circle id as salt and a
// distinct ASCII label as info, so one secret per epoch is all that is sealed
// to members, and keys from different circles or purposes never coincide:
//
//	"hearth/v1 content key"       32-byte AEAD key for the epoch's envelopes
//	"hearth/v1 topic"             20 bytes naming the epoch's gossip topic
//	"hearth/v1 storage key"       32-byte at-rest key for decoded records
//	"hearth/v1 welcome pack key"  32-byte key for a newcomer's welcome pack
//
// The topic is "hearth/" followed by the 20 topic bytes in lowercase RFC 4648
// base32 without padding (32 characters): it changes with every epoch and,
// being a pseudorandom function of the secret, tells an observer who lacks the
// secret nothing about the circle. The package does no I/O.
package epoch
