package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fault scenarios with real hearthd processes. The fast variants run in
// `make test`; soak_test.go (build tag soak, `make soak`) runs them longer.

// sigkill ends h's serve at once, as a crash or power cut would, without
// letting it clean up.
func (h *testHome) sigkill() {
	h.t.Helper()
	sp := h.serve
	if sp == nil {
		h.t.Fatalf("%s: serve not running", h.name)
	}
	h.serve = nil
	if err := sp.cmd.Process.Kill(); err != nil {
		h.t.Fatalf("%s: kill serve: %v", h.name, err)
	}
	select {
	case <-sp.exited:
	case <-time.After(startTimeout):
		h.t.Fatalf("%s: serve still running %v after SIGKILL", h.name, startTimeout)
	}
}

// postIDs returns the ids of h's latest posts, in display order. (Other
// messages differ by design: a newcomer is not shown the joins before its
// own.)
func (h *testHome) postIDs(circle string, limit int) []string {
	h.t.Helper()
	var ids []string
	for _, m := range h.readMessages(circle, limit) {
		if m.Kind == "post" {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// sameHistory waits until every home shows the same posts in the same
// display order, and returns that order.
func sameHistory(t *testing.T, circle string, limit int, homes ...*testHome) []string {
	t.Helper()
	var first []string
	eventually(t, "every member shows the same posts in the same order", func() (bool, string) {
		first = homes[0].postIDs(circle, limit)
		for _, h := range homes[1:] {
			got := h.postIDs(circle, limit)
			if !slices.Equal(got, first) {
				return false, fmt.Sprintf("%s: %d posts, %s: %d posts, first difference at %d",
					homes[0].name, len(first), h.name, len(got), firstDiff(first, got))
			}
		}
		return true, ""
	})
	return first
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// killMidBurst: A posts a burst of n; once C has stored about a quarter of
// it, C's serve is killed with SIGKILL and started again. When the burst
// is over every member has every message, once, in the same order.
func killMidBurst(t *testing.T, n int) {
	a, b, c, circle := circleOfThree(t)
	var wg sync.WaitGroup
	var burst result
	var sent atomic.Bool
	wg.Go(func() {
		burst = a.run("post", "--circle", circle, "--repeat", fmt.Sprint(n), "burst")
		sent.Store(true)
	})
	// Kill C as soon as it holds a tenth of the burst (or the burst is
	// over, on a machine too fast for that; the log says which).
	had := 0
	for had < n/10 && !sent.Load() {
		had = len(posts(c.readMessages(circle, n+100)))
	}
	c.sigkill()
	t.Logf("c killed holding %d of %d posts; the burst still being sent: %v", had, n, !sent.Load())
	c.startServe()
	wg.Wait()
	if burst.code != exitOK {
		t.Fatalf("the burst: %v", burst)
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("burst %d", i))
	}
	for _, h := range []*testHome{a, b, c} {
		eventually(t, h.name+" has the whole burst", func() (bool, string) {
			return hasAll(posts(h.readMessages(circle, n+100)), want)
		})
	}
	ids := sameHistory(t, circle, n+100, a, b, c)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("message %s shown twice", id)
		}
		seen[id] = true
	}
}

// A member killed with SIGKILL in the middle of a burst and restarted
// loses nothing: sync brings what its last writes lost.
func TestFaultKillMidBurst(t *testing.T) { killMidBurst(t, 500) }

// partition: C is cut off (its serve stopped) while A and B post on one
// side and C posts on its own for rounds rounds of per posts each; then C
// is back. Every member ends with the same set, in the same display order.
func partition(t *testing.T, rounds, per int) {
	a, b, c, circle := circleOfThree(t)
	var want []string
	for r := range rounds {
		c.stopServe()
		for _, h := range []*testHome{a, b, c} {
			text := fmt.Sprintf("%s round %d", h.name, r)
			h.must("post", "--circle", circle, "--repeat", fmt.Sprint(per), text)
			for i := 1; i <= per; i++ {
				if per > 1 {
					want = append(want, fmt.Sprintf("%s %d", text, i))
				} else {
					want = append(want, text)
				}
			}
		}
		c.startServe()
	}
	limit := len(want) + 100
	for _, h := range []*testHome{a, b, c} {
		eventually(t, h.name+" has every post of both sides", func() (bool, string) {
			return hasAll(posts(h.readMessages(circle, limit)), want)
		})
	}
	ids := sameHistory(t, circle, limit, a, b, c)
	if len(ids) < len(want) {
		t.Fatalf("got %d messages, want at least %d", len(ids), len(want))
	}
	got := posts(a.readMessages(circle, limit))
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(got) {
		t.Errorf("a post is shown twice: %s", strings.Join(got, ", "))
	}
}

// A partition: two sides post apart, then meet again and converge.
func TestFaultPartitionConverges(t *testing.T) { partition(t, 2, 20) }
