//go:build !unix

package main

import (
	"errors"
	"time"
)

// processUsage is not available without getrusage.
func processUsage() (time.Duration, int64, error) {
	return 0, 0, errors.New("cpu and memory usage are not measured on this system")
}
