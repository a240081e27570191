package vault

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of the store key in bytes.
const KeySize = 32

// HeaderSize is the length of a header.
const HeaderSize = headerSize

// Params are the Argon2id cost parameters recorded in a header.
type Params struct {
	Time      uint32 // passes over memory, 1..64
	MemoryKiB uint32 // memory in KiB, 8 MiB..4 GiB
	Threads   uint8  // lanes, at least 1
}

// DefaultParams is RFC 9106's second recommended Argon2id setting.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// Errors returned by Open, Rewrap and ParamsOf.
var (
	// ErrWrongPassphrase means the passphrase did not unwrap the store key.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrMalformed means the header is not a well-formed vault header.
	ErrMalformed = errors.New("malformed vault header")
	// ErrVersion means the header was written by an unknown format version.
	ErrVersion = errors.New("unknown vault header version")
)

const (
	magic       = "HRTHVLT"
	version     = 1
	kdfArgon2id = 1

	saltSize   = 16
	nonceSize  = chacha20poly1305.NonceSizeX
	sealedSize = KeySize + chacha20poly1305.Overhead

	offVersion = len(magic)
	offKDF     = offVersion + 1
	offTime    = offKDF + 1
	offMemory  = offTime + 4
	offThreads = offMemory + 4
	offSalt    = offThreads + 1
	offNonce   = offSalt + saltSize
	offSealed  = offNonce + nonceSize
	headerSize = offSealed + sealedSize

	minTime      = 1
	maxTime      = 64
	minMemoryKiB = 8 * 1024
	maxMemoryKiB = 4 * 1024 * 1024
	minThreads   = 1
)

// valid reports whether p lies within the bounds Open accepts.
func (p Params) valid() bool {
	return p.Time >= minTime && p.Time <= maxTime &&
		p.MemoryKiB >= minMemoryKiB && p.MemoryKiB <= maxMemoryKiB &&
		p.Threads >= minThreads
}

// header is a parsed vault header; its slices alias the input.
type header struct {
	params Params
	salt   []byte
	nonce  []byte
	sealed []byte
	aad    []byte
}

func parse(b []byte) (header, error) {
	if len(b) != headerSize {
		return header{}, fmt.Errorf("%w: %d bytes, want %d", ErrMalformed, len(b), headerSize)
	}
	if string(b[:len(magic)]) != magic {
		return header{}, fmt.Errorf("%w: not a vault header", ErrMalformed)
	}
	if b[offVersion] != version {
		return header{}, fmt.Errorf("%w: version %d", ErrVersion, b[offVersion])
	}
	if b[offKDF] != kdfArgon2id {
		return header{}, fmt.Errorf("%w: unknown kdf %d", ErrMalformed, b[offKDF])
	}
	p := Params{
		Time:      binary.BigEndian.Uint32(b[offTime:]),
		MemoryKiB: binary.BigEndian.Uint32(b[offMemory:]),
		Threads:   b[offThreads],
	}
	if !p.valid() {
		return header{}, fmt.Errorf("%w: argon2id parameters out of range", ErrMalformed)
	}
	return header{
		params: p,
		salt:   b[offSalt:offNonce],
		nonce:  b[offNonce:offSealed],
		sealed: b[offSealed:],
		aad:    b[:offNonce],
	}, nil
}

// A KDF derives a header's key-encryption key, KeySize bytes, from a
// passphrase and the header's salt and parameters. Headers name Argon2id,
// and any KDF passed to the With functions must return exactly what
// Argon2id returns: the type exists so that a caller can run the
// derivation elsewhere, such as in a child process. Nil means Argon2id.
type KDF func(passphrase, salt []byte, p Params) ([]byte, error)

// Argon2id is the KDF of every header: Argon2id (RFC 9106) with p's costs.
// It refuses parameters out of the range headers allow.
func Argon2id(passphrase, salt []byte, p Params) ([]byte, error) {
	if !p.valid() {
		return nil, errParams
	}
	return argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, KeySize), nil
}

var errParams = fmt.Errorf("vault: argon2id parameters out of range (time %d..%d, memory %d..%d KiB, threads at least %d)",
	minTime, maxTime, minMemoryKiB, maxMemoryKiB, minThreads)

