package main

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestTuneRuntime(t *testing.T) {
	limit, percent := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	t.Cleanup(func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	})

	live := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := live()
	if !tuneRuntime(func(string) string { return "" }) {
		t.Error("with $GOMEMLIMIT unset, the limit is not Hearth's to follow the heap with")
	}
	// A collection may end between the readings.
	got, after := debug.SetMemoryLimit(-1), live()
	if got != memoryLimitFor(before) && got != memoryLimitFor(after) {
		t.Errorf("memory limit: got %d, want %d", got, memoryLimitFor(after))
	}
	if got := debug.SetGCPercent(gcPercent); got != gcPercent {
		t.Errorf("GC percent: got %d, want %d", got, gcPercent)
	}
	if gcPercent <= 0 || gcPercent >= 100 {
		t.Errorf("GC percent %d: want collections sooner than Go's default, and never off", gcPercent)
	}

	// What the environment sets is left alone.
	debug.SetMemoryLimit(1 << 40)
	debug.SetGCPercent(100)
	if tuneRuntime(func(k string) string {
		return map[string]string{"GOMEMLIMIT": "1TiB", "GOGC": "100"}[k]
	}) {
		t.Error("with $GOMEMLIMIT set, the limit is still Hearth's")
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("with $GOMEMLIMIT set, the memory limit changed to %d", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with $GOGC set, the GC percent changed to %d", got)
	}
}

func TestMemoryLimitFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		live uint64
		want int64
	}{
		{0, limitFloor},
		{27 * mib, limitFloor}, // an unlocked circle of 10,000 messages
		{80 * mib, 80*mib + 20*mib + limitOverhead},
		{1 << 40, 1<<40 + 1<<38 + limitOverhead},
	}
	for _, tt := range tests {
		if got := memoryLimitFor(tt.live); got != tt.want {
			t.Errorf("memoryLimitFor(%d MiB): got %d MiB, want %d MiB", tt.live/mib, got/mib, tt.want/mib)
		}
	}
}

// TestFollowHeap: the limit is set anew at each tick, for the heap then.
func TestFollowHeap(t *testing.T) {
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(limit) })

	debug.SetMemoryLimit(1 << 40)
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		followHeap(tick)
		close(done)
	}()
	tick <- time.Now()
	close(tick)
	<-done
	if got := debug.SetMemoryLimit(-1); got < limitFloor || got >= 1<<40 {
		t.Errorf("after a tick the limit is %d, want the one for the live heap", got)
	}
}
