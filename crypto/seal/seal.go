package seal

import (
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hearth-circles/hearth/crypto/identity"
)

const (
	// EncSize is the size of the MLKEM768-X25519 encapsulated key.
	EncSize = 1088 + 32
	// TagSize is the size of the ChaCha20-Poly1305 tag.
	TagSize = 16
	// Overhead is how much longer a sealed secret is than the secret.
	Overhead = EncSize + TagSize
	// MaxSecretSize is the largest secret Secret seals and Open accepts.
	MaxSecretSize = 1024
)

var (
	// ErrMalformed means a sealed secret or a recipient key is not well formed.
	ErrMalformed = errors.New("malformed sealed secret")
	// ErrOpen means a sealed secret did not open: it was sealed to another
	// member, for another circle or epoch, or was altered.
	ErrOpen = errors.New("sealed secret does not open")
)

const infoLabel = "hearth/v1 sealed secret"

// info binds a sealed secret to its circle and epoch.
func info(circle [16]byte, epoch uint64) []byte {
	b := make([]byte, 0, len(infoLabel)+16+8)
	b = append(b, infoLabel...)
	b = append(b, circle[:]...)
	return binary.BigEndian.AppendUint64(b, epoch)
}

// Secret seals secret (1 to MaxSecretSize bytes) to the member whose HPKE
// public key is recipientSealKey, for the given circle and epoch. The result
// is len(secret)+Overhead bytes.
func Secret(recipientSealKey []byte, circle [16]byte, epoch uint64, secret []byte) ([]byte, error) {
	if len(secret) == 0 || len(secret) > MaxSecretSize {
		return nil, fmt.Errorf("seal: secret of %d bytes, want 1 to %d", len(secret), MaxSecretSize)
	}
	pk, err := identity.KEM().NewPublicKey(recipientSealKey)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid recipient key", ErrMalformed)
	}
	sealed, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info(circle, epoch), secret)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return sealed, nil
}

// Open opens a secret sealed to id for the given circle and epoch.
func Open(id *identity.Identity, circle [16]byte, epoch uint64, sealed []byte) ([]byte, error) {
	if id == nil {
		return nil, errors.New("seal: no identity")
	}
	if len(sealed) <= Overhead || len(sealed) > Overhead+MaxSecretSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d to %d", ErrMalformed, len(sealed), Overhead+1, Overhead+MaxSecretSize)
	}
	secret, err := hpke.Open(id.SealPrivate(), hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info(circle, epoch), sealed)
	if err != nil {
		return nil, ErrOpen
	}
	return secret, nil
}
