package app

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-circles/hearth/p2p"
)

// BenchmarkDeliveryLatency compares, in one run and interleaved, the
// delivery latency of a post through the whole of Hearth (seal, sign,
// gossip, validate, open, verify, store, event) with a raw gossipsub
// message through nodes of the same host setup that do nothing else. Ten
// peers on loopback, fully connected; one op is one Hearth post and one raw
// message from the first peer until each of the nine others has it. The
// p50 and p99 are over deliveries (one message reaching one peer); the
// all- ratios are over the time until the last peer has it. base-seen is
// when the raw nodes' validators first see a message, before gossipsub
// forwards it and hands it to the subscription: the earliest a raw
// gossipsub application could have it.
func BenchmarkDeliveryLatency(b *testing.B) {
	const peers = 10
	ctx := context.Background()

	// Hearth: a circle of ten.
	members := make([]*testMember, peers)
	for i := range members {
		members[i] = newBenchMember(b)
	}
	id, err := members[0].h.CreateCircle(ctx, "bench", "m0")
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < peers; i++ {
		code, err := members[0].h.Invite(ctx, id, InviteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := members[i].h.Join(ctx, code, fmt.Sprintf("m%d", i)); err != nil {
			b.Fatal(err)
		}
		if err := members[i].h.AcceptGuidelines(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	got := make(chan string, 4*peers)
	for _, m := range members[1:] {
		ch, cancel := m.h.Subscribe()
		b.Cleanup(cancel)
		go func() {
			for ev := range ch {
				if ev.Kind == EventMessage && ev.Message != nil && ev.Message.Kind == "post" {
					got <- ev.Message.Text
				}
			}
		}()
	}
	// Warm up until every member has every member connected and the mesh
	// of the current epoch carries posts to all.
	deadline := time.Now().Add(60 * time.Second)
	for _, m := range members {
		for {
			ms, _ := m.h.Members(id)
			online := 0
			for _, x := range ms {
				if x.Online {
					online++
				}
			}
			if online == peers {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("mesh did not form: %d of %d online", online, peers)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	post := func(text string) []time.Duration {
		start := time.Now()
		if _, err := members[0].h.Post(ctx, id, PostOptions{Text: text}); err != nil {
			b.Fatal(err)
		}
		var each []time.Duration
		for n := 0; n < peers-1; {
			select {
			case s := <-got:
				if s == text {
					n++
					each = append(each, time.Since(start))
				}
			case <-time.After(20 * time.Second):
				b.Fatalf("post %q did not reach every member", text)
			}
		}
		return each
	}
	for i := range 20 {
		post(fmt.Sprintf("warm %d", i))
	}

	// Baseline: raw gossipsub on the same host setup.
	raw := make([]*p2p.Node, peers)
	rawGot := make(chan uint64, 4*peers)
	var seenMu sync.Mutex
	seenAt := map[uint64][]time.Time{}
	for i := range raw {
		key, _, _ := crypto.GenerateEd25519Key(nil)
		n, err := p2p.New(ctx, p2p.Config{
			Key:    key,
			Listen: DefaultListen, // the same host setup as a circle's node
			Validate: func(m p2p.Message) p2p.Verdict {
				if i > 0 { // the sender's validator sees its own
					seenMu.Lock()
					s := binary.BigEndian.Uint64(m.Data)
					seenAt[s] = append(seenAt[s], time.Now())
					seenMu.Unlock()
				}
				return p2p.Accept
			},
			Receive: func(m p2p.Message) {
				rawGot <- binary.BigEndian.Uint64(m.Data)
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close() })
		raw[i] = n
	}
	for _, n := range raw {
		for _, o := range raw {
			n.Allow(o.ID())
		}
		if err := n.Join("bench"); err != nil {
			b.Fatal(err)
		}
	}
	for i := range raw {
		for j := i + 1; j < peers; j++ {
			if err := raw[i].Connect(ctx, peer.AddrInfo{ID: raw[j].ID(), Addrs: raw[j].Addrs()}); err != nil {
				b.Fatal(err)
			}
		}
	}
	payload := make([]byte, 256)
	seq := uint64(0)
	publish := func() (each, seen []time.Duration) {
		seq++
		binary.BigEndian.PutUint64(payload, seq)
		start := time.Now()
		if err := raw[0].Publish(ctx, "bench", payload); err != nil {
			b.Fatal(err)
		}
		for n := 0; n < peers-1; {
			select {
			case s := <-rawGot:
				if s == seq {
					n++
					each = append(each, time.Since(start))
				}
			case <-time.After(20 * time.Second):
				b.Fatalf("raw message %d did not reach every node", seq)
			}
		}
		seenMu.Lock()
		for _, at := range seenAt[seq] {
			seen = append(seen, at.Sub(start))
		}
		delete(seenAt, seq)
		seenMu.Unlock()
		return each, seen
	}
	for range 20 {
		publish()
	}

	// Each delivery (a message reaching one member) is a sample; the time
	// until the last member has it is reported apart.
	var hearth, base, hearthAll, baseAll, baseSeen []time.Duration
	b.ResetTimer()
	// Writes the Hearth arm defers (group commit) are finished before the
	// raw arm is measured, so that they are not charged to it.
	settle := func() {
		for _, m := range members {
			c, _ := m.h.circle(id)
			c.flushPending()
		}
	}
	for i := range b.N {
		h := post(fmt.Sprintf("measured %d", i))
		hearth, hearthAll = append(hearth, h...), append(hearthAll, slices.Max(h))
		settle()
		r, seen := publish()
		base, baseAll = append(base, r...), append(baseAll, slices.Max(r))
		baseSeen = append(baseSeen, seen...)
	}
	b.StopTimer()
	q := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(hearth, 0.5), "p50-ms")
	b.ReportMetric(q(hearth, 0.99), "p99-ms")
	b.ReportMetric(q(base, 0.5), "base-p50-ms")
	b.ReportMetric(q(base, 0.99), "base-p99-ms")
	b.ReportMetric(q(hearth, 0.5)/q(base, 0.5), "p50-ratio")
	b.ReportMetric(q(baseSeen, 0.5), "base-seen-p50-ms")
	b.ReportMetric(q(hearth, 0.5)/q(baseSeen, 0.5), "seen-p50-ratio")
	b.ReportMetric(q(hearth, 0.99)/q(base, 0.99), "p99-ratio")
	b.ReportMetric(q(hearthAll, 0.5)/q(baseAll, 0.5), "all-p50-ratio")
	b.ReportMetric(q(hearthAll, 0.99)/q(baseAll, 0.99), "all-p99-ratio")
}

// newBenchMember is newMember for benchmarks.
func newBenchMember(b *testing.B) *testMember {
	b.Helper()
	v, err := CreateVaultWithParams(b.TempDir(), []byte(testPass), fastKDF)
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(v, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Online(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(); v.Close() })
	return &testMember{home: "", v: v, h: h}
}
