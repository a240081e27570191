//go:build unix

package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// watchMemProfile, when $HEARTH_MEMPROFILE is set, writes a memory report
// on each SIGUSR1.
func watchMemProfile() {
	path := os.Getenv(memProfileEnv)
	if path == "" {
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	go func() {
		for range c {
			if err := memReport(os.Stderr, path); err != nil {
				fmt.Fprintln(os.Stderr, "hearth: memory profile:", err)
			}
		}
	}()
}
