package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	"pgregory.net/rapid"
)

// order is the order L of Ed25519's prime-order subgroup.
var order, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// addOrder returns sig with L added to its S half: the same signature in a
// non-canonical encoding, which the rule refuses.
func addOrder(sig []byte) []byte {
	le := func(b []byte) *big.Int {
		r := make([]byte, len(b))
		for i := range b {
			r[len(b)-1-i] = b[i]
		}
		return new(big.Int).SetBytes(r)
	}
	s := le(sig[32:])
	s.Add(s, order)
	be := s.FillBytes(make([]byte, 32))
	out := append([]byte(nil), sig[:32]...)
	for i := range be {
		out = append(out, be[31-i])
	}
	return out
}

func newKey(t *rapid.T, seed []byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(seed)
	return priv.Public().(ed25519.PublicKey), priv
}

func TestVerifierAcceptsWhatGoSigns(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pub, priv := newKey(t, rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seed"))
		msg := rapid.SliceOf(rapid.Byte()).Draw(t, "msg")
		sig := ed25519.Sign(priv, msg)
		v, err := NewVerifier(pub)
		if err != nil {
			t.Fatalf("NewVerifier: %v", err)
		}
		if !v.Verify(msg, sig) || !Verify(pub, msg, sig) {
			t.Fatal("a signature made by crypto/ed25519 was refused")
		}
		if v.ID() != idOf(pub) {
			t.Fatal("verifier's member id differs from the key's")
		}
		bit := rapid.IntRange(0, 8*len(sig)-1).Draw(t, "bit")
		bad := append([]byte(nil), sig...)
		bad[bit/8] ^= 1 << (bit % 8)
		if v.Verify(msg, bad) || Verify(pub, msg, bad) {
			t.Fatalf("a signature with bit %d flipped was accepted", bit)
		}
		if v.Verify(msg, addOrder(sig)) || Verify(pub, msg, addOrder(sig)) {
			t.Fatal("a signature with S+L was accepted")
		}
		if v.Verify(msg, sig[:63]) || Verify(pub, msg, sig[:63]) {
			t.Fatal("a short signature was accepted")
		}
	})
}

func TestNewVerifierRefusesWeakKeys(t *testing.T) {
	// The eight points of small order, in their canonical encodings, and
	// the identity and y = 0 with the sign bit set.
	small := []string{
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"0100000000000000000000000000000000000000000000000000000000000080",
	}
	for _, h := range small {
		k, _ := hex.DecodeString(h)
		if _, err := NewVerifier(k); !errors.Is(err, ErrWeakKey) {
			t.Errorf("NewVerifier(%s): got %v, want ErrWeakKey", h, err)
		}
	}
	// Non-canonical encodings: y + p for the y below 19 that are on the
	// curve. Go's crypto/ed25519 accepts those of large order; Hearth's
	// rule does not.
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	refused := 0
	for y := int64(0); y < 19; y++ {
		be := new(big.Int).Add(p, big.NewInt(y)).FillBytes(make([]byte, 32))
		k := make([]byte, 32)
		for i := range be {
			k[i] = be[31-i]
		}
		if _, err := NewVerifier(k); err == nil {
			t.Errorf("NewVerifier accepted the non-canonical encoding of y = %d", y)
		} else {
			refused++
		}
	}
	if refused != 19 {
		t.Fatalf("refused %d of 19 non-canonical encodings", refused)
	}
	for _, n := range []int{0, 31, 33} {
		if _, err := NewVerifier(make([]byte, n)); !errors.Is(err, ErrWeakKey) {
			t.Errorf("NewVerifier of %d bytes: got %v, want ErrWeakKey", n, err)
		}
	}
}

