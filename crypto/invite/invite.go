package invite

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// Limits of the format.
const (
	// Version is the format version New writes and Parse reads.
	Version = 1
	// MaxAddrs is the most addresses a code may carry.
	MaxAddrs = 8
	// MaxAddrSize is the largest binary multiaddr a code may carry.
	MaxAddrSize = 64
	// MaxPeerIDSize is the largest binary peer id a code may carry.
	MaxPeerIDSize = 255
	// Prefix starts every code New writes; Parse does not require it.
	Prefix = "HEARTH-"
)

// Errors returned by New and Parse. Their messages are meant to be shown.
var (
	ErrChecksum  = errors.New("invite code has a typo (checksum mismatch)")
	ErrExpired   = errors.New("invite code has expired")
	ErrVersion   = errors.New("invite code is for a different version of Hearth")
	ErrMalformed = errors.New("invite code is incomplete or damaged")
	ErrAddress   = errors.New("invite code contains an invalid address")
	ErrTooLong   = errors.New("invite code is too long")
)

// Invite is a decoded invite code.
type Invite struct {
	Version uint8
	Circle  [16]byte
	Secret  [16]byte
	Expires time.Time // a whole minute, UTC
	Inviter peer.ID
	Addrs   []multiaddr.Multiaddr
}

const (
	alphabet      = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	groupSize     = 5
	fixedSize     = 1 + 16 + 16 + 4 // version, circle, secret, expiry
	checksumSize  = 4
	minBinarySize = fixedSize + 1 + 1 + 1 + checksumSize // peer id of 1 byte, no addresses
	maxBinarySize = fixedSize + 1 + MaxPeerIDSize + 1 + MaxAddrs*(1+MaxAddrSize) + checksumSize
	maxSymbols    = (maxBinarySize*8 + 4) / 5
	// maxTextSize bounds the raw text Parse looks at: four bytes per symbol
	// leave room for any spacing people use around the longest code.
	maxTextSize = 4 * maxSymbols
)

// decodeTable maps an upper-case ASCII byte to its symbol value, or -1.
var decodeTable = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = int8(i)
	}
	t['I'], t['L'], t['O'] = 1, 1, 0
	return t
}()

// New makes an invite to circle from inviter, reachable at addrs, valid until
// expires (rounded down to the minute), with a fresh random secret. It
// refuses, with ErrTooLong, more than MaxAddrs addresses or one longer than
// MaxAddrSize bytes, with ErrAddress an empty address, and with ErrMalformed
// an invalid inviter or an expiry before 1970 or past the format's range.
func New(circle [16]byte, inviter peer.ID, addrs []multiaddr.Multiaddr, expires time.Time) (Invite, error) {
	inv := Invite{
		Version: Version,
		Circle:  circle,
		Inviter: inviter,
		Addrs:   append([]multiaddr.Multiaddr(nil), addrs...),
	}
	sec := expires.Unix()
	if sec < 0 || sec/60 > math.MaxUint32 {
		return Invite{}, fmt.Errorf("%w: expiry %s out of range", ErrMalformed, expires.UTC().Format(time.RFC3339))
	}
	inv.Expires = time.Unix(sec/60*60, 0).UTC()
	if _, err := inv.check(); err != nil {
		return Invite{}, err
	}
	if _, err := rand.Read(inv.Secret[:]); err != nil {
		return Invite{}, fmt.Errorf("invite: random secret: %w", err)
	}
	return inv, nil
}

// check validates the fields New and String depend on and returns the binary
// form of the addresses.
func (inv Invite) check() ([][]byte, error) {
	if len(inv.Inviter) == 0 || len(inv.Inviter) > MaxPeerIDSize {
		return nil, fmt.Errorf("%w: inviter peer id of %d bytes", ErrMalformed, len(inv.Inviter))
	}
	if _, err := peer.IDFromBytes([]byte(inv.Inviter)); err != nil {
		return nil, fmt.Errorf("%w: invalid inviter peer id", ErrMalformed)
	}
	if len(inv.Addrs) > MaxAddrs {
		return nil, fmt.Errorf("%w: %d addresses, at most %d fit", ErrTooLong, len(inv.Addrs), MaxAddrs)
	}
	out := make([][]byte, len(inv.Addrs))
	for i, a := range inv.Addrs {
		b := a.Bytes()
		switch {
		case len(b) == 0:
			return nil, fmt.Errorf("%w: address %d is empty", ErrAddress, i+1)
		case len(b) > MaxAddrSize:
			return nil, fmt.Errorf("%w: address %d is %d bytes, at most %d fit", ErrTooLong, i+1, len(b), MaxAddrSize)
		}
		out[i] = b
	}
	sec := inv.Expires.Unix()
	if sec < 0 || sec/60 > math.MaxUint32 {
		return nil, fmt.Errorf("%w: expiry out of range", ErrMalformed)
	}
	return out, nil
}

