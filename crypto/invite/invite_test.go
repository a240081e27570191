package invite

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"pgregory.net/rapid"
)

var (
	testNow     = time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	testExpires = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	testCircle  = [16]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf}
)

// fataler is what the helpers need of testing.TB and *rapid.T.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

// peerFromSeed returns the libp2p peer id of the Ed25519 key with the given seed.
func peerFromSeed(t fataler, seed []byte) peer.ID {
	t.Helper()
	priv, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func addr(t testing.TB, s string) multiaddr.Multiaddr {
	t.Helper()
	a, err := multiaddr.NewMultiaddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func typicalAddrs(t testing.TB) []multiaddr.Multiaddr {
	return []multiaddr.Multiaddr{
		addr(t, "/ip4/192.0.2.10/tcp/4001"),
		addr(t, "/ip4/192.0.2.10/udp/4001/quic-v1"),
	}
}

func typical(t testing.TB) Invite {
	t.Helper()
	inv, err := New(testCircle, peerFromSeed(t, bytes.Repeat([]byte{7}, 32)), typicalAddrs(t), testExpires)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// equal reports whether two invites hold the same fields.
func equal(a, b Invite) bool {
	return a.Version == b.Version && a.Circle == b.Circle && a.Secret == b.Secret &&
		a.Expires.Equal(b.Expires) && a.Inviter == b.Inviter &&
		slices.EqualFunc(a.Addrs, b.Addrs, multiaddr.Multiaddr.Equal)
}

// codeOf returns the text code of a binary body, with a valid checksum added.
func codeOf(body []byte) string {
	return format(binary.BigEndian.AppendUint32(bytes.Clone(body), crc32.ChecksumIEEE(body)))
}

// bodyOf returns the binary form of inv without its checksum.
func bodyOf(t testing.TB, inv Invite) []byte {
	t.Helper()
	b, err := inv.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b[:len(b)-checksumSize]
}

// The expected code was computed independently in Python (zlib.crc32, the
// cryptography package for the Ed25519 key, hand-encoded multiaddrs and a
// separate base32 encoder).
func TestKnownCode(t *testing.T) {
	inv := Invite{
		Version: 1,
		Circle:  testCircle,
		Secret:  [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		Expires: testExpires,
		Inviter: peerFromSeed(t, bytes.Repeat([]byte{7}, 32)),
		Addrs:   typicalAddrs(t),
	}
	const want = "HEARTH-06GA3-8N3MJ-JTD9X-8N6NA-QB5DN-TQG00-820C2-0A1G7-104GM-2RC1M-70Y0E-2QJ72-C0141-00H48-7A99P-67RMW-A85BX-XAGFC-9JXHF-SJN3Q-DBNYQ-SXS4G-GYX9M-H8HPJ-5G10G-16000-10M1G-FM45G-9G000-85920-GFM76-G6RR4-XN20"
	if got := inv.String(); got != want {
		t.Fatalf("String:\ngot  %s\nwant %s", got, want)
	}
	got, err := Parse(want, testNow)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !equal(got, inv) {
		t.Errorf("Parse: got %+v, want %+v", got, inv)
	}
}

func TestTypicalLength(t *testing.T) {
	code := typical(t).String()
	t.Logf("typical code (2 addresses): %d characters, %d symbols: %s", len(code), len(strings.ReplaceAll(code[len(Prefix):], "-", "")), code)
	if got, want := len(code), 203; got != want {
		t.Errorf("typical code length: got %d, want %d", got, want)
	}
	groups := strings.Split(strings.TrimPrefix(code, Prefix), "-")
	for i, g := range groups {
		if len(g) != groupSize && i != len(groups)-1 {
			t.Errorf("group %d: got %q, want %d symbols", i, g, groupSize)
		}
	}
}

func TestNew(t *testing.T) {
	inv := typical(t)
	if inv.Version != Version {
		t.Errorf("Version: got %d, want %d", inv.Version, Version)
	}
	if inv.Secret == ([16]byte{}) {
		t.Errorf("Secret: got all zero, want random")
	}
	if other := typical(t); other.Secret == inv.Secret {
		t.Errorf("Secret: got the same secret from two calls")
	}
	odd := testExpires.Add(59*time.Second + 999*time.Millisecond)
	inv2, err := New(testCircle, inv.Inviter, nil, odd)
	if err != nil {
		t.Fatal(err)
	}
	if !inv2.Expires.Equal(testExpires) {
		t.Errorf("Expires: got %v, want %v (rounded down to the minute)", inv2.Expires, testExpires)
	}
	addrs := typicalAddrs(t)
	inv3, err := New(testCircle, inv.Inviter, addrs, testExpires)
	if err != nil {
		t.Fatal(err)
	}
	addrs[0] = nil
	if inv3.Addrs[0] == nil {
		t.Errorf("Addrs: got the caller's slice, want a copy")
	}
}

func TestNewRefuses(t *testing.T) {
	pid := peerFromSeed(t, make([]byte, 32))
	long := addr(t, "/dns4/"+strings.Repeat("a", 60)+".example/tcp/1")
	nine := slices.Repeat(typicalAddrs(t)[:1], 9)
	tests := []struct {
		name    string
		inviter peer.ID
		addrs   []multiaddr.Multiaddr
		expires time.Time
		want    error
	}{
		{"no inviter", "", nil, testExpires, ErrMalformed},
		{"invalid inviter", peer.ID("not a multihash"), nil, testExpires, ErrMalformed},
		{"nil address", pid, []multiaddr.Multiaddr{nil}, testExpires, ErrAddress},
		{"address too long", pid, []multiaddr.Multiaddr{long}, testExpires, ErrTooLong},
		{"nine addresses", pid, nine, testExpires, ErrTooLong},
		{"before 1970", pid, nil, time.Unix(-60, 0), ErrMalformed},
		{"zero time", pid, nil, time.Time{}, ErrMalformed},
		{"after uint32 minutes", pid, nil, time.Unix((1<<32)*60, 0), ErrMalformed},
	}
	for _, tt := range tests {
		if _, err := New(testCircle, tt.inviter, tt.addrs, tt.expires); !errors.Is(err, tt.want) {
			t.Errorf("New(%s): got %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := New(testCircle, pid, nine[:8], testExpires); err != nil {
		t.Errorf("New(eight addresses): got %v, want nil", err)
	}
	if _, err := New(testCircle, pid, nil, time.Unix((1<<32-1)*60, 0)); err != nil {
		t.Errorf("New(last representable minute): got %v, want nil", err)
	}
}

// genInvite draws a valid invite.
func genInvite(t *rapid.T) Invite {
	seed := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "peer seed")
	var addrs []multiaddr.Multiaddr
	for i := range rapid.IntRange(0, MaxAddrs).Draw(t, "addrs") {
		ip := netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "ip4")))
		if rapid.Bool().Draw(t, "v6") {
			ip = netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "ip6")))
		}
		host := "/ip4/" + ip.String()
		if ip.Is6() {
			host = "/ip6/" + ip.String()
		}
		port := strconv.Itoa(rapid.IntRange(1, 65535).Draw(t, "port"))
		tail := rapid.SampledFrom([]string{"/tcp/%d", "/udp/%d/quic-v1", "/udp/%d/quic-v1/webtransport"}).Draw(t, "transport")
		a, err := multiaddr.NewMultiaddr(host + strings.Replace(tail, "%d", port, 1))
		if err != nil {
			t.Fatalf("address %d: %v", i, err)
		}
		addrs = append(addrs, a)
	}
	minute := rapid.Uint32Range(uint32(testNow.Unix()/60)+1, 1<<32-1).Draw(t, "expiry minute")
	inv, err := New([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "circle")),
		peerFromSeed(t, seed), addrs, time.Unix(int64(minute)*60, 0))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return inv
}

func TestRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		inv := genInvite(t)
		code := inv.String()
		if code == "" {
			t.Fatalf("String: got empty code for %+v", inv)
		}
		got, err := Parse(code, testNow)
		if err != nil {
			t.Fatalf("Parse(%s): %v", code, err)
		}
		if !equal(got, inv) {
			t.Fatalf("Parse(String()): got %+v, want %+v", got, inv)
		}
		if got.String() != code {
			t.Fatalf("String after Parse: got %s, want %s", got.String(), code)
		}
	})
}

// mangle rewrites a code the ways people do; Parse must still read it.
func TestForgivingProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		inv := genInvite(t)
		code := inv.String()
		if rapid.Bool().Draw(t, "drop prefix") {
			code = strings.TrimPrefix(code, Prefix)
		}
		var sb strings.Builder
		for _, r := range code {
			if r == '-' {
				sb.WriteString(rapid.SampledFrom([]string{"-", " ", "", "\n", " - ", "\u2013", "\r\n", "\t"}).Draw(t, "separator"))
				continue
			}
			s := string(r)
			switch r {
			case '0':
				s = rapid.SampledFrom([]string{"0", "O", "o"}).Draw(t, "zero")
			case '1':
				s = rapid.SampledFrom([]string{"1", "I", "i", "L", "l"}).Draw(t, "one")
			}
			if rapid.Bool().Draw(t, "lower") {
				s = strings.ToLower(s)
			}
			sb.WriteString(s)
		}
		mangled := "  " + sb.String() + "\n"
		got, err := Parse(mangled, testNow)
		if err != nil {
			t.Fatalf("Parse(%q): %v", mangled, err)
		}
		if !equal(got, inv) {
			t.Fatalf("Parse(%q): got %+v, want %+v", mangled, got, inv)
		}
	})
}