// TestBatchAgreesWithOneByOne checks that a batch says of each signature
// exactly what checking it alone says, for batches mixing good signatures
// with flipped bits, wrong messages, another key's signatures and S+L.
func TestBatchAgreesWithOneByOne(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "n")
		keys := make([]*Verifier, 3)
		privs := make([]ed25519.PrivateKey, 3)
		for i := range keys {
			pub, priv := newKey(t, rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seed"))
			v, err := NewVerifier(pub)
			if err != nil {
				t.Fatal(err)
			}
			keys[i], privs[i] = v, priv
		}
		b := NewBatch(n)
		type item struct {
			v        *Verifier
			msg, sig []byte
			want     bool
		}
		items := make([]item, n)
		for i := range items {
			k := rapid.IntRange(0, 2).Draw(t, "key")
			msg := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "msg")
			sig := ed25519.Sign(privs[k], msg)
			it := item{v: keys[k], msg: msg, sig: sig, want: true}
			switch rapid.IntRange(0, 11).Draw(t, "damage") {
			case 1:
				bit := rapid.IntRange(0, 511).Draw(t, "bit")
				it.sig = append([]byte(nil), sig...)
				it.sig[bit/8] ^= 1 << (bit % 8)
				it.want = false
			case 2:
				it.msg = append(append([]byte(nil), msg...), 0)
				it.want = false
			case 3:
				it.v = keys[(k+1)%3]
				it.want = false
			case 4:
				it.sig = addOrder(sig)
				it.want = false
			}
			items[i] = it
			b.Add(it.v, it.msg, it.sig)
		}
		if b.Len() != n {
			t.Fatalf("Len: got %d, want %d", b.Len(), n)
		}
		allValid := true
		for _, it := range items {
			allValid = allValid && it.want
		}
		if n >= minBatch && b.holds() != allValid {
			t.Fatalf("the batch's equation holds: %v, with every signature valid: %v", !allValid, allValid)
		}
		got := b.Verify()
		if len(got) != n {
			t.Fatalf("Verify returned %d results for %d signatures", len(got), n)
		}
		for i, it := range items {
			alone := it.v.Verify(it.msg, it.sig)
			if got[i] != alone || alone != it.want {
				t.Fatalf("signature %d: batch says %v, alone %v, want %v", i, got[i], alone, it.want)
			}
		}
	})
}

func TestEmptyBatch(t *testing.T) {
	if got := NewBatch(0).Verify(); got != nil {
		t.Fatalf("an empty batch returned %v", got)
	}
}

// FuzzBatchAgrees feeds arbitrary signature bytes to a batch beside a good
// signature, and checks the batch agrees with checking each alone.
func FuzzBatchAgrees(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	v, err := NewVerifier(priv.Public().(ed25519.PublicKey))
	if err != nil {
		f.Fatal(err)
	}
	good := []byte("a good record")
	goodSig := ed25519.Sign(priv, good)
	f.Add([]byte("hello"), ed25519.Sign(priv, []byte("hello")))
	f.Add([]byte("hello"), addOrder(ed25519.Sign(priv, []byte("hello"))))
	f.Add([]byte{}, make([]byte, 64))
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		b := NewBatch(minBatch)
		for range minBatch - 1 {
			b.Add(v, good, goodSig)
		}
		b.Add(v, msg, sig)
		alone := v.Verify(msg, sig)
		if b.holds() != alone {
			t.Fatalf("the batch's equation holds: %v; the signature alone: %v", !alone, alone)
		}
		got := b.Verify()
		if !got[0] {
			t.Fatal("the good signature failed in a batch")
		}
		if got[minBatch-1] != alone {
			t.Fatalf("batch says %v, alone %v", got[minBatch-1], alone)
		}
		if Verify(v.Key(), msg, sig) != v.Verify(msg, sig) {
			t.Fatal("Verify and Verifier.Verify disagree")
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	msg := make([]byte, 1024)
	sig := ed25519.Sign(priv, msg)
	v, _ := NewVerifier(priv.Public().(ed25519.PublicKey))
	b.Run("crypto-ed25519", func(b *testing.B) {
		for b.Loop() {
			ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, sig)
		}
	})
	b.Run("one-off", func(b *testing.B) {
		for b.Loop() {
			if !Verify(priv.Public().(ed25519.PublicKey), msg, sig) {
				b.Fatal("Verify: got false")
			}
		}
	})
	b.Run("verifier", func(b *testing.B) {
		for b.Loop() {
			v.Verify(msg, sig)
		}
	})
	for _, n := range []int{64, 256} { // 256: a catch-up page
		b.Run(fmt.Sprintf("batch-of-%d", n), func(b *testing.B) {
			for b.Loop() {
				bt := NewBatch(n)
				for range n {
					bt.Add(v, msg, sig)
				}
				bt.Verify()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N)/1000, "µs/signature")
		})
	}
}

