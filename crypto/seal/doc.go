// Package seal seals a secret, such as an epoch secret, to one member.
//
// It uses HPKE (RFC 9180) in base mode with the hybrid post-quantum KEM
// MLKEM768-X25519, HKDF-SHA256 and ChaCha20-Poly1305, in single-shot form: the
// sealed form is the 1,120-byte encapsulated key followed by the ciphertext
// and its 16-byte tag, so a 32-byte secret seals to 1,168 bytes. The HPKE info
// string is "hearth/v1 sealed secret" || circle id (16 bytes) || epoch
// (uint64, big-endian), so a sealed secret opens only for the circle and epoch
// it was sealed for and cannot be replayed into another. The KEM binds the
// recipient's public key, so a secret sealed to one member opens for no other.
//
// Open checks the size of its input before any cryptography (ErrMalformed),
// and reports every failure to decrypt as ErrOpen. Secrets are at most
// MaxSecretSize bytes. The package does no I/O.
package seal
