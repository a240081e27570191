package envelope

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/crypto/identity"
)

var testCircle = [16]byte{'c', 'i', 'r', 'c', 'l', 'e'}

type member struct {
	id  *identity.Identity
	pub ed25519.PublicKey
	v   *identity.Verifier
}

func newMember(t testing.TB) member {
	t.Helper()
	id, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	v, err := identity.NewVerifier(id.Public().SignKey)
	if err != nil {
		t.Fatal(err)
	}
	return member{id: id, pub: id.Public().SignKey, v: v}
}

// roster returns a signing-key lookup over the given members.
func roster(ms ...member) func(identity.MemberID) (*identity.Verifier, error) {
	return func(a identity.MemberID) (*identity.Verifier, error) {
		for _, m := range ms {
			if m.id.ID() == a {
				return m.v, nil
			}
		}
		return nil, errors.New("not in roster")
	}
}

func testKey() *[32]byte {
	var k [32]byte
	for i := range k {
		k[i] = byte(i * 7)
	}
	return &k
}

func post(text string) *Record {
	return &Record{Kind: Kind_KIND_POST, Body: []byte(text), Scope: Scope_SCOPE_FUTURE, Lamport: 42, SentAtMs: 1_700_000_000_000}
}

func TestSealOpenEveryBucket(t *testing.T) {
	a := newMember(t)
	for _, n := range []int{0, 1, 100, 180, 200, 1000, 4000, 16000, 60000, MaxRecordSize - 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rec := post(string(bytes.Repeat([]byte{'x'}, n)))
			env, _, err := Seal(testCircle, testKey(), 7, 3, a.id, rec)
			if err != nil {
				t.Fatal(err)
			}
			if bucketOf(len(env)-HeaderSize-TagSize) < 0 {
				t.Fatalf("envelope of %d bytes is not a bucket", len(env))
			}
			o, err := Open(testCircle, testKey(), env, roster(a))
			if err != nil {
				t.Fatalf("open: got %v, want nil", err)
			}
			if !proto.Equal(o.Record, rec) {
				t.Fatalf("got record %v, want %v", o.Record, rec)
			}
			if o.Header.Epoch != 7 || o.Header.Seq != 3 || o.Header.Author != a.id.ID() {
				t.Fatalf("got header %+v", o.Header)
			}
		})
	}
}

func TestSealTooLarge(t *testing.T) {
	a := newMember(t)
	_, _, err := Seal(testCircle, testKey(), 1, 1, a.id, post(string(make([]byte, MaxRecordSize))))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestBucketHidesLength(t *testing.T) {
	a := newMember(t)
	e1, _, _ := Seal(testCircle, testKey(), 1, 1, a.id, post("ok"))
	e2, _, _ := Seal(testCircle, testKey(), 1, 2, a.id, post("a somewhat longer post that still fits"))
	if len(e1) != len(e2) || len(e1) != MinSize {
		t.Fatalf("got lengths %d and %d, want both %d", len(e1), len(e2), MinSize)
	}
}

func TestEveryBitFlipRejected(t *testing.T) {
	a := newMember(t)
	env, _, err := Seal(testCircle, testKey(), 1, 1, a.id, post("I have been sober for 90 days"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range env {
		for bit := range 8 {
			bad := bytes.Clone(env)
			bad[i] ^= 1 << bit
			if _, err := Open(testCircle, testKey(), bad, roster(a)); err == nil {
				t.Fatalf("byte %d bit %d flipped: got nil error, want rejection", i, bit)
			}
		}
	}
}

func TestTruncatedAtEveryOffset(t *testing.T) {
	a := newMember(t)
	env, _, _ := Seal(testCircle, testKey(), 1, 1, a.id, post("hello"))
	for n := range len(env) {
		if _, err := Open(testCircle, testKey(), env[:n], roster(a)); err == nil {
			t.Fatalf("truncated to %d: got nil error", n)
		}
		if _, err := Parse(env[:n]); err == nil {
			t.Fatalf("parse truncated to %d: got nil error", n)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	a := newMember(t)
	env, _, _ := Seal(testCircle, testKey(), 1, 1, a.id, post("hello"))
	mut := func(f func([]byte) []byte) []byte { return f(bytes.Clone(env)) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTooShort},
		{"one byte", []byte{1}, ErrTooShort},
		{"header only", env[:HeaderSize], ErrTooShort},
		{"trailing byte", append(bytes.Clone(env), 0), ErrLength},
		{"oversize", make([]byte, MaxSize+1), ErrTooLarge},
		{"version 2", mut(func(b []byte) []byte { b[0] = 2; return b }), ErrVersion},
		{"version 0", mut(func(b []byte) []byte { b[0] = 0; return b }), ErrVersion},
		{"suite 9", mut(func(b []byte) []byte { b[1] = 9; return b }), ErrSuite},
		{"seq zero", mut(func(b []byte) []byte { clear(b[26:34]); return b }), ErrSeq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWrongKeyOrCircle(t *testing.T) {
	a := newMember(t)
	env, _, _ := Seal(testCircle, testKey(), 1, 1, a.id, post("hello"))
	other := *testKey()
	other[0] ^= 1
	if _, err := Open(testCircle, &other, env, roster(a)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key: got %v, want ErrDecrypt", err)
	}
	// The content key is per circle, but the signature binds the circle too.
	if _, err := Open([16]byte{9}, testKey(), env, roster(a)); !errors.Is(err, ErrSignature) {
		t.Fatalf("other circle: got %v, want ErrSignature", err)
	}
}

// A member who holds the content key cannot make a record pass as another's.
func TestImpersonationRejected(t *testing.T) {
	a, b := newMember(t), newMember(t)
	h := Header{Version: Version, Suite: SuiteXChaCha20Ed25519, Epoch: 1, Author: b.id.ID(), Seq: 1}
	forged, _, err := seal(testCircle, testKey(), h, post("I am B"), a.id.Sign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(testCircle, testKey(), forged, roster(a, b)); !errors.Is(err, ErrSignature) {
		t.Fatalf("A signs as B: got %v, want ErrSignature", err)
	}
	// A lookup that hands back A's key for B's id is caught by the id check.
	wrong := func(identity.MemberID) (*identity.Verifier, error) { return a.v, nil }
	if _, err := Open(testCircle, testKey(), forged, wrong); !errors.Is(err, ErrAuthor) {
		t.Fatalf("key not matching author id: got %v, want ErrAuthor", err)
	}
	if _, err := Open(testCircle, testKey(), forged, roster(a)); !errors.Is(err, ErrUnknownAuthor) {
		t.Fatalf("author not in roster: got %v, want ErrUnknownAuthor", err)
	}
}

// A valid signed record cannot be moved to another position.
func TestReplayUnderOtherSeqRejected(t *testing.T) {
	a := newMember(t)
	env, _, _ := Seal(testCircle, testKey(), 1, 5, a.id, post("hello"))
	_, s, err := Decrypt(testCircle, testKey(), env)
	if err != nil {
		t.Fatal(err)
	}
	h := Header{Version: Version, Suite: SuiteXChaCha20Ed25519, Epoch: 1, Author: a.id.ID(), Seq: 6}
	rec, _ := s.Decode()
	sig := bytes.Clone(s.Signature)
	moved, _, err := seal(testCircle, testKey(), h, rec, func([]byte) []byte { return sig })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(testCircle, testKey(), moved, roster(a)); !errors.Is(err, ErrSignature) {
		t.Fatalf("got %v, want ErrSignature", err)
	}
}

func TestSignedVerifyDetached(t *testing.T) {
	a := newMember(t)
	env, _, _ := Seal(testCircle, testKey(), 3, 9, a.id, post("for those who come later"))
	o, err := Open(testCircle, testKey(), env, roster(a))
	if err != nil {
		t.Fatal(err)
	}
	s := &Signed{Epoch: 3, Author: a.id.ID(), Seq: 9, Record: bytes.Clone(o.Signed.Record), Signature: bytes.Clone(o.Signed.Signature)}
	if err := s.Verify(testCircle, a.v); err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	if err := s.VerifyKey(testCircle, a.pub); err != nil {
		t.Fatalf("VerifyKey: got %v, want nil", err)
	}
	b := newMember(t)
	if err := s.VerifyKey(testCircle, b.pub); !errors.Is(err, ErrAuthor) {
		t.Fatalf("another member's key: got %v, want ErrAuthor", err)
	}
	if err := s.VerifyKey(testCircle, make([]byte, 32)); !errors.Is(err, ErrAuthor) {
		t.Fatalf("a weak key: got %v, want ErrAuthor", err)
	}
	s.Record[len(s.Record)-1] ^= 1
	if err := s.Verify(testCircle, a.v); !errors.Is(err, ErrSignature) {
		t.Fatalf("altered record: got %v, want ErrSignature", err)
	}
}

// sealRaw builds an envelope around an arbitrary plaintext, to test the
// checks that follow decryption.
func sealRaw(t *testing.T, pt []byte) []byte {
	t.Helper()
	h := Header{Version: Version, Suite: SuiteXChaCha20Ed25519, Epoch: 1, Seq: 1}
	out := make([]byte, HeaderSize, HeaderSize+len(pt)+TagSize)
	h.put(out)
	aead := mustAEAD(t, testKey())
	return aead.Seal(out, h.Nonce[:], pt, out[:HeaderSize])
}

func TestPaddingStrict(t *testing.T) {
	padded := func(size, content int, marker byte) []byte {
		pt := make([]byte, size)
		for i := range content {
			pt[i] = 1
		}
		pt[content] = marker
		return pt
	}
	tests := []struct {
		name string
		pt   []byte
	}{
		{"no marker", make([]byte, 256)},
		{"wrong marker", padded(256, 100, 0x81)},
		{"no room for signature", padded(256, 10, padMarker)},
		{"bucket larger than needed", padded(1024, 100, padMarker)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Decrypt(testCircle, testKey(), sealRaw(t, tt.pt)); !errors.Is(err, ErrPadding) {
				t.Fatalf("got %v, want ErrPadding", err)
			}
		})
	}
	if _, _, err := Decrypt(testCircle, testKey(), sealRaw(t, padded(256, 100, padMarker))); err != nil {
		t.Fatalf("well padded: got %v, want nil", err)
	}
}

func BenchmarkSeal(b *testing.B) {
	a := newMember(b)
	rec := post(string(bytes.Repeat([]byte{'x'}, 150)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := Seal(testCircle, testKey(), 1, uint64(i+1), a.id, rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	a := newMember(b)
	env, _, _ := Seal(testCircle, testKey(), 1, 1, a.id, post(string(bytes.Repeat([]byte{'x'}, 150))))
	look := roster(a)
	b.ReportAllocs()
	b.SetBytes(int64(len(env)))
	for b.Loop() {
		if _, err := Open(testCircle, testKey(), env, look); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyAllAgreesWithVerify checks a page of records at once: good
// ones pass, and each altered, misattributed or unverifiable one gets the
// error Verify gives it alone.
func TestVerifyAllAgreesWithVerify(t *testing.T) {
	a, b := newMember(t), newMember(t)
	var ss []*Signed
	var vs []*identity.Verifier
	for i := range 20 {
		m := a
		if i%3 == 0 {
			m = b
		}
		env, _, err := Seal(testCircle, testKey(), 1, uint64(i+1), m.id, post(fmt.Sprintf("post %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		_, s, err := Decrypt(testCircle, testKey(), env)
		if err != nil {
			t.Fatal(err)
		}
		ss, vs = append(ss, s), append(vs, m.v)
	}
	for i, err := range VerifyAll(testCircle, ss, vs) {
		if err != nil {
			t.Fatalf("record %d: got %v, want nil", i, err)
		}
	}
	ss[4].Record = append(bytes.Clone(ss[4].Record), 0) // altered
	vs[7] = b.v                                         // a's record, b's verifier
	vs[9] = nil                                         // author unknown
	ss[11].Seq++                                        // moved
	errs := VerifyAll(testCircle, ss, vs)
	for i, err := range errs {
		var want error
		if vs[i] == nil {
			want = ErrAuthor
		} else {
			want = ss[i].Verify(testCircle, vs[i])
		}
		if !errors.Is(err, want) && !(err == nil && want == nil) {
			t.Fatalf("record %d: VerifyAll says %v, Verify %v", i, err, want)
		}
		if bad := i == 4 || i == 7 || i == 9 || i == 11; bad != (err != nil) {
			t.Fatalf("record %d: got %v", i, err)
		}
	}
	if !errors.Is(errs[7], ErrAuthor) || !errors.Is(errs[4], ErrSignature) {
		t.Fatalf("got %v and %v, want ErrAuthor and ErrSignature", errs[7], errs[4])
	}
}
