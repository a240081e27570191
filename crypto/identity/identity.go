package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Sizes of the encodings.
const (
	// SealKeySize is the size of an HPKE MLKEM768-X25519 public key.
	SealKeySize = 1216
	// PublicSize is the size of a marshalled Public.
	PublicSize = ed25519.PublicKeySize + SealKeySize
	// PrivateSize is the size of a marshalled Identity.
	PrivateSize = ed25519.SeedSize + sealSeedSize

	sealSeedSize = 32
)

// ErrMalformed means an encoded identity or public identity is not well formed.
var ErrMalformed = errors.New("malformed identity")

const memberIDLabel = "hearth/v1 member id"

// KEM is the HPKE key encapsulation mechanism of members' sealing keys.
func KEM() hpke.KEM { return hpke.MLKEM768X25519() }

// MemberID names a member within one circle.
type MemberID [16]byte

// String returns the id as 32 lowercase hex digits.
func (m MemberID) String() string { return hex.EncodeToString(m[:]) }

// idOf derives the member id of an Ed25519 public key.
func idOf(signKey ed25519.PublicKey) MemberID {
	h := sha256.New()
	h.Write([]byte(memberIDLabel))
	h.Write(signKey)
	return MemberID(h.Sum(nil)[:16])
}

// Public is what a member shows the circle: the key that verifies its
// signatures and the key that secrets are sealed to.
type Public struct {
	SignKey ed25519.PublicKey
	SealKey []byte // HPKE MLKEM768-X25519 public key, SealKeySize bytes
}

// ID returns the member id of p.
func (p Public) ID() MemberID { return idOf(p.SignKey) }

// Marshal returns the fixed-size encoding of p: sign key then seal key.
// Both keys must have their proper sizes, as they do from Identity.Public
// or ParsePublic.
func (p Public) Marshal() []byte {
	b := make([]byte, 0, PublicSize)
	b = append(b, p.SignKey...)
	return append(b, p.SealKey...)
}

// ParsePublic decodes the encoding made by Public.Marshal, checking that the
// seal key is a valid MLKEM768-X25519 public key.
func ParsePublic(b []byte) (Public, error) {
	if len(b) != PublicSize {
		return Public{}, fmt.Errorf("%w: public identity is %d bytes, want %d", ErrMalformed, len(b), PublicSize)
	}
	sealKey := bytes.Clone(b[ed25519.PublicKeySize:])
	if _, err := KEM().NewPublicKey(sealKey); err != nil {
		return Public{}, fmt.Errorf("%w: invalid seal key", ErrMalformed)
	}
	return Public{
		SignKey: ed25519.PublicKey(bytes.Clone(b[:ed25519.PublicKeySize])),
		SealKey: sealKey,
	}, nil
}

// Identity is a member's private per-circle identity. Its String method shows
// only the member id.
type Identity struct {
	sign ed25519.PrivateKey
	seal hpke.PrivateKey
	pub  Public
}

// New makes a fresh random identity.
func New() (*Identity, error) {
	var seed [PrivateSize]byte
	defer clear(seed[:])
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("identity: random seed: %w", err)
	}
	return fromSeeds(seed[:ed25519.SeedSize], seed[ed25519.SeedSize:])
}

func fromSeeds(signSeed, sealSeed []byte) (*Identity, error) {
	sign := ed25519.NewKeyFromSeed(signSeed)
	seal, err := KEM().NewPrivateKey(sealSeed)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid seal key", ErrMalformed)
	}
	return &Identity{
		sign: sign,
		seal: seal,
		pub: Public{
			SignKey: sign.Public().(ed25519.PublicKey),
			SealKey: seal.PublicKey().Bytes(),
		},
	}, nil
}

// Public returns the public half of id. The caller may modify the result.
func (id *Identity) Public() Public {
	return Public{
		SignKey: bytes.Clone(id.pub.SignKey),
		SealKey: bytes.Clone(id.pub.SealKey),
	}
}

// ID returns the member id of id.
func (id *Identity) ID() MemberID { return id.pub.ID() }

// Sign returns the Ed25519 signature of msg.
//
// Ed25519 signatures are deterministic (RFC 8032): curve25519-voi's signer,
// about twice as fast as crypto/ed25519's here, makes the very same bytes.
func (id *Identity) Sign(msg []byte) []byte {
	return voi.Sign(voi.PrivateKey(id.sign), msg)
}

// SealPrivate returns the HPKE private key that opens secrets sealed to id.
func (id *Identity) SealPrivate() hpke.PrivateKey { return id.seal }

// Marshal returns the private encoding of id: Ed25519 seed then HPKE private
// key seed. It is secret and belongs only in the encrypted store.
func (id *Identity) Marshal() []byte {
	sealSeed, err := id.seal.Bytes()
	if err != nil || len(sealSeed) != sealSeedSize {
		// Every Identity is made from seeds, so the seed is always there.
		panic("identity: seal key seed unavailable")
	}
	b := make([]byte, 0, PrivateSize)
	b = append(b, id.sign.Seed()...)
	return append(b, sealSeed...)
}

// Parse decodes the encoding made by Identity.Marshal.
func Parse(b []byte) (*Identity, error) {
	if len(b) != PrivateSize {
		return nil, fmt.Errorf("%w: identity is %d bytes, want %d", ErrMalformed, len(b), PrivateSize)
	}
	return fromSeeds(b[:ed25519.SeedSize], b[ed25519.SeedSize:])
}

// String returns "identity " and the member id, never key material.
func (id *Identity) String() string {
	if id == nil {
		return "identity <nil>"
	}
	return "identity " + id.ID().String()
}

// Format prints the same text as String for every verb, so that no
// formatting of an Identity reveals its keys.
func (id *Identity) Format(f fmt.State, verb rune) { fmt.Fprint(f, id.String()) }