// marshal returns the binary form of inv, checksum included.
func (inv Invite) marshal() ([]byte, error) {
	addrs, err := inv.check()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, maxBinarySize)
	b = append(b, inv.Version)
	b = append(b, inv.Circle[:]...)
	b = append(b, inv.Secret[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(inv.Expires.Unix()/60))
	b = append(b, byte(len(inv.Inviter)))
	b = append(b, inv.Inviter...)
	b = append(b, byte(len(addrs)))
	for _, a := range addrs {
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// String returns the invite code, or "" if inv does not fit the format (as
// no Invite from New or Parse fails to).
func (inv Invite) String() string {
	b, err := inv.marshal()
	if err != nil {
		return ""
	}
	return format(b)
}

// format writes b as "HEARTH-" and grouped Crockford base32.
func format(b []byte) string {
	syms := encode(b)
	var sb strings.Builder
	sb.Grow(len(Prefix) + len(syms) + len(syms)/groupSize)
	sb.WriteString(Prefix)
	for i := 0; i < len(syms); i += groupSize {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.Write(syms[i:min(i+groupSize, len(syms))])
	}
	return sb.String()
}

// encode writes b in Crockford base32, most significant bit first, the last
// symbol padded with zero bits.
func encode(b []byte) []byte {
	out := make([]byte, 0, (len(b)*8+4)/5)
	var acc uint32
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, alphabet[acc>>bits&31])
		}
	}
	if bits > 0 {
		out = append(out, alphabet[acc<<(5-bits)&31])
	}
	return out
}

