package epoch

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The expected values were computed with an independent HKDF-SHA256
// (RFC 5869) built from Python's hmac and hashlib modules.
func TestKnownAnswers(t *testing.T) {
	tests := []struct {
		name                   string
		secret, circle         string
		content, storage, pack string
		topic                  string
	}{
		{
			name:    "counting bytes",
			secret:  hex.EncodeToString(seq(0x00, 32)),
			circle:  hex.EncodeToString(seq(0xa0, 16)),
			content: "e5f268161211ee5a0ad9f134e830bb81b2cf8f9969d874c975a288410fe2d090",
			storage: "85c0d75e52498050fbaeaade7ce46d0eff4de9fdac844075e634713f0bb8792a",
			pack:    "4acfe75a9af13e8e66e51a566388f359738520c5f5be56431d0ef7327a34f9fd",
			topic:   "hearth/vbuy4s2jmvbywy6ioxs47ecxvtbdtkrv",
		},
		{
			name:    "zero circle",
			secret:  "6f09bb3ac33ebb872fb4f6acd163996d0f8dde0c8a49179f85bfad302ceb2003",
			circle:  "00000000000000000000000000000000",
			content: "a643b9bdd194b2020a194c906b67a8be4a984db9ea66e4672a025b70fb86e2f4",
			storage: "735a1792410c245c1b582d591070e5f4397c8ea3af35ba388343ae8951559f0b",
			pack:    "ddecef861941b4b069d988cea7a70f6045b080629210306775980dfc00c1142b",
			topic:   "hearth/6dflyvojofrbsvl435aa5zbsrj3vurj7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Secret(mustHex(t, tt.secret))
			c := [16]byte(mustHex(t, tt.circle))
			for _, k := range []struct {
				what string
				got  [32]byte
				want string
			}{
				{"ContentKey", s.ContentKey(c), tt.content},
				{"StorageKey", s.StorageKey(c), tt.storage},
				{"PackKey", s.PackKey(c), tt.pack},
			} {
				if got := hex.EncodeToString(k.got[:]); got != k.want {
					t.Errorf("%s: got %s, want %s", k.what, got, k.want)
				}
			}
			if got := s.Topic(c); got != tt.topic {
				t.Errorf("Topic: got %s, want %s", got, tt.topic)
			}
		})
	}
}

// outputs returns every derived value of s for circle, as strings.
func outputs(s Secret, circle [16]byte) map[string]string {
	c, st, p := s.ContentKey(circle), s.StorageKey(circle), s.PackKey(circle)
	return map[string]string{
		"content": string(c[:]),
		"storage": string(st[:]),
		"pack":    string(p[:]),
		"topic":   s.Topic(circle),
	}
}

func TestDistinct(t *testing.T) {
	s1, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if s1 == s2 {
		t.Fatalf("NewSecret: got the same secret twice")
	}
	c1, c2 := [16]byte{1}, [16]byte{2}
	seen := map[string]string{}
	for _, v := range []struct {
		name   string
		s      Secret
		circle [16]byte
	}{
		{"s1/c1", s1, c1}, {"s1/c2", s1, c2}, {"s2/c1", s2, c1}, {"s2/c2", s2, c2},
	} {
		for label, out := range outputs(v.s, v.circle) {
			where := v.name + " " + label
			if prev, ok := seen[out]; ok {
				t.Errorf("%s: got the same output as %s, want distinct", where, prev)
			}
			seen[out] = where
		}
	}
	if got, want := len(seen), 16; got != want {
		t.Errorf("distinct outputs: got %d, want %d", got, want)
	}
}

func TestTopicShape(t *testing.T) {
	for i := range 50 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		topic := s.Topic([16]byte{byte(i)})
		rest, ok := strings.CutPrefix(topic, "hearth/")
		if !ok {
			t.Fatalf("Topic: got %q, want prefix hearth/", topic)
		}
		if len(rest) != 32 {
			t.Errorf("Topic %q: got %d characters after the prefix, want 32", topic, len(rest))
		}
		if strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Errorf("Topic %q: got characters outside lowercase base32", topic)
		}
	}
}

func TestSecretNotPrinted(t *testing.T) {
	s := Secret(seq(0x41, 32)) // "ABCD..." if printed as text
	for _, verb := range []string{"%v", "%s", "%x", "%X", "%#v", "%q", "%d", "%+v"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(strings.ToLower(out), "4142") || strings.Contains(out, "ABCD") || strings.Contains(out, "65 66") {
			t.Errorf("Sprintf(%q): got %q, want no secret bytes", verb, out)
		}
	}
}

func BenchmarkContentKey(b *testing.B) {
	s, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.ContentKey([16]byte{1})
	}
}

func BenchmarkTopic(b *testing.B) {
	s, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = s.Topic([16]byte{1})
	}
}