func TestForgiving(t *testing.T) {
	inv := typical(t)
	code := inv.String()
	bare := strings.TrimPrefix(code, Prefix)
	tests := []struct{ name, code string }{
		{"as written", code},
		{"lower case", strings.ToLower(code)},
		{"spaces", strings.ReplaceAll(code, "-", " ")},
		{"no separators", strings.ReplaceAll(code, "-", "")},
		{"newlines", strings.ReplaceAll(code, "-", "\n")},
		{"no prefix", bare},
		{"no prefix, lower, spaces", strings.ToLower(strings.ReplaceAll(bare, "-", " "))},
		{"O for 0", strings.ReplaceAll(code, "0", "O")},
		{"o for 0", strings.ReplaceAll(code, "0", "o")},
		{"I for 1", strings.ReplaceAll(code, "1", "I")},
		{"l for 1", strings.ReplaceAll(code, "1", "l")},
		{"en dashes", strings.ReplaceAll(code, "-", "\u2013")},
		{"zero-width spaces", strings.ReplaceAll(code, "-", "\u200b")},
		{"no-break spaces", strings.ReplaceAll(code, "-", "\u00a0")},
		{"surrounding space", "\t " + code + " \r\n"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.code, testNow)
		if err != nil {
			t.Errorf("Parse(%s): got %v, want nil", tt.name, err)
			continue
		}
		if !equal(got, inv) {
			t.Errorf("Parse(%s): got %+v, want %+v", tt.name, got, inv)
		}
	}
}

// symbolPositions returns the indexes of code symbols in a code, skipping the
// prefix and dashes.
func symbolPositions(code string) []int {
	var out []int
	for i := len(Prefix); i < len(code); i++ {
		if code[i] != '-' {
			out = append(out, i)
		}
	}
	return out
}

