package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestBenchUsageErrors checks that bench refuses nonsense settings with
// status 1 before building anything.
func TestBenchUsageErrors(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name      string
		args      []string
		wantInErr string
	}{
		{"one peer", []string{"--peers", "1"}, "--peers"},
		{"zero seconds", []string{"--seconds", "0"}, "--seconds"},
		{"no cold messages", []string{"--cold-messages", "0"}, "--cold-messages"},
		{"zero rate", []string{"--rate", "0"}, "--rate"},
		{"zero burst", []string{"--burst", "0"}, "--burst"},
		{"zero burst wait", []string{"--burst-wait", "0s"}, "--burst-wait"},
		{"negative warm-up", []string{"--warm", "-1"}, "--warm"},
		{"no catch-up", []string{"--catchup", "0"}, "--catchup"},
		{"no catch-up trial", []string{"--catchup-trials", "0"}, "--catchup-trials"},
		{"zero step", []string{"--step-seconds", "0"}, "--step-seconds"},
		{"zero max rate", []string{"--max-rate", "0"}, "--max-rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--home", home, "bench"}, tt.args...)
			code, stdout, stderr := runInProcess(t, nil, args...)
			if code != exitUsage {
				t.Errorf("exit status: got %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: got %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "hearthd: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.wantInErr) {
				t.Errorf("stderr: got %q, want one line naming %s", stderr, tt.wantInErr)
			}
		})
	}
}

