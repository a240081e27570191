package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
)

// memProfileEnv names a file: when set, the app writes a heap profile
// there, and a line of memory figures to stderr, each time it is asked to
// (SIGUSR1 on Unix), for measuring where its resident memory goes.
const memProfileEnv = "HEARTH_MEMPROFILE"

// memReport writes to out the process's resident memory by kind and the Go
// runtime's view of it, then collects garbage and writes the heap profile
// of what is live to path.
func memReport(out io.Writer, path string) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := procStatus("VmRSS", "RssAnon", "RssFile", "Threads")
	runtime.GC() // the profile, and the live figure, are of what survives a collection
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Fprintf(out, "hearth memory: VmRSS %s (anonymous %s, files %s), threads %s; Go heap allocated %d MiB (live %d MiB after a collection), in use %d MiB, idle unreleased %d MiB, next GC at %d MiB, stacks %d MiB, runtime other %d MiB, from the OS %d MiB, %d collections; goroutines %d\n",
		st["VmRSS"], st["RssAnon"], st["RssFile"], st["Threads"],
		ms.HeapAlloc>>20, after.HeapAlloc>>20, ms.HeapInuse>>20, (ms.HeapIdle-ms.HeapReleased)>>20, ms.NextGC>>20, ms.StackSys>>20,
		(ms.MSpanSys+ms.MCacheSys+ms.BuckHashSys+ms.GCSys+ms.OtherSys)>>20, ms.Sys>>20, ms.NumGC, runtime.NumGoroutine())
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// procStatus reads the named fields of /proc/self/status (Linux); "?" for
// each it cannot read.
func procStatus(keys ...string) map[string]string {
	v := make(map[string]string, len(keys))
	for _, k := range keys {
		v[k] = "?"
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return v
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, val, ok := strings.Cut(sc.Text(), ":")
		if _, want := v[k]; ok && want {
			v[k] = strings.TrimSpace(val)
		}
	}
	return v
}
