package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/hearth-circles/hearth/app"
	cvault "github.com/hearth-circles/hearth/crypto/vault"
	"github.com/hearth-circles/hearth/p2p"
)

// benchKDF is the cheap key derivation of the bench's throwaway vaults; the
// cost of the real one is measured apart (kdf_ms).
var benchKDF = cvault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// benchPass is the passphrase of the bench's throwaway vaults.
const benchPass = "hearth bench throwaway vault"

// benchTopic is the baseline arm's gossip topic.
const benchTopic = "hearth-bench"

// benchPayload is the size of a measured message's text (Hearth) and data
// (baseline), so that both arms carry the same content.
const benchPayload = 256

type benchCmd struct {
	Peers        int     `default:"10" help:"Members of the circle, and nodes of the baseline." placeholder:"N"`
	Table        bool    `help:"Also print the figures as a table on stderr."`
	Seconds      float64 `default:"10" help:"Length of the steady phase, in seconds." placeholder:"S"`
	ColdMessages int     `name:"cold-messages" default:"100000" help:"Messages in the store opened for cold_open_ms." placeholder:"N"`

	Rate          int           `default:"100" hidden:"" help:"Messages a second in the steady phase, per arm."`
	Burst         int           `default:"2000" hidden:"" help:"Messages in the burst, per arm."`
	BurstWait     time.Duration `name:"burst-wait" default:"10s" hidden:"" help:"How long a burst may take to arrive."`
	Warm          int           `default:"20" hidden:"" help:"Warm-up messages per arm."`
	Catchup       int           `default:"10000" hidden:"" help:"Messages a returning member catches up on."`
	CatchupTrials int           `name:"catchup-trials" default:"3" hidden:"" help:"Catch-ups timed; the median is reported."`
	StepTime      float64       `name:"step-seconds" default:"2" hidden:"" help:"Length of each step of the rate search, in seconds."`
	MaxRate       int           `name:"max-rate" default:"3200" hidden:"" help:"Highest rate the rate search tries."`
	ServeBin      string        `name:"serve-bin" hidden:"" type:"existingfile" help:"The hearthd whose serve is measured (default: this program)."`
	ServeIdle     time.Duration `name:"serve-idle" default:"5s" hidden:"" help:"How long the measured serve idles before its memory is read."`
}

// firstRateStep is the rate search's first steady rate; each step doubles it.
const firstRateStep = 50

// rateGrace is how long, after a step of the rate search, its messages may
// take to reach every member.
const rateGrace = 5 * time.Second

func (c *benchCmd) Help() string {
	return `Measures Hearth against raw gossipsub in this one process, on loopback,
with no vault of yours involved: every member gets a throwaway vault (cheap
key derivation) in a temporary directory, removed at the end.

The Hearth arm is a circle of --peers members, each a real libp2p host,
created, invited and joined through the app package; a delivery is a post
reaching one member's event stream (sealed, signed, gossiped, validated,
opened, verified and stored on the way). The baseline arm is --peers
p2p nodes with the same host setup that accept every message and do nothing
else. The arms alternate in the steady phase: one second of posts at the
steady rate through Hearth, then one second of messages on the baseline, and
so on, so that each arm runs at the stated rate (not both at once, which
would load the machine with twice the rate) and both meet the same machine
conditions over the run.

Prints one JSON object on stdout:
  peers                       --peers
  messages_per_s              steady rate per arm
  steady_seconds              --seconds
  latency_p50_ms, latency_p99_ms
                              Hearth delivery latency (one post reaching one
                              member) in the steady phase, one sender
  baseline_latency_p50_ms, baseline_latency_p99_ms
                              the same for raw gossipsub
  latency_p50_ratio, latency_p99_ratio
                              Hearth over baseline
  baseline_seen_p50_ms, baseline_seen_p99_ms, latency_p50_ratio_to_seen
                              when the baseline's validators first see a
                              message, before gossipsub forwards it and hands
                              it to the subscription (the earliest a raw
                              gossipsub application could have it), and
                              Hearth's p50 over that p50
  alone_latency_p50_ms, alone_latency_p99_ms, baseline_alone_latency_p50_ms,
  baseline_alone_latency_p99_ms
                              the same in the CPU phases below, where each arm
                              runs alone at the same rate
  steady_delivered_pct, baseline_steady_delivered_pct
                              deliveries seen in the steady phase, of those due
  burst_messages              --burst messages posted at once by one member
  burst_delivered_pct, baseline_burst_delivered_pct
                              share of the burst's deliveries (every message to
                              every other member) within 10 s of the first
                              send, sending included
  burst_seconds, baseline_burst_seconds
                              time until the last delivery counted
  max_full_delivery_rate_per_s, baseline_max_full_delivery_rate_per_s
                              the rate search: each arm alone, one sender
                              steps up from 50 messages/s, doubling, for 2 s a
                              step; the highest rate at which every member got
                              every message within 5 s of the step's end (0:
                              not even the first step); a sender that cannot
                              keep up ends the search at the rate it achieved
  max_full_delivery_rate_ratio
                              Hearth over baseline
  cpu_us_per_delivery, baseline_cpu_us_per_delivery
                              process CPU time (getrusage) ÷ deliveries, over a
                              steady phase of half of --seconds where only that
                              arm runs (both arms' idle hosts are included)
  cpu_ratio                   Hearth over baseline
  idle_cpu_ms_per_s           process CPU a second with both arms connected
                              and idle, measured just before
  cpu_net_us_per_delivery, baseline_cpu_net_us_per_delivery, cpu_net_ratio
                              the same less the idle CPU of the phase's length
  cold_messages               --cold-messages
  cold_open_ms                unlock a vault whose circle holds that many posts
                              (cheap key derivation), load it, and read its
                              latest page of 50
  kdf_ms                      one key derivation with the default settings
  cold_open_with_kdf_ms       their sum: what a member waits at unlock
  cold_write_per_s            how fast the posts were written (offline, through
                              Hearth's own post path)
  catchup_trials              catch-ups timed (the same member goes offline,
                              misses the messages and comes back each time);
                              the catchup_ figures are of the one of median
                              rate, the baseline arm's hosts closed first
  catchup_min_envelopes_per_s, catchup_max_envelopes_per_s
                              the lowest and highest rate of the trials
  catchup_messages            messages posted while one member was offline
  catchup_settle_ms           how long the machine was given, once the members
                              online had the posts, to finish their writes
                              (until the process used under a tenth of a core
                              for a quarter second; 10 s at most)
  catchup_seconds             from that member coming back online (vault
                              already unlocked) until its store holds every
                              one of them
  catchup_connect_ms          of which: until the first member is connected
                              (the node starting and dialling)
  catchup_envelopes_per_s     messages fetched and applied a second, from the
                              first connection to the last message in
  catchup_total_per_s         catchup_messages ÷ catchup_seconds
  catchup_alloc_kb_per_envelope, catchup_gc_cycles
                              heap the whole process allocated during the
                              catch-up, per message, and the collections it
                              ran; the catch-up starts after a collection, as
                              each benchmark of go test does, so that where
                              the earlier phases left the collector does not
                              decide the figure
  peak_rss_mb                 peak resident memory of the process (getrusage)
  wall_seconds                the whole run

Tune --cold-messages down for a quick run; --table adds a readable table on
stderr.`
}

