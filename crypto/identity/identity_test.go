package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func newIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func TestSizes(t *testing.T) {
	id := newIdentity(t)
	pub := id.Public()
	for _, tt := range []struct {
		what      string
		got, want int
	}{
		{"SignKey", len(pub.SignKey), 32},
		{"SealKey", len(pub.SealKey), 1216},
		{"Public.Marshal", len(pub.Marshal()), 1248},
		{"Identity.Marshal", len(id.Marshal()), 64},
	} {
		if tt.got != tt.want {
			t.Errorf("%s length: got %d, want %d", tt.what, tt.got, tt.want)
		}
	}
}

// The expected values were computed independently with Python's
// cryptography package (Ed25519) and hashlib (SHA-256).
func TestMemberIDKnownAnswer(t *testing.T) {
	id, err := Parse(append(seq(0, 32), seq(0x80, 32)...))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(id.Public().SignKey), "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"; got != want {
		t.Errorf("SignKey: got %s, want %s", got, want)
	}
	if got, want := id.ID().String(), "4ba5d2920568a150def9e4f112b3ad15"; got != want {
		t.Errorf("ID: got %s, want %s", got, want)
	}
	if got, want := (Public{SignKey: seq(0, 32)}).ID().String(), "904177df9039e8dae412068cd2c87058"; got != want {
		t.Errorf("Public.ID of key 00..1f: got %s, want %s", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	id := newIdentity(t)
	priv := id.Marshal()
	back, err := Parse(priv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := back.Marshal(); !bytes.Equal(got, priv) {
		t.Errorf("Parse(Marshal()).Marshal(): got %x, want %x", got, priv)
	}
	if back.ID() != id.ID() {
		t.Errorf("ID after Parse: got %s, want %s", back.ID(), id.ID())
	}
	if got, want := back.Public().Marshal(), id.Public().Marshal(); !bytes.Equal(got, want) {
		t.Errorf("Public after Parse differs from the original")
	}

	pub := id.Public()
	enc := pub.Marshal()
	pub2, err := ParsePublic(enc)
	if err != nil {
		t.Fatalf("ParsePublic: %v", err)
	}
	if !bytes.Equal(pub2.SignKey, pub.SignKey) || !bytes.Equal(pub2.SealKey, pub.SealKey) {
		t.Errorf("ParsePublic(Marshal()): got a different public identity")
	}
	if pub2.ID() != id.ID() {
		t.Errorf("ParsePublic(...).ID(): got %s, want %s", pub2.ID(), id.ID())
	}
	if got, want := id.SealPrivate().PublicKey().Bytes(), pub.SealKey; !bytes.Equal(got, want) {
		t.Errorf("SealPrivate().PublicKey(): got a key different from Public().SealKey")
	}
	// ParsePublic must copy: changing its input changes nothing parsed.
	enc[0] ^= 1
	enc[len(enc)-1] ^= 1
	if !bytes.Equal(pub2.SignKey, pub.SignKey) || !bytes.Equal(pub2.SealKey, pub.SealKey) {
		t.Errorf("ParsePublic result changed when its input was modified")
	}
}

func TestPublicIsACopy(t *testing.T) {
	id := newIdentity(t)
	want := id.Public().Marshal()
	p := id.Public()
	p.SignKey[0] ^= 0xff
	p.SealKey[0] ^= 0xff
	if got := id.Public().Marshal(); !bytes.Equal(got, want) {
		t.Errorf("Public after modifying a returned copy: got a changed identity")
	}
	m := id.Marshal()
	m[40] ^= 0xff
	if got := id.Marshal(); bytes.Equal(got, m) {
		t.Errorf("Marshal after modifying a returned copy: got the modified bytes")
	}
}

func TestNewIsRandom(t *testing.T) {
	a, b := newIdentity(t), newIdentity(t)
	if a.ID() == b.ID() {
		t.Errorf("ID: got the same id for two identities")
	}
	if bytes.Equal(a.Public().SealKey, b.Public().SealKey) {
		t.Errorf("SealKey: got the same key for two identities")
	}
}

func TestParseErrors(t *testing.T) {
	good := newIdentity(t).Public().Marshal()
	badSeal := bytes.Clone(good)
	for i := 32; i < 32+1184; i++ { // the ML-KEM part: coefficients >= q are invalid
		badSeal[i] = 0xff
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"short", good[:len(good)-1]},
		{"long", append(bytes.Clone(good), 0)},
		{"sign key only", good[:32]},
		{"invalid seal key", badSeal},
	}
	for _, tt := range tests {
		if _, err := ParsePublic(tt.b); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePublic(%s): got %v, want ErrMalformed", tt.name, err)
		}
	}
	for _, n := range []int{0, 1, 32, 63, 65, 128} {
		if _, err := Parse(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%d bytes): got %v, want ErrMalformed", n, err)
		}
	}
}

func TestSignVerify(t *testing.T) {
	id, other := newIdentity(t), newIdentity(t)
	msg := []byte("I hear you")
	sig := id.Sign(msg)
	pub := id.Public().SignKey
	flipped := bytes.Clone(sig)
	flipped[10] ^= 1
	tests := []struct {
		name string
		pub  ed25519.PublicKey
		msg  []byte
		sig  []byte
		want bool
	}{
		{"valid", pub, msg, sig, true},
		{"other signer", other.Public().SignKey, msg, sig, false},
		{"other message", pub, []byte("I hear you."), sig, false},
		{"flipped signature", pub, msg, flipped, false},
		{"short signature", pub, msg, sig[:63], false},
		{"nil signature", pub, msg, nil, false},
		{"nil key", nil, msg, sig, false},
		{"short key", pub[:31], msg, sig, false},
	}
	for _, tt := range tests {
		if got := Verify(tt.pub, tt.msg, tt.sig); got != tt.want {
			t.Errorf("Verify(%s): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMemberIDString(t *testing.T) {
	m := MemberID{0xab, 0x01}
	if got, want := m.String(), "ab010000000000000000000000000000"; got != want {
		t.Errorf("String: got %s, want %s", got, want)
	}
}

func TestIdentityNotPrinted(t *testing.T) {
	id, err := Parse(bytes.Repeat([]byte{0x41}, 64))
	if err != nil {
		t.Fatal(err)
	}
	seedHex := strings.Repeat("41", 8)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		out := fmt.Sprintf(verb, id)
		if strings.Contains(out, seedHex) || strings.Contains(out, "AAAA") || strings.Contains(out, "65 65") {
			t.Errorf("Sprintf(%q): got %q, want no key material", verb, out)
		}
		if !strings.Contains(out, id.ID().String()) {
			t.Errorf("Sprintf(%q): got %q, want the member id", verb, out)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	id := newIdentity(b)
	msg := make([]byte, 1024)
	for b.Loop() {
		id.Sign(msg)
	}
}