// Identity.Sign makes exactly the signature crypto/ed25519 makes: Ed25519
// is deterministic, so a member's records sign the same whichever
// implementation signs them.
func TestSignMatchesGo(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seed")
		id, err := fromSeeds(seed, make([]byte, sealSeedSize))
		if err != nil {
			t.Fatal(err)
		}
		msg := rapid.SliceOf(rapid.Byte()).Draw(t, "msg")
		want := ed25519.Sign(ed25519.NewKeyFromSeed(seed), msg)
		if got := id.Sign(msg); string(got) != string(want) {
			t.Fatalf("Sign: got %x, want %x", got, want)
		}
	})
}

// torsionSig signs msg with priv so that R carries a component of order 8:
// R' = [r]B + T, S = r + k'a with k' = H(R' || A || msg). Hearth's rule,
// cofactored, accepts it; a cofactorless check such as crypto/ed25519's
// refuses it.
func torsionSig(t testing.TB, priv ed25519.PrivateKey, msg []byte) []byte {
	t.Helper()
	h := sha512.Sum512(priv.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	var a, r, k, s scalar.Scalar
	if _, err := a.SetBytesModOrder(h[:32]); err != nil {
		t.Fatal(err)
	}
	var wide [64]byte
	copy(wide[:], msg) // any fixed nonce will do for a test
	wide[63] = 1
	if _, err := r.SetBytesModOrderWide(wide[:]); err != nil {
		t.Fatal(err)
	}
	order8, _ := hex.DecodeString("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
	var tc curve.CompressedEdwardsY
	var tp, rp curve.EdwardsPoint
	if _, err := tc.SetBytes(order8); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.SetCompressedY(&tc); err != nil || !tp.IsSmallOrder() {
		t.Fatalf("the order-8 point: %v", err)
	}
	rp.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, &r)
	rp.Add(&rp, &tp)
	var rc curve.CompressedEdwardsY
	rc.SetEdwardsPoint(&rp)
	kh := sha512.New()
	kh.Write(rc[:])
	kh.Write(priv.Public().(ed25519.PublicKey))
	kh.Write(msg)
	if _, err := k.SetBytesModOrderWide(kh.Sum(nil)); err != nil {
		t.Fatal(err)
	}
	s.Mul(&k, &a)
	s.Add(&s, &r)
	sig := append([]byte(nil), rc[:]...)
	var sb [32]byte
	if err := s.ToBytes(sb[:]); err != nil {
		t.Fatal(err)
	}
	return append(sig, sb[:]...)
}

// A signature whose R has a small-order component passes Hearth's rule, in
// a batch as alone; and a batch of one signer's signatures, gathered into
// one key term, still refuses a single bad one among them.
func TestBatchTorsionAndOneSigner(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	pub := priv.Public().(ed25519.PublicKey)
	v, err := NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch(64)
	for i := range 64 {
		msg := []byte(fmt.Sprintf("record %d", i))
		sig := ed25519.Sign(priv, msg)
		if i%5 == 0 {
			sig = torsionSig(t, priv, msg)
			if ed25519.Verify(pub, msg, sig) {
				t.Fatal("crypto/ed25519 accepted a signature with a torsion component: the test makes none")
			}
			if !v.Verify(msg, sig) {
				t.Fatal("Hearth's rule refused a signature with a torsion component")
			}
		}
		b.Add(v, msg, sig)
	}
	if !b.holds() {
		t.Fatal("a batch of valid signatures, some with torsion components, does not hold")
	}
	for i := range b.items {
		bad := *b
		bad.items = append([]batchItem(nil), b.items...)
		sig := append([]byte(nil), bad.items[i].sig...)
		sig[40] ^= 1
		bad.items[i].sig = sig
		got := bad.Verify()
		for j, ok := range got {
			if ok != (j != i) {
				t.Fatalf("bad signature %d: batch says signature %d is %v", i, j, ok)
			}
		}
	}
}