// TestBench runs a tiny bench (three peers, a few dozen messages) and checks
// that stdout is one JSON object with every figure, each in its range, and
// that --table prints the table on stderr. Every goroutine it started has
// ended when it returns.
func TestBench(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	code, stdout, stderr := runInProcess(t, nil, "--home", t.TempDir(), "bench",
		"--peers", "3", "--seconds", "0.2", "--rate", "100", "--burst", "40",
		"--cold-messages", "120", "--warm", "3", "--catchup", "30", "--catchup-trials", "2",
		"--step-seconds", "0.1", "--max-rate", "100", "--serve-bin", hearthdBin, "--serve-idle", "500ms", "--table")
	if code != exitOK {
		t.Fatalf("exit status: got %d, want %d (stderr %q)", code, exitOK, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 1 {
		t.Fatalf("stdout lines: got %d, want 1 (%q)", n, stdout)
	}
	var got map[string]float64
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not a JSON object of numbers: %v (%q)", err, stdout)
	}

	positive := func(x float64) bool { return x > 0 }
	nonNegative := func(x float64) bool { return x >= 0 }
	percent := func(x float64) bool { return x > 0 && x <= 100 }
	equals := func(want float64) func(float64) bool { return func(x float64) bool { return x == want } }
	tests := []struct {
		key  string
		sane func(float64) bool
		want string
	}{
		{"peers", equals(3), "3"},
		{"serve_idle_rss_mb", positive, "> 0"},
		{"serve_peak_rss_mb", func(x float64) bool { return x >= got["serve_idle_rss_mb"] }, ">= serve_idle_rss_mb"},
		{"messages_per_s", equals(100), "100"},
		{"steady_seconds", equals(0.2), "0.2"},
		{"latency_p50_ms", positive, "> 0"},
		{"latency_p99_ms", func(x float64) bool { return x >= got["latency_p50_ms"] }, ">= latency_p50_ms"},
		{"baseline_latency_p50_ms", positive, "> 0"},
		{"baseline_latency_p99_ms", func(x float64) bool { return x >= got["baseline_latency_p50_ms"] }, ">= baseline_latency_p50_ms"},
		{"latency_p50_ratio", positive, "> 0"},
		{"latency_p99_ratio", positive, "> 0"},
		{"baseline_seen_p50_ms", func(x float64) bool { return x > 0 && x <= got["baseline_latency_p50_ms"] }, "in (0, baseline_latency_p50_ms]"},
		{"baseline_seen_p99_ms", func(x float64) bool { return x >= got["baseline_seen_p50_ms"] }, ">= baseline_seen_p50_ms"},
		{"latency_p50_ratio_to_seen", positive, "> 0"},
		{"alone_latency_p50_ms", positive, "> 0"},
		{"alone_latency_p99_ms", func(x float64) bool { return x >= got["alone_latency_p50_ms"] }, ">= alone_latency_p50_ms"},
		{"baseline_alone_latency_p50_ms", positive, "> 0"},
		{"baseline_alone_latency_p99_ms", func(x float64) bool { return x >= got["baseline_alone_latency_p50_ms"] }, ">= baseline_alone_latency_p50_ms"},
		{"steady_delivered_pct", percent, "in (0, 100]"},
		{"baseline_steady_delivered_pct", percent, "in (0, 100]"},
		{"burst_messages", equals(40), "40"},
		{"burst_delivered_pct", percent, "in (0, 100]"},
		{"baseline_burst_delivered_pct", percent, "in (0, 100]"},
		{"burst_seconds", nonNegative, ">= 0"},
		{"baseline_burst_seconds", nonNegative, ">= 0"},
		{"max_full_delivery_rate_per_s", func(x float64) bool { return x >= 0 && x <= 100 }, "in [0, 100]"},
		{"baseline_max_full_delivery_rate_per_s", func(x float64) bool { return x >= 0 && x <= 100 }, "in [0, 100]"},
		{"max_full_delivery_rate_ratio", nonNegative, ">= 0"},
		{"cpu_us_per_delivery", positive, "> 0"},
		{"baseline_cpu_us_per_delivery", positive, "> 0"},
		{"cpu_ratio", positive, "> 0"},
		{"idle_cpu_ms_per_s", nonNegative, ">= 0"},
		{"cpu_net_us_per_delivery", nonNegative, ">= 0"},
		{"baseline_cpu_net_us_per_delivery", nonNegative, ">= 0"},
		{"cpu_net_ratio", nonNegative, ">= 0"},
		{"cold_messages", equals(120), "120"},
		{"cold_open_ms", positive, "> 0"},
		{"kdf_ms", positive, "> 0"},
		{"cold_open_with_kdf_ms", func(x float64) bool { return x >= got["kdf_ms"] }, ">= kdf_ms"},
		{"cold_write_per_s", positive, "> 0"},
		{"catchup_messages", equals(30), "30"},
		{"catchup_seconds", positive, "> 0"},
		{"catchup_settle_ms", func(x float64) bool { return x >= 0 && x <= 10500 }, "in [0, 10500]"},
		{"catchup_envelopes_per_s", func(x float64) bool { return x >= got["catchup_total_per_s"] }, ">= catchup_total_per_s"},
		{"catchup_connect_ms", func(x float64) bool { return x >= 0 && x <= 1000*got["catchup_seconds"] }, "in [0, catchup_seconds]"},
		{"catchup_total_per_s", positive, "> 0"},
		{"catchup_trials", equals(2), "2"},
		{"catchup_min_envelopes_per_s", func(x float64) bool { return x > 0 && x <= got["catchup_envelopes_per_s"] }, "in (0, catchup_envelopes_per_s]"},
		{"catchup_max_envelopes_per_s", func(x float64) bool { return x >= got["catchup_envelopes_per_s"] }, ">= catchup_envelopes_per_s"},
		{"catchup_alloc_kb_per_envelope", positive, "> 0"},
		{"catchup_gc_cycles", func(x float64) bool { return x >= 0 && x == math.Trunc(x) }, "a whole number >= 0"},
		{"peak_rss_mb", positive, "> 0"},
		{"wall_seconds", positive, "> 0"},
	}
	for _, tt := range tests {
		x, ok := got[tt.key]
		if !ok {
			t.Errorf("%s: missing from %s", tt.key, stdout)
			continue
		}
		if !tt.sane(x) {
			t.Errorf("%s: got %v, want %s", tt.key, x, tt.want)
		}
	}
	if len(got) != len(tests) {
		t.Errorf("keys: got %d, want %d (%s)", len(got), len(tests), stdout)
	}
	for _, row := range []string{"latency p50 (ms)", "latency p99 (ms)", "burst of 40 delivered", "max full delivery rate", "cold open, 120 msgs", "peak rss"} {
		if !strings.Contains(stderr, row) {
			t.Errorf("table on stderr: got %q, want a row %q", stderr, row)
		}
	}
}

// TestTracker checks that only deliveries of messages sent in the current
// phase, and before its cutoff, are counted.
func TestTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name    string
		cutoff  time.Duration // from t0; zero is none
		deliver []string
		at      time.Duration
		wantN   int
	}{
		{"sent keys count", 0, []string{"a", "a", "b"}, time.Millisecond, 3},
		{"unsent keys ignored", 0, []string{"a", "zz", "old"}, time.Millisecond, 1},
		{"before cutoff", time.Second, []string{"a", "b"}, 999 * time.Millisecond, 2},
		{"after cutoff", time.Second, []string{"a", "b"}, 1001 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker()
			tr.send("old", t0)
			tr.reset()
			tr.send("a", t0)
			tr.send("b", t0)
			if tt.cutoff != 0 {
				tr.setCutoff(t0.Add(tt.cutoff))
			}
			for _, k := range tt.deliver {
				tr.deliver(k, t0.Add(tt.at))
			}
			n, _ := tr.count()
			if n != tt.wantN {
				t.Errorf("deliveries: got %d, want %d", n, tt.wantN)
			}
			for _, d := range tr.latencies() {
				if d != tt.at {
					t.Errorf("latency: got %v, want %v", d, tt.at)
				}
			}
		})
	}
}

func TestQuantileMs(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[99-i] = time.Duration(i+1) * time.Millisecond // 100 ms down to 1 ms
	}
	tests := []struct {
		p    float64
		want float64
	}{{0, 1}, {0.5, 50}, {0.99, 99}, {1, 100}}
	for _, tt := range tests {
		if got := quantileMs(ds, tt.p); got != tt.want {
			t.Errorf("quantileMs(p=%v): got %v, want %v", tt.p, got, tt.want)
		}
	}
	if ds[0] != 100*time.Millisecond {
		t.Errorf("input: got first %v, want it unsorted (100ms)", ds[0])
	}
}
