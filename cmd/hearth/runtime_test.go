package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneRuntime(t *testing.T) {
	limit, percent := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	t.Cleanup(func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	})

	tuneRuntime(func(string) string { return "" })
	if got := debug.SetMemoryLimit(-1); got != memoryLimit {
		t.Errorf("memory limit: got %d, want %d", got, memoryLimit)
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
	tuneRuntime(func(k string) string {
		return map[string]string{"GOMEMLIMIT": "1TiB", "GOGC": "100"}[k]
	})
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("with $GOMEMLIMIT set, the memory limit changed to %d", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with $GOGC set, the GC percent changed to %d", got)
	}
}
