package main

import (
	"os"
	"path/filepath"
	"strings"
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

// The facilitator's and members' small acts, offline in one home.
func TestFacilitationCommands(t *testing.T) {
	a := initHome(t, "ann")
	circle := a.mustLine("circle", "create", "--name", "evening", "--nick", "ann")
	kept := a.mustLine("post", "--circle", circle, "kept")
	gone := a.mustLine("post", "--circle", circle, "withdrawn")
	hidden := a.mustLine("post", "--circle", circle, "hidden one")

	g := decodeLines[guidelinesView](t, a.must("guidelines", "show", "--circle", circle, "--json"))
	if len(g) != 1 || g[0].Version != 1 || !g[0].Accepted {
		t.Fatalf("creator's guidelines: got %+v, want version 1, accepted", g)
	}
	file := filepath.Join(t.TempDir(), "g.md")
	os.WriteFile(file, []byte("Be kind."), 0o600)
	g = decodeLines[guidelinesView](t, a.must("guidelines", "set", "--circle", circle, "--file", file, "--json"))
	if len(g) != 1 || g[0].Version != 2 || g[0].Text != "Be kind." || !g[0].Accepted {
		t.Fatalf("after set --file: got %+v, want version 2, accepted by its author", g)
	}
	g = decodeLines[guidelinesView](t, a.must("guidelines", "set", "--circle", circle, "--text", "Be kind. Listen.", "--json"))
	if len(g) != 1 || g[0].Version != 3 || g[0].Text != "Be kind. Listen." {
		t.Fatalf("after set --text: got %+v, want version 3", g)
	}
	wantFailure(t, "empty guidelines", a.run("guidelines", "set", "--circle", circle, "--text", " "), exitUsage, "empty")

	a.must("retention", "--circle", circle, "--days", "7")
	wantFailure(t, "retention of 2 days", a.run("retention", "--circle", circle, "--days", "2"), exitUsage, "days")
	a.must("react", "--circle", circle, "--post", kept, "--reaction", "Thank you")
	wantFailure(t, "an unknown reaction", a.run("react", "--circle", circle, "--post", kept, "--reaction", "lol"), exitUsage, "reaction")
	a.must("retract", "--circle", circle, "--post", gone)
	a.must("hide", "--circle", circle, "--message", hidden, "--reason", "off topic") // the older flag name still works
	wantFailure(t, "promoting nobody", a.run("promote", "--circle", circle, "--member", "bob"), exitFailure, `nobody is called "bob"`)

	seen := map[string]string{}
	for _, m := range a.readMessages(circle, 100) {
		seen[m.ID] = m.Kind
	}
	if seen[kept] != "post" || seen[gone] != "" || seen[hidden] != "hidden" {
		t.Fatalf("got kinds kept=%q withdrawn=%q hidden=%q; want post, absent, hidden", seen[kept], seen[gone], seen[hidden])
	}

	shared := a.mustLine("post", "--circle", circle, "--scope", "resource", "a breathing exercise")
	a.must("rescope", "--circle", circle, "--post", shared, "--scope", "future")
	for _, m := range a.readMessages(circle, 100) {
		if m.ID == shared && m.Scope != "future" {
			t.Fatalf("after rescope: scope %q, want future", m.Scope)
		}
	}
	wantFailure(t, "widening a scope", a.run("rescope", "--circle", circle, "--post", shared, "--scope", "resource"), exitUsage, "cannot be widened")
}

func TestEventCommands(t *testing.T) {
	a := initHome(t, "ann")
	circle := a.mustLine("circle", "create", "--name", "evening", "--nick", "ann")
	ev := a.mustLine("event", "add", "--circle", circle, "--title", "Check-in",
		"--start", "2099-03-04T18:30", "--zone", "Europe/Berlin", "--duration", "90", "--where", "in Hearth")
	wantFailure(t, "a bad start", a.run("event", "schedule", "--circle", circle, "--title", "x", "--start", "tomorrow"), exitUsage, "start")
	a.must("event", "rsvp", "--circle", circle, "--event", ev, "--answer", "yes")
	got := decodeLines[eventView](t, a.must("event", "list", "--circle", circle))
	if len(got) != 1 || got[0].ID != ev || got[0].Start != "2099-03-04T18:30:00+01:00" || got[0].Zone != "Europe/Berlin" ||
		got[0].DurationMin != 90 || got[0].Answers["yes"] != 1 || got[0].MyAnswer != "yes" {
		t.Fatalf("got %+v, want the check-in at 18:30 Berlin time, 90 minutes, one yes (mine)", got)
	}
	cal := a.must("event", "ics", "--circle", circle, "--event", ev)
	if !strings.Contains(cal, "BEGIN:VEVENT") || !strings.Contains(cal, "SUMMARY:Check-in (evening)") {
		t.Fatalf("ics: got %q", cal)
	}
}

func TestLibraryAndPackCommands(t *testing.T) {
	a := initHome(t, "ann")
	circle := a.mustLine("circle", "create", "--name", "evening", "--nick", "ann")
	a.mustLine("resource", "add", "--circle", circle, "--title", "Crisis lines", "--link", "https://example.org")
	a.mustLine("post", "--circle", circle, "--scope", "future", "for later members")
	a.mustLine("post", "--circle", circle, "just us")
	lib := decodeLines[resourceView](t, a.must("resource", "list", "--circle", circle))
	if len(lib) != 1 || lib[0].Title != "Crisis lines" {
		t.Fatalf("library: got %+v, want the crisis lines", lib)
	}
	file := filepath.Join(t.TempDir(), "welcome.pack")
	wantFailure(t, "export without a pack passphrase", a.run("pack", "export", "--circle", circle, "--out", file), exitUsage, "HEARTH_PACK_PASSPHRASE")
	env := append(childEnv(a.pass), "HEARTH_PACK_PASSPHRASE=told in person")
	if r := a.runEnv(env, "pack", "export", "--circle", circle, "--out", file); r.code != 0 {
		t.Fatalf("export: got %v, want exit 0", r)
	}
	r := a.runEnv(append(childEnv(""), "HEARTH_PACK_PASSPHRASE=told in person"), "pack", "open", file)
	if r.code != 0 {
		t.Fatalf("open: got %v, want exit 0", r)
	}
	got := map[string]bool{}
	for _, it := range decodeLines[resourceView](t, r.stdout) {
		got[it.Title] = true
	}
	if !got["Crisis lines"] || !got["for later members"] || got["just us"] {
		t.Fatalf("pack: got %v, want the consented items only", got)
	}
	wantFailure(t, "open with a wrong passphrase",
		a.runEnv(append(childEnv(""), "HEARTH_PACK_PASSPHRASE=a wrong guess"), "pack", "open", file), exitFailure, "wrong passphrase")
}
