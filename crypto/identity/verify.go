package identity

import (
	"crypto/ed25519"
	"errors"

	"github.com/oasisprotocol/curve25519-voi/curve"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Every signature Hearth checks is checked by one rule, alone or in a
// batch, so that no two members can disagree about a record: RFC 8032
// verification with the cofactor ([8][S]B = [8]R + [8][k]A), a canonical
// S, a canonically encoded R, and a public key that is canonically encoded
// and not of small order. Go's crypto/ed25519 signs; every signature it
// makes passes. The rule is curve25519-voi's default, which is also the
// one its batch verifier applies, so a batch accepts exactly the
// signatures that pass one by one.
var verifyOptions = &voi.Options{Verify: voi.VerifyOptionsDefault}

// ErrWeakKey means a signing key is not a canonical encoding of a point of
// large order, so no signature by it would ever be accepted.
var ErrWeakKey = errors.New("signing key is not a valid Ed25519 key")

// Verify reports whether sig is a valid signature of msg by pub under
// Hearth's rule. A key or signature of the wrong size is invalid.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, verifyOptions)
}

// Verifier checks the signatures of one signing key. It keeps the key in
// expanded form (about 1.5 KiB), which halves the cost of each later check:
// make one per member and keep it with the roster.
type Verifier struct {
	key ed25519.PublicKey
	id  MemberID
	x   *voi.ExpandedPublicKey
}

// NewVerifier expands pub. It refuses a key of the wrong size, a
// non-canonical encoding, and a point of small order (ErrWeakKey): no
// signature by such a key passes Hearth's rule.
func NewVerifier(pub ed25519.PublicKey) (*Verifier, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, ErrWeakKey
	}
	var y curve.CompressedEdwardsY
	var p curve.EdwardsPoint
	if _, err := y.SetBytes(pub); err != nil {
		return nil, ErrWeakKey
	}
	if _, err := p.SetCompressedY(&y); err != nil || p.IsSmallOrder() || !y.IsCanonicalVartime() {
		return nil, ErrWeakKey
	}
	x, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		return nil, ErrWeakKey
	}
	return &Verifier{key: append(ed25519.PublicKey(nil), pub...), id: idOf(pub), x: x}, nil
}

// Key returns the signing key.
func (v *Verifier) Key() ed25519.PublicKey { return v.key }

// ID returns the member id of the key.
func (v *Verifier) ID() MemberID { return v.id }

// Verify reports whether sig is a valid signature of msg under Hearth's rule.
func (v *Verifier) Verify(msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyExpandedWithOptions(v.x, msg, sig, verifyOptions)
}

// Batch checks many signatures together, about three times faster per
// signature than one by one for pages of a few dozen or more (the random
// linear combination of RFC 8032's equations; a batch passes only if every
// signature in it would pass alone, but for a chance below 2^-128).
type Batch struct {
	items []batchItem
}

type batchItem struct {
	v        *Verifier
	msg, sig []byte
}

// minBatch is the smallest batch checked as one: below it, one by one is
// as fast.
const minBatch = 3

// NewBatch returns an empty batch with room for n signatures.
func NewBatch(n int) *Batch {
	return &Batch{items: make([]batchItem, 0, n)}
}

// Add queues a signature of msg under v.
func (b *Batch) Add(v *Verifier, msg, sig []byte) {
	b.items = append(b.items, batchItem{v, msg, sig})
}

// Len returns the number of signatures queued.
func (b *Batch) Len() int { return len(b.items) }

// Verify checks every queued signature and returns whether each is valid,
// in the order added. When the batch as a whole fails, each signature is
// checked alone to say which.
func (b *Batch) Verify() []bool {
	if len(b.items) == 0 {
		return nil
	}
	if len(b.items) < minBatch {
		valid := make([]bool, len(b.items))
		for i, it := range b.items {
			valid[i] = it.v.Verify(it.msg, it.sig)
		}
		return valid
	}
	bv := voi.NewBatchVerifierWithCapacity(len(b.items))
	for _, it := range b.items {
		bv.AddExpandedWithOptions(it.v.x, it.msg, it.sig, verifyOptions)
	}
	_, valid := bv.Verify(nil)
	return valid
}