// kek derives the key-encryption key from the passphrase with kdf.
func kek(kdf KDF, passphrase, salt []byte, p Params) ([]byte, error) {
	if kdf == nil {
		kdf = Argon2id
	}
	k, err := kdf(passphrase, salt, p)
	if err != nil {
		return nil, fmt.Errorf("vault: derive key: %w", err)
	}
	if len(k) != KeySize {
		clear(k)
		return nil, fmt.Errorf("vault: derive key: got %d bytes, want %d", len(k), KeySize)
	}
	return k, nil
}

// wrap builds a header sealing storeKey under passphrase with fresh salt and nonce.
func wrap(kdf KDF, passphrase []byte, storeKey *[KeySize]byte, p Params) ([]byte, error) {
	if !p.valid() {
		return nil, errParams
	}
	b := make([]byte, offSealed, headerSize)
	copy(b, magic)
	b[offVersion] = version
	b[offKDF] = kdfArgon2id
	binary.BigEndian.PutUint32(b[offTime:], p.Time)
	binary.BigEndian.PutUint32(b[offMemory:], p.MemoryKiB)
	b[offThreads] = p.Threads
	if _, err := rand.Read(b[offSalt:offSealed]); err != nil { // salt and nonce
		return nil, fmt.Errorf("vault: random salt and nonce: %w", err)
	}
	k, err := kek(kdf, passphrase, b[offSalt:offNonce], p)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	aead, err := chacha20poly1305.NewX(k)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	b = aead.Seal(b, b[offNonce:offSealed], storeKey[:], b[:offNonce])
	return b, nil
}

// New creates a header for a fresh random store key sealed under passphrase
// with the given Argon2id parameters, and returns both.
func New(passphrase []byte, p Params) (header []byte, storeKey [KeySize]byte, err error) {
	return NewWith(nil, passphrase, p)
}

// NewWith is New deriving the key-encryption key with kdf.
func NewWith(kdf KDF, passphrase []byte, p Params) (header []byte, storeKey [KeySize]byte, err error) {
	if _, err := rand.Read(storeKey[:]); err != nil {
		return nil, [KeySize]byte{}, fmt.Errorf("vault: random store key: %w", err)
	}
	header, err = wrap(kdf, passphrase, &storeKey, p)
	if err != nil {
		clear(storeKey[:])
		return nil, [KeySize]byte{}, err
	}
	return header, storeKey, nil
}

// Open unwraps the store key of header with passphrase. It returns
// ErrMalformed or ErrVersion for a header it cannot parse, before deriving any
// key, and ErrWrongPassphrase when the unwrap fails.
func Open(header, passphrase []byte) (storeKey [KeySize]byte, err error) {
	return OpenWith(nil, header, passphrase)
}

// OpenWith is Open deriving the key-encryption key with kdf. A failing kdf
// is its error, not ErrWrongPassphrase.
func OpenWith(kdf KDF, header, passphrase []byte) (storeKey [KeySize]byte, err error) {
	h, err := parse(header)
	if err != nil {
		return storeKey, err
	}
	k, err := kek(kdf, passphrase, h.salt, h.params)
	if err != nil {
		return storeKey, err
	}
	defer clear(k)
	aead, err := chacha20poly1305.NewX(k)
	if err != nil {
		return storeKey, fmt.Errorf("vault: %w", err)
	}
	key, err := aead.Open(storeKey[:0], h.nonce, h.sealed, h.aad)
	if err != nil || len(key) != KeySize {
		clear(storeKey[:])
		return [KeySize]byte{}, ErrWrongPassphrase
	}
	return storeKey, nil
}

// Rewrap opens header with oldPassphrase and seals the same store key under
// newPassphrase with parameters p and a fresh salt and nonce. The old header
// keeps working with the old passphrase until the caller replaces it.
func Rewrap(header, oldPassphrase, newPassphrase []byte, p Params) (newHeader []byte, err error) {
	return RewrapWith(nil, header, oldPassphrase, newPassphrase, p)
}

// RewrapWith is Rewrap deriving both key-encryption keys with kdf.
func RewrapWith(kdf KDF, header, oldPassphrase, newPassphrase []byte, p Params) (newHeader []byte, err error) {
	storeKey, err := OpenWith(kdf, header, oldPassphrase)
	if err != nil {
		return nil, err
	}
	defer clear(storeKey[:])
	return wrap(kdf, newPassphrase, &storeKey, p)
}

// ParamsOf returns the Argon2id parameters recorded in header, so a caller can
// tell whether they are below its current policy and Rewrap with higher ones.
func ParamsOf(header []byte) (Params, error) {
	h, err := parse(header)
	if err != nil {
		return Params{}, err
	}
	return h.params, nil
}
