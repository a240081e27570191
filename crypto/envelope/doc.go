// Package envelope seals and opens the records members exchange in a circle.
//
// Every record travels as an envelope: a 58-byte cleartext header (format
// version, cipher suite, epoch, author id, author sequence number and a
// 24-byte random nonce) followed by the XChaCha20-Poly1305 ciphertext, under
// the epoch's content key, of the author's Ed25519 signature and the record
// (a Protocol Buffers Record), padded to one of a few size buckets so that an
// observer learns only the bucket. The header is the AEAD's associated data,
// so it cannot be altered without the open failing; the signature covers the
// circle id, epoch, author id, sequence number and the record bytes, so no
// member can speak as another, replay a record under another position, or
// carry it into another circle.
//
// Parse checks the envelope's shape strictly before any cryptography runs:
// unknown versions and suites, sizes that are not a bucket, trailing bytes and
// oversize input are refused, each with its own error, and nothing is
// allocated from a length the input claims. docs/PROTOCOL.md gives the byte
// layout.
package envelope
