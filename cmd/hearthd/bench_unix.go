//go:build unix

package main

import (
	"runtime"
	"syscall"
	"time"
)

// processUsage returns the CPU time (user and system) the process has used
// so far and its peak resident memory in bytes.
func processUsage() (cpu time.Duration, maxRSS int64, err error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, err
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	maxRSS = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		maxRSS *= 1024 // kilobytes everywhere else
	}
	return cpu, maxRSS, nil
}