func (c *benchCmd) Validate() error {
	switch {
	case c.Peers < 2:
		return fmt.Errorf("--peers must be at least 2")
	case c.Seconds <= 0 || math.IsNaN(c.Seconds) || c.Seconds > 3600:
		return fmt.Errorf("--seconds must be between 0 and 3600")
	case c.ColdMessages < 1:
		return fmt.Errorf("--cold-messages must be at least 1")
	case c.Rate < 1 || c.Rate > 10000:
		return fmt.Errorf("--rate must be between 1 and 10000")
	case c.Burst < 1:
		return fmt.Errorf("--burst must be at least 1")
	case c.BurstWait <= 0:
		return fmt.Errorf("--burst-wait must be positive")
	case c.Warm < 0:
		return fmt.Errorf("--warm must not be negative")
	case c.Catchup < 1:
		return fmt.Errorf("--catchup must be at least 1")
	case c.CatchupTrials < 1 || c.CatchupTrials > 20:
		return fmt.Errorf("--catchup-trials must be between 1 and 20")
	case c.StepTime <= 0 || math.IsNaN(c.StepTime) || c.StepTime > 600:
		return fmt.Errorf("--step-seconds must be between 0 and 600")
	case c.ServeIdle < 0:
		return fmt.Errorf("--serve-idle must not be negative")
	case c.MaxRate < 1 || c.MaxRate > 100000:
		return fmt.Errorf("--max-rate must be between 1 and 100000")
	}
	return nil
}

// benchResult is the JSON the bench prints.
type benchResult struct {
	Peers        int     `json:"peers"`
	Rate         int     `json:"messages_per_s"`
	SteadySecond float64 `json:"steady_seconds"`

	LatencyP50     float64 `json:"latency_p50_ms"`
	LatencyP99     float64 `json:"latency_p99_ms"`
	BaseLatencyP50 float64 `json:"baseline_latency_p50_ms"`
	BaseLatencyP99 float64 `json:"baseline_latency_p99_ms"`
	LatencyP50Rat  float64 `json:"latency_p50_ratio"`
	LatencyP99Rat  float64 `json:"latency_p99_ratio"`
	SeenP50        float64 `json:"baseline_seen_p50_ms"`
	SeenP99        float64 `json:"baseline_seen_p99_ms"`
	SeenP50Rat     float64 `json:"latency_p50_ratio_to_seen"`
	AloneP50       float64 `json:"alone_latency_p50_ms"`
	AloneP99       float64 `json:"alone_latency_p99_ms"`
	BaseAloneP50   float64 `json:"baseline_alone_latency_p50_ms"`
	BaseAloneP99   float64 `json:"baseline_alone_latency_p99_ms"`
	SteadyPct      float64 `json:"steady_delivered_pct"`
	BaseSteadyPct  float64 `json:"baseline_steady_delivered_pct"`

	BurstMessages int     `json:"burst_messages"`
	BurstPct      float64 `json:"burst_delivered_pct"`
	BaseBurstPct  float64 `json:"baseline_burst_delivered_pct"`
	BurstSec      float64 `json:"burst_seconds"`
	BaseBurstSec  float64 `json:"baseline_burst_seconds"`

	MaxRate     float64 `json:"max_full_delivery_rate_per_s"`
	BaseMaxRate float64 `json:"baseline_max_full_delivery_rate_per_s"`
	MaxRateRat  float64 `json:"max_full_delivery_rate_ratio"`

	CPU        float64 `json:"cpu_us_per_delivery"`
	BaseCPU    float64 `json:"baseline_cpu_us_per_delivery"`
	CPURat     float64 `json:"cpu_ratio"`
	IdleCPU    float64 `json:"idle_cpu_ms_per_s"`
	NetCPU     float64 `json:"cpu_net_us_per_delivery"`
	BaseNetCPU float64 `json:"baseline_cpu_net_us_per_delivery"`
	NetCPURat  float64 `json:"cpu_net_ratio"`

	ColdMessages int     `json:"cold_messages"`
	ColdOpen     float64 `json:"cold_open_ms"`
	KDF          float64 `json:"kdf_ms"`
	ColdWithKDF  float64 `json:"cold_open_with_kdf_ms"`
	ColdWrite    float64 `json:"cold_write_per_s"`

	CatchupMessages int     `json:"catchup_messages"`
	CatchupSec      float64 `json:"catchup_seconds"`
	CatchupConnect  float64 `json:"catchup_connect_ms"`
	CatchupSettle   float64 `json:"catchup_settle_ms"`
	CatchupRate     float64 `json:"catchup_envelopes_per_s"`
	CatchupTotal    float64 `json:"catchup_total_per_s"`
	CatchupTrials   int     `json:"catchup_trials"`
	CatchupMinRate  float64 `json:"catchup_min_envelopes_per_s"`
	CatchupMaxRate  float64 `json:"catchup_max_envelopes_per_s"`
	CatchupAllocKB  float64 `json:"catchup_alloc_kb_per_envelope"`
	CatchupGCs      int     `json:"catchup_gc_cycles"`

	PeakRSS float64 `json:"peak_rss_mb"`
	// A real "hearthd serve" with one circle, in its own process: resident
	// memory after idling, and its peak (the key derivation's 64 MiB).
	ServeIdleRSS float64 `json:"serve_idle_rss_mb,omitempty"`
	ServePeakRSS float64 `json:"serve_peak_rss_mb,omitempty"`
	Wall         float64 `json:"wall_seconds"`
}

