// Package identity makes and encodes a member's per-circle identity.
//
// On creating or joining a circle a member makes a new Identity, used in that
// circle only, so that nothing links one person's circles: an Ed25519 key that
// signs everything the member writes, and an HPKE key pair (RFC 9180) with the
// hybrid post-quantum KEM MLKEM768-X25519 on which fellow members seal epoch
// secrets to it (see crypto/seal). The member id is the first 16 bytes of
// SHA-256("hearth/v1 member id" || Ed25519 public key); MemberID.String
// writes it as 32 lowercase hex digits.
//
// Encodings are fixed-size and parsed strictly (anything else is
// ErrMalformed):
//
//	Public (1,248 bytes):  Ed25519 public key (32) | HPKE public key (1,216)
//	Identity (64 bytes):   Ed25519 seed (32) | HPKE private key seed (32)
//
// The Identity encoding is private key material: it belongs only inside the
// passphrase-encrypted store. The package does no I/O.
package identity
