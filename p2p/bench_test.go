package p2p

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"
)

// BenchmarkPublishLatency measures publish-to-receive latency across ten
// nodes on loopback, all connected to each other, with a 256-byte payload:
// one op is one publish by node 0 until all nine others have received it.
// p50 and p99 are over every receipt. Sub-benchmarks compare the ways of
// running the validator; "inline-1" is what Hearth uses.
func BenchmarkPublishLatency(b *testing.B) {
	for _, bc := range []struct {
		name string
		tune gossipTuning
	}{
		{"inline-1", gossipTuning{}},
		{"inline-4", gossipTuning{workers: 4}},
		{"async", gossipTuning{async: true, workers: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchLatency(b, bc.tune) })
	}
}

func benchLatency(b *testing.B, tune gossipTuning) {
	const (
		topic = "bench"
		nodes = 10
	)
	type receipt struct {
		seq uint64
		at  time.Time
	}
	got := make(chan receipt, 4*nodes)
	var ns []*Node
	for range nodes {
		ns = append(ns, newNode(b, Config{
			tuning:   tune,
			Validate: func(m Message) Verdict { return Accept },
			Receive: func(m Message) {
				at := time.Now()
				got <- receipt{seq: binary.BigEndian.Uint64(m.Data), at: at}
			},
		}))
	}
	allowAll(ns...)
	for _, n := range ns {
		if err := n.Join(topic); err != nil {
			b.Fatal(err)
		}
	}
	for i := range ns {
		for j := i + 1; j < len(ns); j++ {
			connect(b, ns[i], ns[j])
		}
	}
	waitMesh(b, topic, nodes-1, ns...)

	payload := make([]byte, 256)
	lat := make([]time.Duration, 0, b.N*(nodes-1))
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		seq := uint64(i) + 1
		binary.BigEndian.PutUint64(payload, seq)
		start := time.Now()
		if err := ns[0].Publish(ctx, topic, payload); err != nil {
			b.Fatal(err)
		}
		for n := 0; n < nodes-1; {
			select {
			case r := <-got:
				if r.seq == seq {
					lat = append(lat, r.at.Sub(start))
					n++
				}
			case <-time.After(waitTimeout):
				b.Fatalf("message %d reached %d of %d nodes", seq, n, nodes-1)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