// codesOfEveryPadding returns valid codes whose binary lengths cover every
// residue modulo 5, so every amount of padding in the last symbol is tested.
func codesOfEveryPadding(t *testing.T) []string {
	t.Helper()
	base := typical(t)
	seen := map[int]string{}
	for k := 1; k <= 5; k++ {
		inv := base
		inv.Addrs = []multiaddr.Multiaddr{addr(t, "/dns4/"+strings.Repeat("a", k)+".example/tcp/1")}
		b, err := inv.marshal()
		if err != nil {
			t.Fatal(err)
		}
		seen[len(b)%5] = inv.String()
	}
	if len(seen) != 5 {
		t.Fatalf("codes cover %d padding sizes, want 5", len(seen))
	}
	out := make([]string, 0, 5)
	for _, c := range seen {
		out = append(out, c)
	}
	return out
}

func TestEverySubstitutionIsChecksumError(t *testing.T) {
	for _, code := range codesOfEveryPadding(t) {
		if _, err := Parse(code, testNow); err != nil {
			t.Fatalf("Parse(unaltered %s): %v", code, err)
		}
		b := []byte(code)
		for _, i := range symbolPositions(code) {
			orig := b[i]
			for j := range len(alphabet) {
				if alphabet[j] == orig {
					continue
				}
				b[i] = alphabet[j]
				if _, err := Parse(string(b), testNow); !errors.Is(err, ErrChecksum) {
					t.Errorf("code of %d symbols, position %d %c->%c: got %v, want ErrChecksum",
						len(symbolPositions(code)), i, orig, alphabet[j], err)
				}
			}
			b[i] = orig
		}
	}
}

func TestAdjacentTranspositionIsChecksumError(t *testing.T) {
	for _, code := range codesOfEveryPadding(t) {
		pos := symbolPositions(code)
		for k := 0; k+1 < len(pos); k++ {
			b := []byte(code)
			i, j := pos[k], pos[k+1]
			if b[i] == b[j] {
				continue
			}
			b[i], b[j] = b[j], b[i]
			if _, err := Parse(string(b), testNow); !errors.Is(err, ErrChecksum) {
				t.Errorf("swap of symbols %d and %d: got %v, want ErrChecksum", k, k+1, err)
			}
		}
	}
}

// TestCRCDetectsShortBursts checks, independently of any particular code, that
// the checksum as laid out (CRC-32 IEEE over the body, stored big-endian)
// detects every error confined to 10 consecutive bits of body and checksum
// together: the most a substituted symbol or two swapped symbols can alter.
// Errors within the body alone are detected by the burst-error property of
// CRC-32; the windows that straddle body and checksum are checked exhaustively
// here (the effect of an error near the end does not depend on the length or
// content of the body).
func TestCRCDetectsShortBursts(t *testing.T) {
	const n = 24 // body bytes
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(i*37 + 11)
	}
	base := crc32.ChecksumIEEE(body)
	undetected, checked := 0, 0
	for width := 1; width <= 10; width++ {
		for start := 0; start+width <= (n+4)*8; start++ {
			for pat := 1; pat < 1<<width; pat++ {
				if pat&1 == 0 || pat>>(width-1) == 0 {
					continue // shorter bursts are covered by a smaller width
				}
				dm := make([]byte, n)
				var ds uint32
				for k := range width {
					if pat>>(width-1-k)&1 == 0 {
						continue
					}
					if pos := start + k; pos < n*8 {
						dm[pos/8] |= 0x80 >> (pos % 8)
					} else {
						ds |= 1 << (31 - (pos - n*8))
					}
				}
				for i := range body {
					dm[i] ^= body[i]
				}
				checked++
				if crc32.ChecksumIEEE(dm)^base == ds {
					undetected++
				}
			}
		}
	}
	if undetected != 0 {
		t.Errorf("error patterns of at most 10 bits: got %d undetected of %d, want 0", undetected, checked)
	}
}

