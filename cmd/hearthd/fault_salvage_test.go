package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// salvage runs hearthd salvage on h and returns the lines written.
func (h *testHome) salvage(out string) (result, []map[string]any) {
	h.t.Helper()
	r := h.run("salvage", "--out", out)
	var lines []map[string]any
	if b, err := os.ReadFile(out); err == nil {
		for line := range strings.Lines(string(b)) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				h.t.Fatalf("salvage line %q: %v", line, err)
			}
			lines = append(lines, m)
		}
	}
	return r, lines
}

// Salvage exports every message of an intact vault; on a vault whose store
// files are truncated, emptied, flipped or missing it fails with one clear
// line, no panic, and writes nothing; the vault is left as it was.
func TestFaultSalvage(t *testing.T) {
	a := initHome(t, "a")
	circle := a.mustLine("circle", "create", "--name", "kept safe", "--nick", "ann")
	a.must("post", "--circle", circle, "--repeat", "20", "kept")
	a.mustLine("post", "--circle", circle, "one more")

	out := filepath.Join(t.TempDir(), "salvage.jsonl")
	r, lines := a.salvage(out)
	if r.code != exitOK {
		t.Fatalf("salvage of an intact vault: %v", r)
	}
	posts := 0
	for _, m := range lines {
		if m["kind"] == "post" {
			posts++
			if m["circle"] != circle || m["nick"] != "ann" || m["circle_name"] != "kept safe" {
				t.Errorf("line %v: want circle %s, nick ann, name %q", m, circle, "kept safe")
			}
		}
	}
	if posts != 21 {
		t.Fatalf("salvaged %d posts, want 21 (stderr %q)", posts, r.stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the export: got %v, %v; want mode 0600", fi.Mode(), err)
	}
	if r := a.run("salvage", "--out", out); r.code != exitUsage {
		t.Errorf("salvage onto an existing file: got %v, want exit %d", r, exitUsage)
	}

	for _, name := range []string{"MANIFEST", "KEYREGISTRY"} {
		for _, d := range []struct {
			how string
			do  func(p string) error
		}{
			{"truncated", func(p string) error { return os.Truncate(p, 3) }},
			{"flipped", func(p string) error {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				b[len(b)/2] ^= 0x40
				return os.WriteFile(p, b, 0o600)
			}},
			{"missing", os.Remove},
		} {
			t.Run(fmt.Sprintf("%s %s", name, d.how), func(t *testing.T) {
				h := newHome(t, "damaged")
				copyTree(t, a.dir, h.dir)
				if err := d.do(filepath.Join(h.dir, "store", name)); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), "salvage.jsonl")
				r, lines := h.salvage(out)
				t.Logf("salvage: %s", strings.TrimSpace(r.stderr))
				if r.code != exitFailure {
					t.Fatalf("got %v, want exit %d", r, exitFailure)
				}
				if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "damaged") ||
					strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
					t.Errorf("stderr: got %q, want one line saying the store is damaged", r.stderr)
				}
				if lines != nil {
					t.Errorf("wrote %d lines from a store that does not open", len(lines))
				}
			})
		}
	}
}
