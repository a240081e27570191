package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestSyncOnConnect: a holds 10,000 envelopes, b none; connecting is
// enough for b to get them all.
func TestSyncOnConnect(t *testing.T) {
	la, lb := newMemLog(), newMemLog()
	la.fill([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 1000, 200)
	a := newNode(t, Config{Log: la})
	b := newNode(t, Config{Log: lb})
	allowAll(a, b)
	connect(t, b, a)
	waitFor(t, "b to hold 10,000 envelopes", func() bool { return lb.len() == 10000 })
	if diff := lb.sameAs(la); diff != "" {
		t.Fatal(diff)
	}
	t.Logf("envelopes delivered to b, duplicates included: %d", lb.receivedCount())
}

// logSpec describes a log: for each author, which sequence numbers it holds.
type logSpec map[int][]uint64

func seqs(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func (s logSpec) build() *memLog {
	l := newMemLog()
	for a, ss := range s {
		for _, q := range ss {
			l.add(mkEnv(author(a), q, 50))
		}
	}
	return l
}

// TestSyncWith: one session brings both sides up to the other's
// contiguous high-water mark for every author.
func TestSyncWith(t *testing.T) {
	tests := []struct {
		name         string
		a, b         logSpec
		wantA, wantB logSpec
	}{
		{
			name:  "both empty",
			a:     logSpec{},
			b:     logSpec{},
			wantA: logSpec{},
			wantB: logSpec{},
		},
		{
			name:  "disjoint authors",
			a:     logSpec{1: seqs(1, 300)},
			b:     logSpec{2: seqs(1, 20)},
			wantA: logSpec{1: seqs(1, 300), 2: seqs(1, 20)},
			wantB: logSpec{1: seqs(1, 300), 2: seqs(1, 20)},
		},
		{
			name:  "each ahead on one author",
			a:     logSpec{1: seqs(1, 10), 2: seqs(1, 3)},
			b:     logSpec{1: seqs(1, 4), 2: seqs(1, 700)},
			wantA: logSpec{1: seqs(1, 10), 2: seqs(1, 700)},
			wantB: logSpec{1: seqs(1, 10), 2: seqs(1, 700)},
		},
		{
			// a holds 1-5 and 8-9 of author 1: its mark is 5. b fills
			// a's gap; a's mark becomes 9 and the next round gives b 8-9.
			name:  "gap filled",
			a:     logSpec{1: append(seqs(1, 5), 8, 9)},
			b:     logSpec{1: seqs(1, 7)},
			wantA: logSpec{1: seqs(1, 9)},
			wantB: logSpec{1: seqs(1, 9)},
		},
		{
			// Nobody holds 6: envelopes past a gap stay where they are.
			name:  "gap on both sides",
			a:     logSpec{1: append(seqs(1, 5), 8, 9)},
			b:     logSpec{1: append(seqs(1, 3), 7)},
			wantA: logSpec{1: append(seqs(1, 5), 8, 9)},
			wantB: logSpec{1: append(seqs(1, 5), 7)},
		},
		{
			name:  "more than a round",
			a:     logSpec{1: seqs(1, roundEnvelopes+700), 2: seqs(1, 10)},
			b:     logSpec{},
			wantA: logSpec{1: seqs(1, roundEnvelopes+700), 2: seqs(1, 10)},
			wantB: logSpec{1: seqs(1, roundEnvelopes+700), 2: seqs(1, 10)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			la, lb := tc.a.build(), tc.b.build()
			// Long period: only the explicit session and the one on
			// connection run.
			a := newNode(t, Config{Log: la, SyncEvery: time.Hour})
			b := newNode(t, Config{Log: lb, SyncEvery: time.Hour})
			allowAll(a, b)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := a.Connect(ctx, addrInfo(b)); err != nil {
				t.Fatal(err)
			}
			if err := a.SyncWith(ctx, b.ID()); err != nil {
				t.Fatalf("SyncWith: got %v, want nil", err)
			}
			// SyncWith returns once b has taken what a sent in it; what
			// b announced as on its way in the session that started on
			// connection arrives there.
			want := map[string]logSpec{"a": tc.wantA, "b": tc.wantB}
			logs := map[string]*memLog{"a": la, "b": lb}
			for name, l := range logs {
				deadline := time.Now().Add(waitTimeout)
				for diff := l.sameAs(want[name].build()); diff != ""; diff = l.sameAs(want[name].build()) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: %s", name, diff)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
}

// TestSyncBurstRepair: one node publishes 2,000 envelopes in a burst to
// four others. Whatever gossip drops under the burst, and what two of the
// receivers throw away on purpose (standing for drops that the machine
// running the test may not produce), catch-up sync restores: on a gap in
// the sequence numbers, and periodically for a lost tail.
func TestSyncBurstRepair(t *testing.T) {
	const (
		topic = "circle"
		total = 2000
		peers = 5
	)
	type counts struct {
		mu                 sync.Mutex
		gossip, thrownAway int
	}
	var (
		logs  []*memLog
		nodes []*Node
		stats = make([]counts, peers)
	)
	for i := range peers {
		l := newMemLog()
		logs = append(logs, l)
		var n *Node
		n = newNode(t, Config{
			Log:       l,
			SyncEvery: 2 * time.Second,
			Receive: func(m Message) {
				_, seq, _ := parseEnv(m.Data)
				c := &stats[i]
				c.mu.Lock()
				drop := i >= 3 && seq%uint64(4+i) == 0
				if drop {
					c.thrownAway++
				} else {
					c.gossip++
				}
				c.mu.Unlock()
				if drop {
					return
				}
				if _, gap := l.add(m.Data); gap {
					n.RequestSync(m.From)
				}
			},
		})
		nodes = append(nodes, n)
	}
	for i, l := range logs {
		l.onGap = nodes[i].RequestSync
	}
	allowAll(nodes...)
	for _, n := range nodes {
		if err := n.Join(topic); err != nil {
			t.Fatal(err)
		}
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			connect(t, nodes[i], nodes[j])
		}
	}
	waitMesh(t, topic, peers-1, nodes...)

	src := nodes[0]
	for s := uint64(1); s <= total; s++ {
		env := mkEnv(author(0), s, 512)
		logs[0].add(env)
		if err := src.Publish(context.Background(), topic, env); err != nil {
			t.Fatalf("publish %d: %v", s, err)
		}
	}
	for i := 1; i < peers; i++ {
		waitFor(t, fmt.Sprintf("node %d to hold all %d", i, total), func() bool { return logs[i].len() == total })
		if diff := logs[i].sameAs(logs[0]); diff != "" {
			t.Errorf("node %d: %s", i, diff)
		}
		c := &stats[i]
		c.mu.Lock()
		t.Logf("node %d: %d kept from gossip, %d thrown away, %d lost by gossip, %d passed to Deliver by sync",
			i, c.gossip, c.thrownAway, total-c.gossip-c.thrownAway, logs[i].receivedCount())
		c.mu.Unlock()
	}
}

// TestSyncRefusesBadFrames: a peer that breaks the protocol has its stream
// reset; the node keeps serving well-behaved sessions.
func TestSyncRefusesBadFrames(t *testing.T) {
	la, lb := newMemLog(), newMemLog()
	la.fill([]int{1}, 5, 10)
	a := newNode(t, Config{Log: la, SyncEvery: time.Hour})
	b := newNode(t, Config{Log: lb, SyncEvery: time.Hour})
	allowAll(a, b)
	connect(t, b, a)

	tooMany := make(marks, MaxAuthors+1)
	for i := range MaxAuthors + 1 {
		tooMany[author(i)] = 1
	}
	tooManyFrame := func() []byte {
		// encodeMarks refuses to build it; build it by hand.
		b, err := encodeMarks(marks{author(0): 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		one := b[2:] // drop the kind field: one mark field
		out := []byte{0x08, 0x01}
		for range MaxAuthors + 1 {
			out = append(out, one...)
		}
		return out
	}
	batch, _ := appendBatch(nil, [][]byte{[]byte("x")})
	done, _ := encodeDone()
	tests := []struct {
		name string
		raw  []byte // written as is
	}{
		{"batch first", framed(batch)},
		{"done first", framed(done)},
		{"length over the cap", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"garbage", framed([]byte{0xde, 0xad, 0xbe, 0xef})},
		{"too many authors", framed(tooManyFrame())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			s, err := b.host.NewStream(ctx, a.ID(), syncProtocol)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Reset()
			if _, err := s.Write(tc.raw); err != nil {
				t.Fatal(err)
			}
			_ = s.CloseWrite()
			_ = s.SetReadDeadline(time.Now().Add(waitTimeout))
			f, err := readFrame(bufio.NewReader(s), nil)
			if err == nil {
				t.Fatalf("got a %d-byte frame, want the stream refused", len(f))
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.SyncWith(ctx, a.ID()); err != nil {
		t.Fatalf("SyncWith after bad sessions: got %v, want nil", err)
	}
	if got := lb.len(); got != 5 {
		t.Errorf("b holds %d envelopes, want 5", got)
	}
}

func framed(b []byte) []byte {
	var w bytesWriter
	if err := writeFrame(&w, b); err != nil {
		panic(err)
	}
	return w.b
}

type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func TestSyncDisabled(t *testing.T) {
	a := newNode(t, Config{})
	b := newNode(t, Config{})
	allowAll(a, b)
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.SyncWith(ctx, b.ID()); !errors.Is(err, ErrSyncDisabled) {
		t.Errorf("sync without a log: got %v, want %v", err, ErrSyncDisabled)
	}
	c := newNode(t, Config{Log: newMemLog()})
	allowAll(a, b, c)
	connect(t, c, a)
	if err := c.SyncWith(ctx, a.ID()); err == nil {
		t.Error("sync with a peer without a log: got nil, want an error")
	}
	if err := c.SyncWith(ctx, peer.ID("stranger")); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("sync with a stranger: got %v, want %v", err, ErrNotAllowed)
	}
}

func TestJitter(t *testing.T) {
	const d = 40 * time.Second
	lo, hi := d, time.Duration(0)
	for range 2000 {
		j := jitter(d)
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo < d*3/4 || hi > d*5/4 {
		t.Errorf("jitter range: got [%v, %v], want within [%v, %v]", lo, hi, d*3/4, d*5/4)
	}
	if hi-lo < d/4 {
		t.Errorf("jitter spread: got %v, want at least %v", hi-lo, d/4)
	}
}

// slowLog is a memLog whose Deliver takes a while, so that sessions overlap.
type slowLog struct{ *memLog }

func (l slowLog) Deliver(from peer.ID, envs [][]byte) error {
	time.Sleep(100 * time.Millisecond)
	return l.memLog.Deliver(from, envs)
}

// pacedLog is a memLog whose Deliver takes d a batch.
type pacedLog struct {
	*memLog
	d time.Duration
}

func (l pacedLog) Deliver(from peer.ID, envs [][]byte) error {
	time.Sleep(l.d)
	return l.memLog.Deliver(from, envs)
}

// A node coming back to five peers that hold the same history runs at most
// maxInitiating sessions at once, and each session announces what the
// others are fetching as busy: one copy streams in, not five (nor two).
func TestReturningNodeBoundsItsSessions(t *testing.T) {
	const peers, n = 5, 2000
	lr := newMemLog()
	r := newNode(t, Config{Log: slowLog{lr}})
	var others []*Node
	for range peers {
		l := newMemLog()
		l.fill([]int{0}, n, 100)
		others = append(others, newNode(t, Config{Log: l}))
	}
	allowAll(append([]*Node{r}, others...)...)
	for _, o := range others {
		connect(t, r, o)
	}
	waitFor(t, "the returning node to hold the history", func() bool { return lr.len() == n })
	time.Sleep(2 * requestDelay) // the peers' own sessions, if any, have run
	// One copy, and a page or two of overlap at most.
	if got := lr.receivedCount(); got > n+2*MaxBatchEnvelopes {
		t.Fatalf("envelopes delivered, copies included: got %d, want at most about %d", got, n)
	}
	t.Logf("envelopes delivered, copies included: %d", lr.receivedCount())
}

// A session that fails before it has brought what it claimed hands the
// rest to the other peers at once: the peer the returning node fetches
// from goes away midway, and the history still arrives from another peer
// that had been told it was on its way, with no periodic sync to help.
func TestFailedSessionHandsOverItsClaim(t *testing.T) {
	const n = 4000
	lr := newMemLog()
	r := newNode(t, Config{Log: pacedLog{lr, 250 * time.Millisecond}, SyncEvery: time.Hour})
	var others []*Node
	for range 2 {
		l := newMemLog()
		l.fill([]int{0}, n, 100)
		others = append(others, newNode(t, Config{Log: l, SyncEvery: time.Hour}))
	}
	allowAll(append([]*Node{r}, others...)...)
	first, second := others[0], others[1]
	connect(t, r, first)
	waitFor(t, "the first pages from the first peer", func() bool { return lr.len() > 0 })
	connect(t, r, second)
	time.Sleep(2 * requestDelay) // the second peer's sessions found the history busy
	if got := lr.len(); got == n {
		t.Fatalf("the history arrived before the first peer went away; the test proves nothing")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the history from the second peer", func() bool { return lr.len() == n })
}

// stagedLog is a memLog that delivers in two stages and notes their order.
type stagedLog struct {
	*memLog
	mu       sync.Mutex
	overlap  int   // Prepare calls made while a batch prepared before was not yet applied
	prepared []int // batch numbers, in Prepare order
	applied  []int // batch numbers, in Apply order
}

type stagedBatch struct {
	n    int
	envs [][]byte
}

func (l *stagedLog) Prepare(from peer.ID, envs [][]byte) any {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.applied) < len(l.prepared) {
		l.overlap++
	}
	l.prepared = append(l.prepared, len(l.prepared))
	return stagedBatch{len(l.prepared) - 1, envs}
}

// nextWait is how long Apply waits for the next batch to be prepared: a
// session that runs the stages one after the other never prepares it, and
// the last batch of a session has none.
const nextWait = time.Second

// Apply waits for the next batch to be prepared (or nextWait) before it
// takes this one, so that stages that overlap are seen to, however slowly
// the batches come.
func (l *stagedLog) Apply(from peer.ID, prepared any) error {
	b := prepared.(stagedBatch)
	for deadline := time.Now().Add(nextWait); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		l.mu.Lock()
		next := len(l.prepared) > b.n+1
		l.mu.Unlock()
		if next {
			break
		}
	}
	err := l.memLog.Deliver(from, b.envs)
	l.mu.Lock()
	l.applied = append(l.applied, b.n)
	l.mu.Unlock()
	return err
}

// A StagedLog has each batch prepared while the one before is applied,
// applied in the order the batches came, and all applied when the session
// ends.
func TestStagedLogPipelines(t *testing.T) {
	const n = 2000
	la := newMemLog()
	la.fill([]int{0, 1}, n, 100)
	lb := &stagedLog{memLog: newMemLog()}
	a := newNode(t, Config{Log: la, SyncEvery: time.Hour})
	b := newNode(t, Config{Log: lb, SyncEvery: time.Hour})
	allowAll(a, b)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Connect(ctx, addrInfo(a)); err != nil {
		t.Fatal(err)
	}
	if err := b.SyncWith(ctx, a.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to hold both authors' envelopes", func() bool { return lb.len() == 2*n })
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if len(lb.applied) != len(lb.prepared) {
		t.Fatalf("%d batches prepared, %d applied", len(lb.prepared), len(lb.applied))
	}
	if !slices.IsSorted(lb.applied) {
		t.Fatalf("batches applied out of order: %v", lb.applied)
	}
	if len(lb.prepared) < 2*n/MaxBatchEnvelopes || lb.overlap == 0 {
		t.Fatalf("%d batches, %d prepared before the one before was applied; want the stages to overlap", len(lb.prepared), lb.overlap)
	}
}

// While a session brings an author's envelopes, Claimed says up to where;
// once it is over, nothing is claimed.
func TestClaimedWhileSessionRuns(t *testing.T) {
	const n = 3000
	lr := newMemLog()
	r := newNode(t, Config{Log: pacedLog{lr, 100 * time.Millisecond}, SyncEvery: time.Hour})
	lo := newMemLog()
	lo.fill([]int{0}, n, 100)
	o := newNode(t, Config{Log: lo, SyncEvery: time.Hour})
	allowAll(r, o)
	if got := r.Claimed(author(0)); got != 0 {
		t.Fatalf("Claimed before any session: got %d, want 0", got)
	}
	connect(t, r, o)
	waitFor(t, "the first pages", func() bool { return lr.len() > 0 })
	if got := r.Claimed(author(0)); lr.len() < n && got != n {
		t.Fatalf("Claimed during the session: got %d, want %d", got, n)
	}
	if got := r.Claimed(author(1)); got != 0 {
		t.Fatalf("Claimed of an author no one sends: got %d, want 0", got)
	}
	waitFor(t, "the history", func() bool { return lr.len() == n })
	waitFor(t, "the claim to end with the session", func() bool { return r.Claimed(author(0)) == 0 })
}
