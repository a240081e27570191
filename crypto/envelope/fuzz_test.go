package envelope

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/crypto/identity"
)

func mustAEAD(t testing.TB, key *[32]byte) interface {
	Seal(dst, nonce, plaintext, ad []byte) []byte
} {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

// fuzzIdentity is a fixed identity so that the fuzzer can reach the
// signature check with envelopes it has seen sealed.
var fuzzIdentity = func() *identity.Identity {
	seed := make([]byte, identity.PrivateSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	id, err := identity.Parse(seed)
	if err != nil {
		panic(err)
	}
	return id
}()

func FuzzParse(f *testing.F) {
	env, _, _ := Seal(testCircle, testKey(), 1, 1, fuzzIdentity, post("seed"))
	f.Add(env)
	f.Add([]byte{})
	f.Add([]byte{1, 1})
	f.Add(env[:HeaderSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err != nil {
			return
		}
		if h.Version != Version || h.Suite != SuiteXChaCha20Ed25519 || h.Seq == 0 || bucketOf(len(b)-HeaderSize-TagSize) < 0 {
			t.Fatalf("accepted a malformed envelope: %+v, %d bytes", h, len(b))
		}
	})
}

func FuzzOpen(f *testing.F) {
	env, _, _ := Seal(testCircle, testKey(), 1, 1, fuzzIdentity, post("seed"))
	f.Add(env)
	f.Add(env[:len(env)-1])
	f.Add([]byte{1, 1, 0, 0})
	look := func(identity.MemberID) (*identity.Verifier, error) {
		return identity.NewVerifier(fuzzIdentity.Public().SignKey)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Open(testCircle, testKey(), b, look)
		if err != nil {
			return
		}
		// Only envelopes this identity sealed can open; re-sealing the
		// record must round-trip.
		again, _, err := Seal(testCircle, testKey(), o.Header.Epoch, o.Header.Seq, fuzzIdentity, o.Record)
		if err != nil {
			t.Fatal(err)
		}
		o2, err := Open(testCircle, testKey(), again, look)
		if err != nil || !proto.Equal(o.Record, o2.Record) {
			t.Fatalf("re-seal: got %v, %v", o2, err)
		}
	})
}

func FuzzSealOpen(f *testing.F) {
	f.Add(uint8(1), []byte("hello"), uint8(0), uint64(1), int64(0))
	f.Add(uint8(14), bytes.Repeat([]byte{0}, 300), uint8(2), uint64(1<<63), int64(-1))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte, scope uint8, lamport uint64, sent int64) {
		rec := &Record{Kind: Kind(kind), Body: body, Scope: Scope(scope % 3), Lamport: lamport, SentAtMs: sent}
		env, _, err := Seal(testCircle, testKey(), 2, 5, fuzzIdentity, rec)
		if err != nil {
			if len(body) > MaxRecordSize-32 {
				return
			}
			t.Fatalf("seal: %v", err)
		}
		look := func(identity.MemberID) (*identity.Verifier, error) {
			return identity.NewVerifier(fuzzIdentity.Public().SignKey)
		}
		o, err := Open(testCircle, testKey(), env, look)
		if err != nil {
			t.Fatalf("open(seal(x)): %v", err)
		}
		if !proto.Equal(o.Record, rec) {
			t.Fatalf("got %v, want %v", o.Record, rec)
		}
	})
}