func TestExpired(t *testing.T) {
	code := typical(t).String()
	tests := []struct {
		now  time.Time
		want error
	}{
		{testExpires.Add(-time.Minute), nil},
		{testExpires.Add(-time.Nanosecond), nil},
		{testExpires, ErrExpired},
		{testExpires.Add(time.Hour), ErrExpired},
		{testExpires.AddDate(5, 0, 0), ErrExpired},
	}
	for _, tt := range tests {
		if _, err := Parse(code, tt.now); !errors.Is(err, tt.want) {
			t.Errorf("Parse at %v: got %v, want %v", tt.now, err, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, v := range []uint8{0, 2, 255} {
		inv := typical(t)
		inv.Version = v
		code := inv.String()
		if _, err := Parse(code, testNow); !errors.Is(err, ErrVersion) {
			t.Errorf("Parse(version %d): got %v, want ErrVersion", v, err)
		}
		// A different version may lay out its fields differently.
		body := []byte{v, 1, 2, 3}
		body = append(body, make([]byte, 60)...)
		if _, err := Parse(codeOf(body), testNow); !errors.Is(err, ErrVersion) {
			t.Errorf("Parse(version %d, other layout): got %v, want ErrVersion", v, err)
		}
	}
}

func TestTruncatedText(t *testing.T) {
	code := typical(t).String()
	for n := range len(code) {
		if _, err := Parse(code[:n], testNow); err == nil {
			t.Errorf("Parse(code[:%d]): got nil error, want an error", n)
		}
	}
}

// TestTruncatedBody cuts the binary form at every length and adds a valid
// checksum, so the field parser itself sees every truncation.
func TestTruncatedBody(t *testing.T) {
	body := bodyOf(t, typical(t))
	for n := range len(body) {
		_, err := Parse(codeOf(body[:n]), testNow)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(body[:%d] with checksum): got %v, want ErrMalformed", n, err)
		}
	}
}

func TestFields(t *testing.T) {
	good := bodyOf(t, typical(t))
	pidLen := int(good[fixedSize])
	countAt := fixedSize + 1 + pidLen
	firstAddr := countAt + 1
	edit := func(f func(b []byte) []byte) string { return codeOf(f(bytes.Clone(good))) }
	tests := []struct {
		name string
		code string
		want error
	}{
		{"valid", codeOf(good), nil},
		{"trailing byte", edit(func(b []byte) []byte { return append(b, 0) }), ErrMalformed},
		{"empty peer id", edit(func(b []byte) []byte {
			return append(b[:fixedSize:fixedSize], 0, 1, 8, 0x04, 10, 0, 0, 1, 0x06, 0x0f, 0xa1)
		}), ErrMalformed},
		{"invalid peer id", edit(func(b []byte) []byte { b[fixedSize+2]++; return b }), ErrMalformed}, // multihash length
		{"unknown address protocol", edit(func(b []byte) []byte { b[firstAddr+1] = 0x7f; return b }), ErrAddress},
		{"address with a cut value", edit(func(b []byte) []byte {
			out := append(b[:firstAddr:firstAddr], 3, 0x04, 0xc0, 0x00) // ip4 with 2 of 4 bytes
			return append(out, b[firstAddr+1+int(b[firstAddr]):]...)
		}), ErrAddress},
		{"empty address", edit(func(b []byte) []byte {
			return append(b[:firstAddr:firstAddr], 0)
		}), ErrAddress},
		{"address over 64 bytes", edit(func(b []byte) []byte {
			out := append(b[:countAt:countAt], 1, 65)
			return append(out, make([]byte, 65)...)
		}), ErrTooLong},
		{"nine addresses", edit(func(b []byte) []byte {
			out := append(b[:countAt:countAt], 9)
			for range 9 {
				out = append(out, 8, 0x04, 10, 0, 0, 1, 0x06, 0x0f, 0xa1)
			}
			return out
		}), ErrTooLong},
		{"eight addresses", edit(func(b []byte) []byte {
			out := append(b[:countAt:countAt], 8)
			for range 8 {
				out = append(out, 8, 0x04, 10, 0, 0, 1, 0x06, 0x0f, 0xa1)
			}
			return out
		}), nil},
		{"count beyond data", edit(func(b []byte) []byte { b[countAt] = 5; return b }), ErrMalformed},
		{"no addresses", edit(func(b []byte) []byte { return append(b[:countAt:countAt], 0) }), nil},
	}
	for _, tt := range tests {
		_, err := Parse(tt.code, testNow)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("Parse(%s): got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestCharacters(t *testing.T) {
	code := typical(t).String()
	tests := []struct {
		name string
		code string
		want error
	}{
		{"U", code[:20] + "U" + code[21:], ErrMalformed},
		{"punctuation", code + "!", ErrMalformed},
		{"non-ASCII letter", code[:20] + "é" + code[21:], ErrMalformed},
		{"invalid UTF-8", code[:20] + "\xff" + code[21:], ErrMalformed},
		{"empty", "", ErrMalformed},
		{"prefix only", Prefix, ErrMalformed},
		{"last symbol missing", code[:len(code)-1], ErrMalformed},
		{"two extra symbols", code + "00", ErrMalformed},
		{"one extra symbol", code + "0", ErrChecksum}, // fits a whole number of bytes, so the checksum catches it
		{"nonzero padding", code[:len(code)-1] + "Z", ErrChecksum},
		{"huge text", strings.Repeat("0", 1<<20), ErrTooLong},
		{"too many symbols", strings.Repeat("0", maxSymbols+1), ErrTooLong},
	}
	for _, tt := range tests {
		if _, err := Parse(tt.code, testNow); !errors.Is(err, tt.want) {
			t.Errorf("Parse(%s): got %v, want %v", tt.name, err, tt.want)
		}
	}
	_, err := Parse(code[:20]+"U"+code[21:], testNow)
	if err == nil || !strings.Contains(err.Error(), `"U"`) {
		t.Errorf("Parse with a U: got %v, want a message naming \"U\"", err)
	}
}

func TestStringOfInvalidInvite(t *testing.T) {
	inv := typical(t)
	inv.Addrs = slices.Repeat(inv.Addrs, 5)
	if got := inv.String(); got != "" {
		t.Errorf("String of an invite with 10 addresses: got %q, want \"\"", got)
	}
}

// The expected values were computed independently with Python's hmac and
// hashlib (HKDF-SHA256, RFC 5869).
func TestDerivations(t *testing.T) {
	inv := Invite{Circle: testCircle, Secret: [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}}
	seed, id, proof := inv.PeerKeySeed(), inv.ID(), inv.ProofKey()
	for _, tt := range []struct{ what, got, want string }{
		{"PeerKeySeed", hex.EncodeToString(seed[:]), "9da45be5b7fee0139a02f3010f8abc433c3c0878b397e2a117fca1b801eebc5d"},
		{"ID", hex.EncodeToString(id[:]), "e30b5949f2c77df46e75b558b3e77441"},
		{"ProofKey", hex.EncodeToString(proof[:]), "1bbf5e418f55d9059af6e1165f3f8c0f96a2c752aebe9fe080c981f937571a25"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.what, tt.got, tt.want)
		}
	}
	other := inv
	other.Circle[0] ^= 1
	if other.ID() == inv.ID() || other.PeerKeySeed() == inv.PeerKeySeed() || other.ProofKey() == inv.ProofKey() {
		t.Errorf("derivations for another circle: got a value equal to this circle's, want all distinct")
	}
	if bytes.Equal(seed[:16], id[:]) || seed == proof {
		t.Errorf("derivations: got equal values under distinct labels")
	}
}

func TestErrorMessages(t *testing.T) {
	for _, err := range []error{ErrChecksum, ErrExpired, ErrVersion, ErrMalformed, ErrAddress, ErrTooLong} {
		msg := err.Error()
		if !strings.HasPrefix(msg, "invite code ") {
			t.Errorf("error message %q: want it to start with \"invite code \"", msg)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	code := typical(b).String()
	for b.Loop() {
		if _, err := Parse(code, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	inv := typical(b)
	for b.Loop() {
		_ = inv.String()
	}
}
