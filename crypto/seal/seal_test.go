package seal

import (
	"bytes"
	"crypto/hpke"
	"errors"
	"testing"

	"github.com/hearth-circles/hearth/crypto/identity"
)

func newIdentity(t testing.TB) *identity.Identity {
	t.Helper()
	id, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var (
	circle = [16]byte{0xc1, 0x2c, 0x1e}
	secret = bytes.Repeat([]byte{0x5e}, 32)
)

func TestConstants(t *testing.T) {
	kem := identity.KEM()
	id := newIdentity(t)
	// The encapsulated key size follows from a real seal of an empty
	// message, independent of this package.
	pk, err := kem.NewPublicKey(id.Public().SealKey)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ct), EncSize+TagSize; got != want {
		t.Errorf("HPKE seal of nothing: got %d bytes, want EncSize+TagSize = %d", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	id := newIdentity(t)
	for _, n := range []int{1, 16, 32, 64, MaxSecretSize} {
		s := bytes.Repeat([]byte{byte(n)}, n)
		sealed, err := Secret(id.Public().SealKey, circle, 7, s)
		if err != nil {
			t.Fatalf("Secret(%d bytes): %v", n, err)
		}
		if got, want := len(sealed), n+Overhead; got != want {
			t.Errorf("sealed size of %d bytes: got %d, want %d", n, got, want)
		}
		got, err := Open(id, circle, 7, sealed)
		if err != nil {
			t.Fatalf("Open(%d bytes): got %v, want nil", n, err)
		}
		if !bytes.Equal(got, s) {
			t.Errorf("Open(%d bytes): got %x, want %x", n, got, s)
		}
	}
}

func TestSealedSize32(t *testing.T) {
	sealed, err := Secret(newIdentity(t).Public().SealKey, circle, 1, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(sealed), 1168; got != want {
		t.Errorf("sealed 32-byte secret: got %d bytes, want %d", got, want)
	}
}

func TestSealIsRandomized(t *testing.T) {
	key := newIdentity(t).Public().SealKey
	a, err := Secret(key, circle, 1, secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Secret(key, circle, 1, secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Errorf("two seals of the same secret: got identical output, want distinct")
	}
}

func TestOpenRefuses(t *testing.T) {
	id, other := newIdentity(t), newIdentity(t)
	const epoch = 42
	sealed, err := Secret(id.Public().SealKey, circle, epoch, secret)
	if err != nil {
		t.Fatal(err)
	}
	toOther, err := Secret(other.Public().SealKey, circle, epoch, secret)
	if err != nil {
		t.Fatal(err)
	}
	otherCircle := circle
	otherCircle[15] ^= 1
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		id     *identity.Identity
		circle [16]byte
		epoch  uint64
		sealed []byte
		want   error
	}{
		{"sealed to another member", id, circle, epoch, toOther, ErrOpen},
		{"opened by another member", other, circle, epoch, sealed, ErrOpen},
		{"wrong epoch", id, circle, epoch + 1, sealed, ErrOpen},
		{"epoch 0", id, circle, 0, sealed, ErrOpen},
		{"wrong circle", id, otherCircle, epoch, sealed, ErrOpen},
		{"flipped in ML-KEM ciphertext", id, circle, epoch, flip(0), ErrOpen},
		{"flipped in X25519 share", id, circle, epoch, flip(1100), ErrOpen},
		{"flipped in ciphertext", id, circle, epoch, flip(EncSize), ErrOpen},
		{"flipped in tag", id, circle, epoch, flip(len(sealed) - 1), ErrOpen},
		{"extra byte", id, circle, epoch, append(bytes.Clone(sealed), 0), ErrOpen},
		{"empty", id, circle, epoch, nil, ErrMalformed},
		{"no ciphertext", id, circle, epoch, sealed[:Overhead], ErrMalformed},
		{"oversize", id, circle, epoch, make([]byte, Overhead+MaxSecretSize+1), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Open(tt.id, tt.circle, tt.epoch, tt.sealed)
			if !errors.Is(err, tt.want) {
				t.Errorf("Open: got %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("Open: got secret %x on failure, want nil", got)
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	id := newIdentity(t)
	sealed, err := Secret(id.Public().SealKey, circle, 3, secret)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(sealed) {
		got, err := Open(id, circle, 3, sealed[:n])
		if err == nil || got != nil {
			t.Fatalf("Open(sealed[:%d]): got %x, %v, want an error", n, got, err)
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrOpen) {
			t.Fatalf("Open(sealed[:%d]): got %v, want ErrMalformed or ErrOpen", n, err)
		}
	}
}

func TestSecretRefuses(t *testing.T) {
	key := newIdentity(t).Public().SealKey
	tests := []struct {
		name   string
		key    []byte
		secret []byte
		want   error
	}{
		{"nil key", nil, secret, ErrMalformed},
		{"short key", key[:1215], secret, ErrMalformed},
		{"invalid key", bytes.Repeat([]byte{0xff}, 1216), secret, ErrMalformed},
		{"empty secret", key, nil, nil},
		{"oversize secret", key, make([]byte, MaxSecretSize+1), nil},
	}
	for _, tt := range tests {
		_, err := Secret(tt.key, circle, 1, tt.secret)
		if err == nil {
			t.Errorf("Secret(%s): got nil error, want an error", tt.name)
		} else if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("Secret(%s): got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestOpenNilIdentity(t *testing.T) {
	if _, err := Open(nil, circle, 1, make([]byte, 1168)); err == nil {
		t.Errorf("Open(nil identity): got nil error, want an error")
	}
}

func BenchmarkSecret(b *testing.B) {
	key := newIdentity(b).Public().SealKey
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Secret(key, circle, 1, secret); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	id := newIdentity(b)
	sealed, err := Secret(id.Public().SealKey, circle, 1, secret)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(id, circle, 1, sealed); err != nil {
			b.Fatal(err)
		}
	}
}