// symbols reads the symbol values of code, forgiving case, separators, the
// look-alike letters I, L, O, and a missing prefix.
func symbols(code string) ([]byte, error) {
	if len(code) > maxTextSize {
		return nil, fmt.Errorf("%w: %d characters", ErrTooLong, len(code))
	}
	out := make([]byte, 0, min(len(code), maxSymbols+len("HEARTH")))
	for _, r := range code {
		switch {
		case r == '-' || unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || unicode.Is(unicode.Cf, r):
			continue // separators, and invisible characters copying may add
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if r > unicode.MaxASCII || decodeTable[r] < 0 {
			return nil, fmt.Errorf("%w: it contains %q, which is not used in codes", ErrMalformed, string(r))
		}
		out = append(out, byte(r))
	}
	out = bytes.TrimPrefix(out, []byte("HEARTH"))
	if len(out) > maxSymbols {
		return nil, fmt.Errorf("%w: %d symbols, at most %d", ErrTooLong, len(out), maxSymbols)
	}
	for i, c := range out {
		out[i] = byte(decodeTable[c])
	}
	return out, nil
}

// decode turns symbol values into bytes; the number of symbols must be one
// that encode produces, and the padding bits must be zero.
func decode(syms []byte) ([]byte, error) {
	n := len(syms) * 5 / 8
	if len(syms)*5-n*8 >= 5 {
		return nil, fmt.Errorf("%w: a symbol is missing or extra", ErrMalformed)
	}
	out := make([]byte, 0, n)
	var acc uint32
	bits := 0
	for _, s := range syms {
		acc = acc<<5 | uint32(s)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if acc&(1<<bits-1) != 0 {
		return nil, ErrChecksum
	}
	return out, nil
}

// Parse reads an invite code and checks it against the time now. Its errors
// wrap, in the order they are checked: ErrTooLong or ErrMalformed for text
// that cannot be a code (the message names a character that is not used in
// codes); ErrMalformed for a code with symbols missing; ErrChecksum for a
// mistyped code; ErrVersion; ErrMalformed, ErrAddress or ErrTooLong for fields
// that do not fit the format; ErrExpired when now is at or after the expiry.
func Parse(code string, now time.Time) (Invite, error) {
	syms, err := symbols(code)
	if err != nil {
		return Invite{}, err
	}
	b, err := decode(syms)
	if err != nil {
		return Invite{}, err
	}
	if len(b) < minBinarySize {
		return Invite{}, fmt.Errorf("%w: it is too short", ErrMalformed)
	}
	body, sum := b[:len(b)-checksumSize], b[len(b)-checksumSize:]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(sum) {
		return Invite{}, ErrChecksum
	}
	if body[0] != Version {
		return Invite{}, fmt.Errorf("%w: version %d", ErrVersion, body[0])
	}
	inv, err := parseBody(body)
	if err != nil {
		return Invite{}, err
	}
	if !now.Before(inv.Expires) {
		return Invite{}, fmt.Errorf("%w: it expired %s", ErrExpired, inv.Expires.Format("2006-01-02 15:04 MST"))
	}
	return inv, nil
}

// reader takes bytes from the front of a slice.
type reader struct{ b []byte }

func (r *reader) take(n int) ([]byte, bool) {
	if n > len(r.b) {
		return nil, false
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out, true
}

func (r *reader) byte() (byte, bool) {
	b, ok := r.take(1)
	if !ok {
		return 0, false
	}
	return b[0], true
}

// parseBody reads the fields after the version; the checksum is already
// removed and checked.
func parseBody(body []byte) (Invite, error) {
	short := fmt.Errorf("%w: a field is cut short", ErrMalformed)
	r := reader{body}
	fixed, ok := r.take(fixedSize)
	if !ok {
		return Invite{}, short
	}
	inv := Invite{
		Version: fixed[0],
		Circle:  [16]byte(fixed[1:17]),
		Secret:  [16]byte(fixed[17:33]),
		Expires: time.Unix(int64(binary.BigEndian.Uint32(fixed[33:]))*60, 0).UTC(),
	}
	n, ok := r.byte()
	if !ok {
		return Invite{}, short
	}
	if n == 0 {
		return Invite{}, fmt.Errorf("%w: no inviter", ErrMalformed)
	}
	pid, ok := r.take(int(n))
	if !ok {
		return Invite{}, short
	}
	id, err := peer.IDFromBytes(bytes.Clone(pid))
	if err != nil {
		return Invite{}, fmt.Errorf("%w: invalid inviter peer id", ErrMalformed)
	}
	inv.Inviter = id
	count, ok := r.byte()
	if !ok {
		return Invite{}, short
	}
	if count > MaxAddrs {
		return Invite{}, fmt.Errorf("%w: %d addresses, at most %d", ErrTooLong, count, MaxAddrs)
	}
	for i := range int(count) {
		n, ok := r.byte()
		if !ok {
			return Invite{}, short
		}
		switch {
		case n == 0:
			return Invite{}, fmt.Errorf("%w: address %d is empty", ErrAddress, i+1)
		case n > MaxAddrSize:
			return Invite{}, fmt.Errorf("%w: address %d is %d bytes, at most %d", ErrTooLong, i+1, n, MaxAddrSize)
		}
		ab, ok := r.take(int(n))
		if !ok {
			return Invite{}, short
		}
		a, err := multiaddr.NewMultiaddrBytes(bytes.Clone(ab))
		if err != nil || a == nil || !bytes.Equal(a.Bytes(), ab) {
			return Invite{}, fmt.Errorf("%w: address %d cannot be read", ErrAddress, i+1)
		}
		inv.Addrs = append(inv.Addrs, a)
	}
	if len(r.b) != 0 {
		return Invite{}, fmt.Errorf("%w: %d unexpected bytes at the end", ErrMalformed, len(r.b))
	}
	return inv, nil
}

// HKDF labels of the values derived from the invite secret.
const (
	labelPeerKey = "hearth/v1 invite peer key"
	labelID      = "hearth/v1 invite id"
	labelProof   = "hearth/v1 invite proof"
)

func (inv Invite) derive(label string, n int) []byte {
	out, err := hkdf.Key(sha256.New, inv.Secret[:], inv.Circle[:], label, n)
	if err != nil {
		// Only reachable for n > 255*32 or in FIPS 140-only mode with a
		// short key; neither applies to a 16-byte secret and n <= 32.
		panic("invite: hkdf: " + err.Error())
	}
	return out
}

// PeerKeySeed returns the Ed25519 seed of the one-time libp2p identity the
// newcomer dials the circle with.
func (inv Invite) PeerKeySeed() [32]byte { return [32]byte(inv.derive(labelPeerKey, 32)) }

// ID returns the invite id gossiped in the invite-issued record; it reveals
// nothing of the secret.
func (inv Invite) ID() [16]byte { return [16]byte(inv.derive(labelID, 16)) }

// ProofKey returns the HMAC key with which the newcomer proves over
// /hearth/join/1 that it holds the invite secret.
func (inv Invite) ProofKey() [32]byte { return [32]byte(inv.derive(labelProof, 32)) }