func (c *benchCmd) Run(ctx context.Context, e *env) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "hearthd-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)

	r := benchResult{
		Peers: c.Peers, Rate: c.Rate, SteadySecond: c.Seconds, BurstMessages: c.Burst,
		ColdMessages: c.ColdMessages, CatchupMessages: c.Catchup,
	}
	if err := c.runNetwork(ctx, dir, &r); err != nil {
		return err
	}
	if err := c.runCold(ctx, dir, &r); err != nil {
		return err
	}
	switch idle, peak, err := serveMemory(ctx, dir, c.ServeBin, c.ServeIdle); {
	case errors.Is(err, errNoProc):
	case err != nil:
		return fmt.Errorf("bench: serve memory: %w", err)
	default:
		r.ServeIdleRSS, r.ServePeakRSS = idle, peak
	}
	_, maxRSS, err := processUsage()
	if err != nil {
		return fmt.Errorf("bench: resource usage: %w", err)
	}
	r.PeakRSS = round(float64(maxRSS) / (1 << 20))
	r.Wall = round(time.Since(start).Seconds())

	if c.Table {
		if err := writeBenchTable(e.stderr, &r); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(e.stdout)
	return enc.Encode(&r)
}

// tracker matches deliveries to the time their message was sent. Keys not
// sent in the current phase (late arrivals of an earlier one) are ignored,
// and so are deliveries after the phase's cutoff, if it has one.
type tracker struct {
	mu     sync.Mutex
	sent   map[string]time.Time
	lat    []time.Duration
	n      int
	last   time.Time
	cutoff time.Time
}

func newTracker() *tracker {
	return &tracker{sent: map[string]time.Time{}}
}

func (t *tracker) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.sent)
	t.lat, t.n, t.last, t.cutoff = nil, 0, time.Time{}, time.Time{}
}

// setCutoff makes deliveries after at not count in the current phase.
func (t *tracker) setCutoff(at time.Time) {
	t.mu.Lock()
	t.cutoff = at
	t.mu.Unlock()
}

func (t *tracker) send(key string, at time.Time) {
	t.mu.Lock()
	t.sent[key] = at
	t.mu.Unlock()
}

func (t *tracker) deliver(key string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sent[key]
	if !ok || (!t.cutoff.IsZero() && at.After(t.cutoff)) {
		return
	}
	t.lat = append(t.lat, at.Sub(s))
	t.n++
	t.last = at
}

// count returns the deliveries of the current phase and when the last came.
func (t *tracker) count() (int, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n, t.last
}

func (t *tracker) latencies() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.lat)
}

