package epoch

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// Size is the size of an epoch secret in bytes.
const Size = 32

// Secret is an epoch secret. Its String and Format methods do not reveal it,
// so printing one by mistake leaks nothing.
type Secret [Size]byte

// HKDF labels, one per derived value.
const (
	labelContent = "hearth/v1 content key"
	labelTopic   = "hearth/v1 topic"
	labelStorage = "hearth/v1 storage key"
	labelPack    = "hearth/v1 welcome pack key"
)

// TopicPrefix starts every gossip topic name.
const TopicPrefix = "hearth/"

const topicBytes = 20

var topicEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a fresh random epoch secret.
func NewSecret() (Secret, error) {
	var s Secret
	if _, err := rand.Read(s[:]); err != nil {
		return Secret{}, fmt.Errorf("epoch: random secret: %w", err)
	}
	return s, nil
}

// derive runs HKDF-SHA256 with the circle id as salt and label as info.
func (s Secret) derive(circle [16]byte, label string, n int) []byte {
	out, err := hkdf.Key(sha256.New, s[:], circle[:], label, n)
	if err != nil {
		// Only reachable for n > 255*32 or in FIPS 140-only mode with a
		// short key; neither applies to a 32-byte secret and n <= 32.
		panic("epoch: hkdf: " + err.Error())
	}
	return out
}

func (s Secret) key(circle [16]byte, label string) [32]byte {
	return [32]byte(s.derive(circle, label, 32))
}

// ContentKey returns the AEAD key for the envelopes of this epoch.
func (s Secret) ContentKey(circle [16]byte) [32]byte { return s.key(circle, labelContent) }

// StorageKey returns the at-rest key for this epoch's decoded records.
func (s Secret) StorageKey(circle [16]byte) [32]byte { return s.key(circle, labelStorage) }

// PackKey returns the key for the welcome pack handed to a newcomer who joins
// in this epoch.
func (s Secret) PackKey(circle [16]byte) [32]byte { return s.key(circle, labelPack) }

// Topic returns the gossip topic name of this epoch: "hearth/" and 32
// lowercase base32 characters.
func (s Secret) Topic(circle [16]byte) string {
	return TopicPrefix + strings.ToLower(topicEncoding.EncodeToString(s.derive(circle, labelTopic, topicBytes)))
}

// String returns a fixed placeholder, never the secret.
func (s Secret) String() string { return "epoch.Secret(redacted)" }

// Format prints the same placeholder as String for every verb, so that no
// formatting of a Secret, %x and %d included, reveals it.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }
