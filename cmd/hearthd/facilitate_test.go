package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A facilitator's insights come from its own store, offline.
func TestInsightsCommand(t *testing.T) {
	a := initHome(t, "ann")
	circle := a.mustLine("circle", "create", "--name", "evening", "--nick", "ann")
	a.must("post", "--circle", circle, "first")
	a.must("post", "--circle", circle, "second")
	got := decodeLines[insightsView](t, a.must("insights", "--circle", circle, "--json"))
	if len(got) != 1 || got[0].Posts != 2 || got[0].ActiveMembers != 1 || got[0].Unanswered != 2 || len(got[0].PostsPerWeek) != 1 {
		t.Fatalf("got %+v, want 2 posts by 1 member, both unanswered, in one week", got)
	}
}

// A panic wipe needs no passphrase and leaves nothing to open.
func TestWipeCommand(t *testing.T) {
	a := initHome(t, "ann")
	a.mustLine("circle", "create", "--name", "evening", "--nick", "ann")
	wantFailure(t, "wipe without --yes", a.run("wipe"), exitUsage, "--yes")
	r := a.runEnv(childEnv(""), "wipe", "--yes")
	if r.code != 0 {
		t.Fatalf("wipe: got %v, want exit 0", r)
	}
	entries, _ := os.ReadDir(a.dir)
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("left after the wipe: %s", filepath.Join(a.dir, e.Name()))
		}
	}
	wantFailure(t, "circle list after the wipe", a.run("circle", "list"), exitFailure, "no vault")
}
