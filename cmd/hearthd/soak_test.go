//go:build soak

package main

import (
	"os"
	"testing"
	"time"
)

// The long fault scenarios, run by `make soak` (build tag soak), never in
// CI. Each repeats its scenario until $SOAK (a duration, default 10m) has
// passed since the first started, and at least once.

var soakStart = time.Now()

// soakBudget is how long the soak tests may run, from $SOAK.
func soakBudget(t *testing.T) time.Duration {
	d := 10 * time.Minute
	if s := os.Getenv("SOAK"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			t.Fatalf("SOAK=%q: want a positive duration such as 10m", s)
		}
	}
	return d
}

// soakRounds runs round until the budget is spent, at least once, and
// logs how many rounds ran.
func soakRounds(t *testing.T, share float64, round func(t *testing.T)) {
	end := soakStart.Add(time.Duration(float64(soakBudget(t)) * share))
	n := 0
	for {
		n++
		t.Run("round", round)
		if t.Failed() || time.Now().After(end) {
			break
		}
	}
	t.Logf("soak: %d rounds", n)
}

// A member SIGKILLed in the middle of a 2,000-message burst, again and
// again: no member loses any message.
func TestSoakKillMidBurst(t *testing.T) {
	soakRounds(t, 0.5, func(t *testing.T) { killMidBurst(t, 2000) })
}

// Partitions of ten rounds of 100 posts a side.
func TestSoakPartition(t *testing.T) {
	soakRounds(t, 1, func(t *testing.T) { partition(t, 10, 100) })
}
