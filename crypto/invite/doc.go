// Package invite makes and reads invite codes: the short text (also shown as
// a QR code) a facilitator hands to a newcomer so they can find the circle and
// prove they were invited.
//
// A code carries no circle key, only what a newcomer needs to reach the
// inviter and prove the invitation. Its binary form is, big-endian:
//
//	version          1 byte, 1
//	circle id        16 bytes
//	invite secret    16 bytes, random
//	expiry           uint32, Unix time in minutes
//	inviter peer id  1-byte length (1..255), then the libp2p peer id bytes
//	addresses        1-byte count (0..8), then each binary multiaddr with a
//	                 1-byte length (1..64)
//	checksum         CRC-32 (IEEE), big-endian, of all the preceding bytes
//
// The text form is "HEARTH-" followed by the binary form in Crockford base32
// (alphabet 0123456789ABCDEFGHJKMNPQRSTVWXYZ, most significant bit first, the
// last symbol padded with zero bits, no padding characters), in groups of five
// joined by "-". A typical code, with two addresses, is about 200 characters.
//
// Parse is forgiving of what people do when copying or reading codes aloud:
// case does not matter, spaces, dashes and line breaks are ignored, I and L
// read as 1 and O as 0, and the "HEARTH-" prefix may be left out (a version 1
// code always starts with the symbol 0, so the prefix cannot be confused with
// code symbols). It then checks, in this order: the characters; the length;
// the checksum; the version; the fields; the expiry. Because the checksum is
// checked before anything else in the code is read, a mistyped symbol is
// always reported as ErrChecksum: a symbol is 5 bits, so a substituted symbol,
// or two adjacent symbols swapped, alter at most 10 consecutive bits, which
// CRC-32 always detects (a non-zero padding bit in the last symbol is reported
// the same way).
//
// From the invite secret HKDF-SHA256 (salt: circle id) derives, under distinct
// labels, the invite id gossiped in the circle when the invite is issued, the
// seed of the one-time libp2p key the newcomer dials with, and the HMAC key
// with which the newcomer proves it holds the secret. The package does no I/O.
package invite
