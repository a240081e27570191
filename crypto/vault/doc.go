// Package vault wraps the 32-byte key of a member's local store under their
// passphrase, so that a wrong passphrase fails before the store is touched and
// changing the passphrase rewrites one small header instead of the store.
//
// The passphrase goes through Argon2id (by default RFC 9106's second
// recommended setting: 3 passes, 64 MiB, 4 lanes) with a random 16-byte salt
// to a 32-byte key-encryption key, which seals a random store key with
// XChaCha20-Poly1305 under a random 24-byte nonce. The header is a fixed
// 106-byte record, big-endian:
//
//	offset size field
//	     0    7 magic "HRTHVLT"
//	     7    1 version, 1
//	     8    1 kdf id, 1 = Argon2id
//	     9    4 Argon2id passes (time), 1..64
//	    13    4 Argon2id memory in KiB, 8 MiB..4 GiB
//	    17    1 Argon2id lanes (threads), 1..255
//	    18   16 salt
//	    34   24 nonce
//	    58   48 store key sealed with XChaCha20-Poly1305 (32 bytes + 16-byte tag)
//
// Bytes 0..33 (magic through salt) are the associated data of the seal, so
// the parameters cannot be changed without the unwrap failing. Parsing is
// strict and happens before any key derivation: a header of the wrong length,
// with a bad magic, an unknown kdf or parameters out of the ranges above is
// ErrMalformed, an unknown version is ErrVersion, so a tampered header cannot
// make Open spend unbounded memory or time. A failed unwrap is
// ErrWrongPassphrase; a header whose salt, nonce or sealed key was altered
// looks the same as a wrong passphrase, since the two cannot be told apart.
//
// The package does no I/O: callers store the header where they like.
package vault
