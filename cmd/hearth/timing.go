package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// timingEnv, set to 1, makes the app print to stderr how long unlocking
// took (the key derivation and opening the store), how long until the
// latest messages were on screen, and its resident memory then.
const timingEnv = "HEARTH_TIMING"

// timing notes the moments of one unlock; nil when not asked for.
type timing struct {
	out       io.Writer
	submitted time.Time     // the passphrase was entered
	unlock    time.Duration // deriving the key and opening the store
}

func newTiming() *timing {
	if os.Getenv(timingEnv) != "1" {
		return nil
	}
	return &timing{out: os.Stderr}
}

func (t *timing) start() {
	if t != nil {
		t.submitted, t.unlock = time.Now(), 0
	}
}

func (t *timing) unlocked() {
	if t != nil && !t.submitted.IsZero() {
		t.unlock = time.Since(t.submitted)
	}
}

// shown reports the latest messages drawn on screen, and the memory.
func (t *timing) shown() {
	if t == nil || t.submitted.IsZero() {
		return
	}
	total := time.Since(t.submitted)
	rss, hwm := memory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(t.out, "hearth timing: unlock (key derivation and store) %d ms; latest messages on screen %d ms after the passphrase, %d ms beyond the unlock; VmRSS %s, VmHWM %s; Go heap in use %d MiB, from the OS %d MiB\n",
		t.unlock.Milliseconds(), total.Milliseconds(), (total - t.unlock).Milliseconds(), rss, hwm, ms.HeapInuse>>20, ms.Sys>>20)
	t.submitted = time.Time{}
}

// memory reads the resident set size, now and at its peak, from
// /proc/self/status (Linux); "?" elsewhere.
func memory() (rss, hwm string) {
	st := procStatus("VmRSS", "VmHWM")
	return st["VmRSS"], st["VmHWM"]
}