// waitFor polls until the current phase has want deliveries, ctx ends or
// the deadline passes; it reports whether all arrived.
func (t *tracker) waitFor(ctx context.Context, want int, deadline time.Time) bool {
	for {
		if n, _ := t.count(); n >= want {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// keyOf takes the message key from a measured text or payload: the part
// before the first space.
func keyOf(s string) string {
	k, _, _ := strings.Cut(s, " ")
	return k
}

// benchText is a measured message: its key, padded to benchPayload bytes.
func benchText(key string) string {
	return key + " " + strings.Repeat("x", max(0, benchPayload-len(key)-1))
}

// arm is one side of the comparison: a sender and the tracker its receivers
// report to. The baseline also tracks when its validators first see a
// message (seen).
type arm struct {
	tr   *tracker
	seen *tracker
	send func(ctx context.Context, key string) error
}

func (a *arm) post(ctx context.Context, key string) error {
	now := time.Now()
	a.tr.send(key, now)
	if a.seen != nil {
		a.seen.send(key, now)
	}
	return a.send(ctx, key)
}

func (a *arm) reset() {
	a.tr.reset()
	if a.seen != nil {
		a.seen.reset()
	}
}

// runNetwork builds both arms and runs the steady, CPU and burst phases.
func (c *benchCmd) runNetwork(ctx context.Context, dir string, r *benchResult) (err error) {
	var wg sync.WaitGroup
	var closers []func() error
	defer func() {
		for _, f := range slices.Backward(closers) {
			err = errors.Join(err, f())
		}
		wg.Wait()
	}()

	// The Hearth arm: a circle of c.Peers members.
	hearths := make([]*app.Hearth, c.Peers)
	vaults := make([]*app.Vault, c.Peers)
	for i := range hearths {
		v, err := app.CreateVaultWithParams(fmt.Sprintf("%s/member%d", dir, i), []byte(benchPass), benchKDF)
		if err != nil {
			return fmt.Errorf("bench: create vault: %w", err)
		}
		closers = append(closers, v.Close)
		vaults[i] = v
		h, err := app.New(v, app.Options{Listen: app.DefaultListen})
		if err != nil {
			return fmt.Errorf("bench: start: %w", err)
		}
		closers = append(closers, h.Close)
		if err := h.Online(ctx); err != nil {
			return fmt.Errorf("bench: online: %w", err)
		}
		hearths[i] = h
	}
	id, err := hearths[0].CreateCircle(ctx, "bench", "m0")
	if err != nil {
		return fmt.Errorf("bench: create circle: %w", err)
	}
	for i := 1; i < c.Peers; i++ {
		code, err := hearths[0].Invite(ctx, id, app.InviteOptions{})
		if err != nil {
			return fmt.Errorf("bench: invite: %w", err)
		}
		if _, err := hearths[i].Join(ctx, code, fmt.Sprintf("m%d", i)); err != nil {
			return fmt.Errorf("bench: join: %w", err)
		}
	}
	hearthArm := &arm{tr: newTracker()}
	hearthArm.send = func(ctx context.Context, key string) error {
		_, err := hearths[0].Post(ctx, id, app.PostOptions{Text: benchText(key)})
		return err
	}
	for _, h := range hearths[1:] {
		ch, cancel := h.Subscribe()
		closers = append(closers, func() error { cancel(); return nil })
		wg.Go(func() {
			for ev := range ch {
				if ev.Kind == app.EventMessage && ev.Message != nil && ev.Message.Kind == "post" {
					hearthArm.tr.deliver(keyOf(ev.Message.Text), time.Now())
				}
			}
		})
	}

	// The baseline arm: raw gossipsub on the same host setup.
	baseArm := &arm{tr: newTracker(), seen: newTracker()}
	nodes := make([]*p2p.Node, c.Peers)
	for i := range nodes {
		key, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			return fmt.Errorf("bench: key: %w", err)
		}
		n, err := p2p.New(ctx, p2p.Config{
			Key:    key,
			Listen: app.DefaultListen,
			// The first node sends, and its validator sees its own
			// messages: only the others' count.
			Validate: func(m p2p.Message) p2p.Verdict {
				if i > 0 {
					baseArm.seen.deliver(keyOf(string(m.Data)), time.Now())
				}
				return p2p.Accept
			},
			Receive: func(m p2p.Message) {
				baseArm.tr.deliver(keyOf(string(m.Data)), time.Now())
			},
		})
		if err != nil {
			return fmt.Errorf("bench: baseline node: %w", err)
		}
		closers = append(closers, n.Close)
		nodes[i] = n
	}
	for _, n := range nodes {
		for _, o := range nodes {
			n.Allow(o.ID())
		}
		if err := n.Join(benchTopic); err != nil {
			return fmt.Errorf("bench: baseline join: %w", err)
		}
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			if err := nodes[i].Connect(ctx, peer.AddrInfo{ID: nodes[j].ID(), Addrs: nodes[j].Addrs()}); err != nil {
				return fmt.Errorf("bench: baseline connect: %w", err)
			}
		}
	}
	baseArm.send = func(ctx context.Context, key string) error {
		return nodes[0].Publish(ctx, benchTopic, []byte(benchText(key)))
	}

	// Warm up: every member sees every other online, then messages reach
	// everyone on both arms.
	if err := waitOnline(ctx, hearths, id); err != nil {
		return err
	}
	others := c.Peers - 1
	for _, a := range []*arm{hearthArm, baseArm} {
		for i := range c.Warm {
			a.reset()
			if err := a.post(ctx, fmt.Sprintf("w%d", i)); err != nil {
				return fmt.Errorf("bench: warm-up: %w", err)
			}
			if !a.tr.waitFor(ctx, others, time.Now().Add(20*time.Second)) {
				return errors.New("bench: warm-up message did not reach every peer within 20 s")
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// Steady phase, the arms alternating second by second.
	ticks := max(1, int(c.Seconds*float64(c.Rate)))
	if err := c.steadyWindows(ctx, "s", ticks, hearthArm, baseArm); err != nil {
		return err
	}
	hl, bl := hearthArm.tr.latencies(), baseArm.tr.latencies()
	if len(hl) == 0 || len(bl) == 0 {
		return errors.New("bench: no deliveries in the steady phase")
	}
	r.LatencyP50, r.LatencyP99 = quantileMs(hl, 0.5), quantileMs(hl, 0.99)
	r.BaseLatencyP50, r.BaseLatencyP99 = quantileMs(bl, 0.5), quantileMs(bl, 0.99)
	if sl := baseArm.seen.latencies(); len(sl) > 0 {
		r.SeenP50, r.SeenP99 = quantileMs(sl, 0.5), quantileMs(sl, 0.99)
		r.SeenP50Rat = ratio(r.LatencyP50, r.SeenP50)
	}
	r.LatencyP50Rat = ratio(r.LatencyP50, r.BaseLatencyP50)
	r.LatencyP99Rat = ratio(r.LatencyP99, r.BaseLatencyP99)
	r.SteadyPct = pct(len(hl), ticks*others)
	r.BaseSteadyPct = pct(len(bl), ticks*others)

	// CPU: the process idle, then each arm alone, for half the steady
	// phase each.
	cpuTicks := max(1, ticks/2)
	cpuSpan := time.Duration(cpuTicks) * time.Second / time.Duration(c.Rate)
	idle0, _, err := processUsage()
	if err != nil {
		return fmt.Errorf("bench: resource usage: %w", err)
	}
	idleStart := time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(cpuSpan):
	}
	idle1, _, err := processUsage()
	if err != nil {
		return fmt.Errorf("bench: resource usage: %w", err)
	}
	idlePerS := float64((idle1 - idle0).Microseconds()) / time.Since(idleStart).Seconds() // µs of CPU a second
	r.IdleCPU = round(idlePerS / 1000)
	for _, x := range []struct {
		a             *arm
		out, net      *float64
		aloneP50, p99 *float64
	}{
		{hearthArm, &r.CPU, &r.NetCPU, &r.AloneP50, &r.AloneP99},
		{baseArm, &r.BaseCPU, &r.BaseNetCPU, &r.BaseAloneP50, &r.BaseAloneP99},
	} {
		cpu0, _, err := processUsage()
		if err != nil {
			return fmt.Errorf("bench: resource usage: %w", err)
		}
		start := time.Now()
		if err := c.steady(ctx, "c", cpuTicks, x.a); err != nil {
			return err
		}
		cpu1, _, err := processUsage()
		if err != nil {
			return fmt.Errorf("bench: resource usage: %w", err)
		}
		span := time.Since(start).Seconds()
		n, _ := x.a.tr.count()
		if n == 0 {
			return errors.New("bench: no deliveries in the cpu phase")
		}
		used := float64((cpu1 - cpu0).Microseconds())
		*x.out = round(used / float64(n))
		*x.net = round(max(0, used-idlePerS*span) / float64(n))
		lat := x.a.tr.latencies()
		*x.aloneP50, *x.p99 = quantileMs(lat, 0.5), quantileMs(lat, 0.99)
	}
	r.CPURat = ratio(r.CPU, r.BaseCPU)
	r.NetCPURat = ratio(r.NetCPU, r.BaseNetCPU)

	// Burst: c.Burst messages at once from one member, each arm in turn.
	for _, x := range []struct {
		a        *arm
		pct, sec *float64
	}{{hearthArm, &r.BurstPct, &r.BurstSec}, {baseArm, &r.BaseBurstPct, &r.BaseBurstSec}} {
		x.a.reset()
		start := time.Now()
		deadline := start.Add(c.BurstWait)
		x.a.tr.setCutoff(deadline)
		for i := range c.Burst {
			if err := x.a.post(ctx, fmt.Sprintf("b%d", i)); err != nil {
				return fmt.Errorf("bench: burst: %w", err)
			}
		}
		want := c.Burst * others
		x.a.tr.waitFor(ctx, want, deadline)
		if err := ctx.Err(); err != nil {
			return err
		}
		n, last := x.a.tr.count()
		*x.pct = pct(n, want)
		if n > 0 {
			*x.sec = round(last.Sub(start).Seconds())
		}
		time.Sleep(settleTime) // let the Hearth arm's writes finish
	}

	// The rate search, each arm alone.
	for _, x := range []struct {
		a   *arm
		out *float64
	}{{hearthArm, &r.MaxRate}, {baseArm, &r.BaseMaxRate}} {
		best, err := c.maxFullRate(ctx, x.a)
		if err != nil {
			return err
		}
		*x.out = best
	}
	r.MaxRateRat = ratio(r.MaxRate, r.BaseMaxRate)

	// Catch-up is Hearth's alone: the baseline arm's hosts are closed
	// first, so that their idle work is not timed with it.
	for _, n := range nodes {
		if err := n.Close(); err != nil {
			return fmt.Errorf("bench: close a baseline node: %w", err)
		}
	}
	return c.catchup(ctx, hearths, vaults, id, &closers, r)
}

// catchup times c.CatchupTrials catch-ups of the last member (see
// catchupOnce) and reports the one of median rate, with the lowest and
// highest beside it: on a busy two-core machine one catch-up's rate moves
// by a tenth either way from run to run. What it opens is added to closers.
func (c *benchCmd) catchup(ctx context.Context, hearths []*app.Hearth, vaults []*app.Vault, id app.CircleID, closers *[]func() error, r *benchResult) error {
	k := len(hearths) - 1
	trials := make([]catchupTrial, 0, c.CatchupTrials)
	for t := range c.CatchupTrials {
		tr, h, v, err := c.catchupOnce(ctx, hearths, vaults, k, id, fmt.Sprintf("k%d-", t), closers)
		if err != nil {
			return err
		}
		hearths[k], vaults[k] = h, v
		trials = append(trials, tr)
	}
	slices.SortFunc(trials, func(a, b catchupTrial) int { return cmp.Compare(a.rate, b.rate) })
	m := trials[len(trials)/2]
	r.CatchupTrials = len(trials)
	r.CatchupRate, r.CatchupMinRate, r.CatchupMaxRate = m.rate, trials[0].rate, trials[len(trials)-1].rate
	r.CatchupSec, r.CatchupTotal, r.CatchupConnect, r.CatchupSettle = m.sec, m.total, m.connect, m.settle
	r.CatchupAllocKB, r.CatchupGCs = m.allocKB, m.gcs
	return nil
}

// catchupTrial is one timed catch-up.
type catchupTrial struct {
	rate, sec, total, connect, settle, allocKB float64
	gcs                                        int
}

// catchupOnce takes member k offline, posts c.Catchup messages from the
// first (their keys start with prefix), brings k back and times until its
// history holds the last of them. Sync sends each author's records in
// order, so the last one present means all are. It returns member k as it
// runs again.
func (c *benchCmd) catchupOnce(ctx context.Context, hearths []*app.Hearth, vaults []*app.Vault, k int, id app.CircleID, prefix string, closers *[]func() error) (tr catchupTrial, _ *app.Hearth, _ *app.Vault, err error) {
	home := vaults[k].Home()
	if err := errors.Join(hearths[k].Close(), vaults[k].Close()); err != nil {
		return tr, nil, nil, fmt.Errorf("bench: take a member offline: %w", err)
	}
	last := ""
	for i := range c.Catchup {
		last = fmt.Sprintf("%s%d", prefix, i)
		if _, err := hearths[0].Post(ctx, id, app.PostOptions{Text: benchText(last)}); err != nil {
			return tr, nil, nil, fmt.Errorf("bench: catch-up posts: %w", err)
		}
	}
	// The members online take the posts in first, so that the returning
	// member's catch-up is timed on a machine that is otherwise idle.
	for _, h := range hearths[:k] {
		if err := waitForPost(ctx, h, id, last, 120*time.Second); err != nil {
			return tr, nil, nil, err
		}
	}
	tr.settle = ms(waitQuiet(ctx, 10*time.Second))
	author, want, err := posterMark(hearths[0], vaults[0], id)
	if err != nil {
		return tr, nil, nil, err
	}

	v, err := app.UnlockVault(home, []byte(benchPass))
	if err != nil {
		return tr, nil, nil, fmt.Errorf("bench: unlock: %w", err)
	}
	*closers = append(*closers, v.Close)
	h, err := app.New(v, app.Options{Listen: app.DefaultListen})
	if err != nil {
		return tr, nil, nil, fmt.Errorf("bench: start: %w", err)
	}
	*closers = append(*closers, h.Close)
	// The first connection to a member ends reconnecting; catch-up runs
	// from there.
	events, stop := h.Subscribe()
	defer stop()
	firstIn := make(chan time.Time, 1)
	go func() {
		for ev := range events {
			if ev.Kind == app.EventConnection && ev.Circle == id {
				firstIn <- time.Now()
				return
			}
		}
	}()
	// The bench's earlier phases leave the heap of ten members where they
	// left it: whether the collector's next cycle falls inside the timed
	// window would decide the figure by a fifth or more. So the catch-up
	// starts after a collection, as each benchmark of go test does, and
	// what it allocates (and the collections it causes) is reported.
	runtime.GC()
	allocs0, cycles0 := heapCounters()
	start := time.Now()
	if err := h.Online(ctx); err != nil {
		return tr, nil, nil, fmt.Errorf("bench: online: %w", err)
	}
	// Done when every one of the poster's records is stored: the last post
	// alone can come early, through gossip's recent-message exchange.
	if err := waitForMark(ctx, v, id, author, want, 120*time.Second); err != nil {
		return tr, nil, nil, err
	}
	took := time.Since(start)
	end := start.Add(took)
	allocs1, cycles1 := heapCounters()
	tr.allocKB = round(float64(allocs1-allocs0) / 1024 / float64(c.Catchup))
	tr.gcs = int(cycles1 - cycles0)
	tr.sec = round(took.Seconds())
	tr.total = round(float64(c.Catchup) / took.Seconds())
	tr.rate = tr.total
	select {
	case first := <-firstIn:
		tr.connect = ms(first.Sub(start))
		if applying := end.Sub(first); applying > 0 {
			tr.rate = round(float64(c.Catchup) / applying.Seconds())
		}
	default: // no event seen: count the whole time
	}
	return tr, h, v, nil
}

// heapCounters returns the bytes the process has allocated on the heap and
// the garbage collections it has completed, since it started.
func heapCounters() (allocs, cycles uint64) {
	m := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(m)
	if m[0].Value.Kind() == metrics.KindUint64 {
		allocs = m[0].Value.Uint64()
	}
	if m[1].Value.Kind() == metrics.KindUint64 {
		cycles = m[1].Value.Uint64()
	}
	return allocs, cycles
}

// waitForPost polls h's latest messages until the post with key is among
// them.
func waitForPost(ctx context.Context, h *app.Hearth, id app.CircleID, key string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		page, err := h.History(id, "", 5)
		if err != nil {
			return fmt.Errorf("bench: history: %w", err)
		}
		if slices.ContainsFunc(page, func(m app.Message) bool { return keyOf(m.Text) == key }) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: post %s did not arrive within %v", key, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// posterMark is the member id of h in circle id and its high-water mark
// in its own store: the last of its records.
func posterMark(h *app.Hearth, v *app.Vault, id app.CircleID) (app.MemberID, uint64, error) {
	ms, err := h.Members(id)
	if err != nil {
		return app.MemberID{}, 0, fmt.Errorf("bench: members: %w", err)
	}
	for _, m := range ms {
		if m.Self {
			marks, err := v.Store().HighWater([16]byte(id))
			if err != nil {
				return app.MemberID{}, 0, fmt.Errorf("bench: high-water marks: %w", err)
			}
			return m.ID, marks[[16]byte(m.ID)], nil
		}
	}
	return app.MemberID{}, 0, errors.New("bench: the poster is not in its circle")
}

// waitForMark polls v's store until it holds every record of author up to
// seq.
func waitForMark(ctx context.Context, v *app.Vault, id app.CircleID, author app.MemberID, seq uint64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		marks, err := v.Store().HighWater([16]byte(id))
		if err != nil {
			return fmt.Errorf("bench: high-water marks: %w", err)
		}
		if marks[[16]byte(author)] >= seq {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: a returning member did not catch up within %v (%d of %d)", within, marks[[16]byte(author)], seq)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// waitQuiet waits until the process has used less than a tenth of a core
// over a quarter of a second (its idle hosts use less), so that the writes,
// memtable flushes and compactions the phases before left running are
// done, or until within has passed. It returns how long it waited.
func waitQuiet(ctx context.Context, within time.Duration) time.Duration {
	const span = 250 * time.Millisecond
	start := time.Now()
	prev, _, err := processUsage()
	for err == nil && time.Since(start) < within {
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-time.After(span):
		}
		var cur time.Duration
		if cur, _, err = processUsage(); err == nil && cur-prev < span/10 {
			break
		}
		prev = cur
	}
	return time.Since(start)
}

// settleTime is how long the Hearth arm's deferred writes (a group commit
// of a few milliseconds) are given before the other arm is timed.
const settleTime = 20 * time.Millisecond

// maxFullRate steps one arm's steady rate up from firstRateStep, doubling,
// for c.StepTime seconds a step, and returns the highest rate at which every
// other member got every message within rateGrace of the step's end (0 if
// the first step already missed one).
//
// A sender slower than the step's rate sends late rather than skipping: the
// rate of a step is then what it achieved (messages over the time taken to
// send them), and the search ends there.
func (c *benchCmd) maxFullRate(ctx context.Context, a *arm) (float64, error) {
	best := 0.0
	for rate := firstRateStep; rate <= c.MaxRate; rate *= 2 {
		ticks := max(1, int(c.StepTime*float64(rate)))
		span, err := c.steadyAt(ctx, fmt.Sprintf("r%d-", rate), rate, ticks, rateGrace, a)
		if err != nil {
			return 0, err
		}
		achieved := min(float64(rate), float64(ticks)/span.Seconds())
		if n, _ := a.tr.count(); n < ticks*(c.Peers-1) {
			// Let the failed step's backlog drain before the next phase.
			select {
			case <-ctx.Done():
			case <-time.After(rateGrace):
			}
			break
		}
		best = max(best, math.Round(achieved))
		if achieved < 0.9*float64(rate) {
			break // the sender cannot keep up: faster steps send no faster
		}
	}
	return best, ctx.Err()
}

// steady sends ticks messages on each arm at c.Rate a second, the arms
// spaced evenly within each tick, then waits for stragglers (at most 5 s).
func (c *benchCmd) steady(ctx context.Context, prefix string, ticks int, arms ...*arm) error {
	_, err := c.steadyAt(ctx, prefix, c.Rate, ticks, 5*time.Second, arms...)
	return err
}

// steadyWindows sends ticks messages on each arm at c.Rate a second, the
// arms taking turns a second at a time, then waits for stragglers (at most
// 5 s). The deliveries of every window count.
func (c *benchCmd) steadyWindows(ctx context.Context, prefix string, ticks int, arms ...*arm) error {
	for _, a := range arms {
		a.reset()
	}
	window := max(1, c.Rate) // ticks in one second
	period := time.Second / time.Duration(c.Rate)
	start := time.Now()
	at := start
	for first := 0; first < ticks; first += window {
		for _, a := range arms {
			for i := first; i < min(first+window, ticks); i++ {
				if d := time.Until(at); d > 0 {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(d):
					}
				}
				if err := a.post(ctx, fmt.Sprintf("%s%d", prefix, i)); err != nil {
					return fmt.Errorf("bench: steady phase: %w", err)
				}
				at = at.Add(period)
			}
		}
	}
	want := ticks * (c.Peers - 1)
	deadline := time.Now().Add(5 * time.Second)
	for _, a := range arms {
		a.tr.waitFor(ctx, want, deadline)
	}
	time.Sleep(settleTime)
	return ctx.Err()
}

// steadyAt is steady at a given rate, waiting at most grace for stragglers;
// it returns how long the sending took.
func (c *benchCmd) steadyAt(ctx context.Context, prefix string, rate, ticks int, grace time.Duration, arms ...*arm) (time.Duration, error) {
	for _, a := range arms {
		a.reset()
	}
	period := time.Second / time.Duration(rate)
	slot := period / time.Duration(len(arms))
	start := time.Now()
	for i := range ticks {
		for j, a := range arms {
			at := start.Add(time.Duration(i)*period + time.Duration(j)*slot)
			if d := time.Until(at); d > 0 {
				select {
				case <-ctx.Done():
					return 0, ctx.Err()
				case <-time.After(d):
				}
			}
			if err := a.post(ctx, fmt.Sprintf("%s%d", prefix, i)); err != nil {
				return 0, fmt.Errorf("bench: steady phase: %w", err)
			}
		}
	}
	span := time.Since(start)
	want := ticks * (c.Peers - 1)
	deadline := time.Now().Add(grace)
	for _, a := range arms {
		a.tr.waitFor(ctx, want, deadline)
	}
	time.Sleep(settleTime)
	return span, ctx.Err()
}

// waitOnline waits until every member sees every member online.
func waitOnline(ctx context.Context, hearths []*app.Hearth, id app.CircleID) error {
	deadline := time.Now().Add(60 * time.Second)
	for _, h := range hearths {
		for {
			ms, err := h.Members(id)
			if err != nil {
				return fmt.Errorf("bench: members: %w", err)
			}
			online := 0
			for _, m := range ms {
				if m.Online {
					online++
				}
			}
			if online == len(hearths) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: circle did not connect within 60 s: %d of %d online", online, len(hearths))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// runCold writes c.ColdMessages posts into a fresh vault offline, closes it
// and times opening it to its latest page. The posts go through Hearth's
// own post path (sealed, signed and stored as a member's own posts are), so
// the store holds exactly what a real one would.
func (c *benchCmd) runCold(ctx context.Context, dir string, r *benchResult) (err error) {
	home := dir + "/cold"
	v, err := app.CreateVaultWithParams(home, []byte(benchPass), benchKDF)
	if err != nil {
		return fmt.Errorf("bench: create vault: %w", err)
	}
	h, err := app.New(v, app.Options{})
	if err != nil {
		v.Close()
		return fmt.Errorf("bench: start: %w", err)
	}
	id, err := h.CreateCircle(ctx, "cold", "m0")
	start := time.Now()
	for i := 0; err == nil && i < c.ColdMessages; i++ {
		if i%1024 == 0 {
			err = ctx.Err()
		}
		if err == nil {
			_, err = h.Post(ctx, id, app.PostOptions{Text: benchText(fmt.Sprintf("c%d", i))})
		}
	}
	written := time.Since(start)
	err = errors.Join(err, h.Close(), v.Close())
	if err != nil {
		return fmt.Errorf("bench: write the cold store: %w", err)
	}
	r.ColdWrite = round(float64(c.ColdMessages) / written.Seconds())

	start = time.Now()
	v, err = app.UnlockVault(home, []byte(benchPass))
	if err != nil {
		return fmt.Errorf("bench: unlock: %w", err)
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	h, err = app.New(v, app.Options{})
	if err != nil {
		return fmt.Errorf("bench: start: %w", err)
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	page, err := h.History(id, "", 50)
	if err != nil {
		return fmt.Errorf("bench: history: %w", err)
	}
	r.ColdOpen = ms(time.Since(start))
	if want := min(50, c.ColdMessages); len(page) < want {
		return fmt.Errorf("bench: latest page holds %d messages, want at least %d", len(page), want)
	}

	header, _, err := cvault.New([]byte(benchPass), cvault.DefaultParams)
	if err != nil {
		return fmt.Errorf("bench: kdf: %w", err)
	}
	start = time.Now()
	if _, err := cvault.Open(header, []byte(benchPass)); err != nil {
		return fmt.Errorf("bench: kdf: %w", err)
	}
	r.KDF = ms(time.Since(start))
	r.ColdWithKDF = round(r.ColdOpen + r.KDF)
	return nil
}

// quantileMs is the p-quantile of ds (nearest rank below) in milliseconds.
func quantileMs(ds []time.Duration, p float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return ms(s[int(p*float64(len(s)-1))])
}

func ms(d time.Duration) float64 { return round(float64(d.Microseconds()) / 1000) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return round(a / b)
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return round(100 * float64(n) / float64(of))
}

// round keeps three decimals.
func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// writeBenchTable prints the figures side by side.
func writeBenchTable(w io.Writer, r *benchResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d peers, loopback\tHearth\traw gossipsub\tratio\t\n", r.Peers)
	fmt.Fprintf(tw, "latency p50 (ms)\t%.3f\t%.3f\t%.2f\t\n", r.LatencyP50, r.BaseLatencyP50, r.LatencyP50Rat)
	fmt.Fprintf(tw, "latency p99 (ms)\t%.3f\t%.3f\t%.2f\t\n", r.LatencyP99, r.BaseLatencyP99, r.LatencyP99Rat)
	fmt.Fprintf(tw, "raw, first seen: p50 (ms)\t\t%.3f\t%.2f\t\n", r.SeenP50, r.SeenP50Rat)
	fmt.Fprintf(tw, "raw, first seen: p99 (ms)\t\t%.3f\t\t\n", r.SeenP99)
	fmt.Fprintf(tw, "latency p50 alone (ms)\t%.3f\t%.3f\t%.2f\t\n", r.AloneP50, r.BaseAloneP50, ratio(r.AloneP50, r.BaseAloneP50))
	fmt.Fprintf(tw, "latency p99 alone (ms)\t%.3f\t%.3f\t%.2f\t\n", r.AloneP99, r.BaseAloneP99, ratio(r.AloneP99, r.BaseAloneP99))
	fmt.Fprintf(tw, "steady delivered (%%)\t%.1f\t%.1f\t\t\n", r.SteadyPct, r.BaseSteadyPct)
	fmt.Fprintf(tw, "burst of %d delivered (%%)\t%.1f\t%.1f\t\t\n", r.BurstMessages, r.BurstPct, r.BaseBurstPct)
	fmt.Fprintf(tw, "burst last delivery (s)\t%.3f\t%.3f\t\t\n", r.BurstSec, r.BaseBurstSec)
	fmt.Fprintf(tw, "max full delivery rate (/s)\t%.0f\t%.0f\t%.2f\t\n", r.MaxRate, r.BaseMaxRate, r.MaxRateRat)
	fmt.Fprintf(tw, "cpu per delivery (µs)\t%.1f\t%.1f\t%.2f\t\n", r.CPU, r.BaseCPU, r.CPURat)
	fmt.Fprintf(tw, "  less idle (µs)\t%.1f\t%.1f\t%.2f\t\n", r.NetCPU, r.BaseNetCPU, r.NetCPURat)
	fmt.Fprintf(tw, "idle cpu (ms/s)\t%.1f\t\t\t\n", r.IdleCPU)
	fmt.Fprintf(tw, "cold open, %d msgs (ms)\t%.3f\t\t\t\n", r.ColdMessages, r.ColdOpen)
	fmt.Fprintf(tw, "key derivation (ms)\t%.3f\t\t\t\n", r.KDF)
	fmt.Fprintf(tw, "catch-up of %d (envelopes/s)\t%.0f\t\t\t\n", r.CatchupMessages, r.CatchupRate)
	fmt.Fprintf(tw, "  median of %d; lowest, highest\t%.0f, %.0f\t\t\t\n", r.CatchupTrials, r.CatchupMinRate, r.CatchupMaxRate)
	fmt.Fprintf(tw, "  reconnecting first (ms)\t%.0f\t\t\t\n", r.CatchupConnect)
	fmt.Fprintf(tw, "  all told (envelopes/s)\t%.0f\t\t\t\n", r.CatchupTotal)
	fmt.Fprintf(tw, "  heap allocated (KiB/envelope)\t%.1f\t\t\t\n", r.CatchupAllocKB)
	fmt.Fprintf(tw, "  garbage collections\t%d\t\t\t\n", r.CatchupGCs)
	fmt.Fprintf(tw, "peak rss (MB)\t%.1f\t\t\t\n", r.PeakRSS)
	fmt.Fprintf(tw, "serve, one circle, idle rss (MB)\t%.1f\t\t\t\n", r.ServeIdleRSS)
	fmt.Fprintf(tw, "serve, one circle, peak rss (MB)\t%.1f\t\t\t\n", r.ServePeakRSS)
	fmt.Fprintf(tw, "wall (s)\t%.1f\t\t\t\n", r.Wall)
	return tw.Flush()
}
