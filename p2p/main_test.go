package p2p

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// node is closed by its test, and Close must wait for what it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout is how long a test waits for a condition. Generous: the
// machines running the tests are shared and slow.
const waitTimeout = 60 * time.Second

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var (
	loopTCP  = ma.StringCast("/ip4/127.0.0.1/tcp/0")
	loopQUIC = ma.StringCast("/ip4/127.0.0.1/udp/0/quic-v1")
)

// newNode starts a node on loopback with a fresh key; the test closes it.
func newNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Key = key
	if cfg.Listen == nil {
		cfg.Listen = []ma.Multiaddr{loopTCP, loopQUIC}
	}
	n, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

func addrInfo(n *Node) peer.AddrInfo {
	return peer.AddrInfo{ID: n.ID(), Addrs: n.Addrs()}
}

// allowAll makes every node allow every other.
func allowAll(nodes ...*Node) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.Allow(b.ID())
			}
		}
	}
}

// connect dials b from a and waits until both see the connection.
func connect(t testing.TB, a, b *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.Connect(ctx, addrInfo(b)); err != nil {
		t.Fatalf("connect: %v", err)
	}
	waitFor(t, "connection seen by both", func() bool {
		return hasPeer(a, b.ID()) && hasPeer(b, a.ID())
	})
}

func hasPeer(n *Node, p peer.ID) bool {
	for _, q := range n.Peers() {
		if q == p {
			return true
		}
	}
	return false
}

// waitMesh waits until every node has want peers in topic.
func waitMesh(t testing.TB, topic string, want int, nodes ...*Node) {
	t.Helper()
	waitFor(t, "topic peers", func() bool {
		for _, n := range nodes {
			if len(n.ps.ListPeers(topic)) < want {
				return false
			}
		}
		return true
	})
}

// inbox collects the messages a node receives.
type inbox struct {
	mu   sync.Mutex
	msgs []Message
}

func (in *inbox) receive(m Message) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.msgs = append(in.msgs, m)
}

func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs)
}

func (in *inbox) has(data string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, m := range in.msgs {
		if string(m.Data) == data {
			return true
		}
	}
	return false
}

// memLog is an in-memory Log standing for the app's store. An envelope
// here is a 16-byte author, an 8-byte big-endian sequence number and a
// payload. Storing is idempotent on author and sequence number.
type memLog struct {
	mu       sync.Mutex
	envs     map[[16]byte]map[uint64][]byte
	hw       map[[16]byte]uint64
	top      map[[16]byte]uint64
	count    int
	received int // envelopes passed to Deliver, duplicates included
	onGap    func(from peer.ID)
}

func newMemLog() *memLog {
	return &memLog{
		envs: make(map[[16]byte]map[uint64][]byte),
		hw:   make(map[[16]byte]uint64),
		top:  make(map[[16]byte]uint64),
	}
}

func author(i int) [16]byte {
	var a [16]byte
	binary.BigEndian.PutUint64(a[8:], uint64(i)+1)
	a[0] = 0xa0
	return a
}

func mkEnv(a [16]byte, seq uint64, size int) []byte {
	e := make([]byte, 24+size)
	copy(e, a[:])
	binary.BigEndian.PutUint64(e[16:], seq)
	for i := 24; i < len(e); i++ {
		e[i] = byte(seq) ^ byte(i)
	}
	return e
}

func parseEnv(e []byte) ([16]byte, uint64, bool) {
	if len(e) < 24 {
		return [16]byte{}, 0, false
	}
	return [16]byte(e[:16]), binary.BigEndian.Uint64(e[16:24]), true
}

// add stores e; it reports whether e was new and whether it left a gap.
func (l *memLog) add(e []byte) (added, gap bool) {
	a, seq, ok := parseEnv(e)
	if !ok || seq == 0 {
		return false, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.envs[a]
	if m == nil {
		m = make(map[uint64][]byte)
		l.envs[a] = m
	}
	if _, dup := m[seq]; dup {
		return false, false
	}
	m[seq] = append([]byte(nil), e...)
	l.count++
	l.top[a] = max(l.top[a], seq)
	for {
		if _, ok := m[l.hw[a]+1]; !ok {
			break
		}
		l.hw[a]++
	}
	return true, l.hw[a] < seq
}

func (l *memLog) HighWater() (map[[16]byte]uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[[16]byte]uint64, len(l.hw))
	for a, s := range l.hw {
		out[a] = s
	}
	return out, nil
}

func (l *memLog) Envelopes(_ peer.ID, a [16]byte, after uint64, limit int) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][]byte
	for s := after + 1; s <= l.top[a] && len(out) < limit; s++ {
		if e, ok := l.envs[a][s]; ok {
			out = append(out, e)
		}
	}
	return out, nil
}

func (l *memLog) Deliver(from peer.ID, envs [][]byte) error {
	gap := false
	for _, e := range envs {
		_, g := l.add(e)
		gap = gap || g
	}
	l.mu.Lock()
	l.received += len(envs)
	onGap := l.onGap
	l.mu.Unlock()
	if gap && onGap != nil {
		onGap(from)
	}
	return nil
}

func (l *memLog) receivedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.received
}

func (l *memLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}

// fill stores envelopes 1..n for each of authors.
func (l *memLog) fill(authors []int, n uint64, size int) {
	for _, i := range authors {
		for s := uint64(1); s <= n; s++ {
			l.add(mkEnv(author(i), s, size))
		}
	}
}

// sameAs reports the first difference between two logs, or "".
func (l *memLog) sameAs(o *memLog) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	if l.count != o.count {
		return fmt.Sprintf("got %d envelopes, want %d", l.count, o.count)
	}
	for a, m := range o.envs {
		for s, e := range m {
			if got, ok := l.envs[a][s]; !ok || string(got) != string(e) {
				return fmt.Sprintf("author %x seq %d missing or different", a[:2], s)
			}
		}
	}
	return ""
}
