package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestMemReportWritesFiguresAndAProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heap.pprof")
	var out bytes.Buffer
	if err := memReport(&out, path); err != nil {
		t.Fatal(err)
	}
	line := out.String()
	for _, want := range []string{"hearth memory: VmRSS ", "Go heap allocated ", "live ", "goroutines "} {
		if !strings.Contains(line, want) {
			t.Errorf("report %q lacks %q", line, want)
		}
	}
	if runtime.GOOS == "linux" && strings.Contains(line, "VmRSS ? ") {
		t.Errorf("report %q did not read /proc/self/status", line)
	}
	// A heap profile is a gzipped protocol buffer whose string table names
	// its sample types.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("the heap profile is not gzipped: %v", err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("the heap profile is cut short: %v", err)
	}
	if !bytes.Contains(raw, []byte("inuse_space")) {
		t.Errorf("the heap profile (%d bytes) names no inuse_space samples", len(raw))
	}
}

func TestMemReportRefusesAPathItCannotWrite(t *testing.T) {
	var out bytes.Buffer
	if err := memReport(&out, filepath.Join(t.TempDir(), "missing", "heap.pprof")); err == nil {
		t.Error("memReport wrote into a directory that does not exist")
	}
}
