package storage

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// sealVersion is the first byte of every sealed value.
const sealVersion = 1

// sealOverhead is what sealing adds to a plaintext: version, nonce, tag.
const sealOverhead = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

// newAEAD returns XChaCha20-Poly1305 under key.
func newAEAD(key [32]byte) cipher.AEAD {
	a, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		// Only a key of the wrong length fails, and key is 32 bytes.
		panic("storage: xchacha20poly1305 rejected a 32-byte key")
	}
	return a
}

// seal appends to dst the sealed form of plaintext:
//
//	version (1) | nonce (24) | ciphertext and tag (len(plaintext)+16)
//
// with a random nonce and aad bound as associated data.
func seal(dst []byte, a cipher.AEAD, aad, plaintext []byte) []byte {
	off := len(dst)
	need := sealOverhead + len(plaintext)
	if cap(dst)-off < need {
		n := make([]byte, off, off+need)
		copy(n, dst)
		dst = n
	}
	dst = dst[:off+1+chacha20poly1305.NonceSizeX]
	dst[off] = sealVersion
	nonce := dst[off+1:]
	if _, err := rand.Read(nonce); err != nil {
		panic("storage: crypto/rand failed: " + err.Error())
	}
	return a.Seal(dst, nonce, plaintext, aad)
}

// openSealed opens a value made by seal. Anything but an intact value sealed
// under the same key and aad is ErrCorrupt; the returned plaintext is newly
// allocated.
func openSealed(a cipher.AEAD, aad, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead {
		return nil, fmt.Errorf("sealed value of %d bytes is too short: %w", len(sealed), ErrCorrupt)
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("sealed value has unknown version %d: %w", sealed[0], ErrCorrupt)
	}
	nonce := sealed[1 : 1+chacha20poly1305.NonceSizeX]
	ct := sealed[1+chacha20poly1305.NonceSizeX:]
	pt, err := a.Open(make([]byte, 0, len(ct)-chacha20poly1305.Overhead), nonce, ct, aad)
	if err != nil {
		return nil, fmt.Errorf("sealed value does not authenticate: %w", ErrCorrupt)
	}
	return pt, nil
}
