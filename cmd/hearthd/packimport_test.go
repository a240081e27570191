package main

import (
	"path/filepath"
	"testing"
)

// A newcomer keeps a pack in its own vault; the same file again changes
// nothing, and a wrong passphrase keeps nothing.
func TestPackImportCommand(t *testing.T) {
	a, b := initHome(t, "ann"), initHome(t, "bo")
	circle := a.mustLine("circle", "create", "--name", "evening", "--nick", "ann")
	a.mustLine("resource", "add", "--circle", circle, "--title", "Crisis lines")
	a.mustLine("post", "--circle", circle, "--scope", "future", "for later members")
	a.mustLine("post", "--circle", circle, "just us")
	file := filepath.Join(t.TempDir(), "welcome.pack")
	if r := a.runEnv(append(childEnv(a.pass), "HEARTH_PACK_PASSPHRASE=told in person"), "pack", "export", "--circle", circle, "--out", file); r.code != 0 {
		t.Fatalf("export: got %v, want exit 0", r)
	}

	wantFailure(t, "import without a pack passphrase", b.run("pack", "import", file), exitUsage, "HEARTH_PACK_PASSPHRASE")
	wantFailure(t, "import with a wrong passphrase",
		b.runEnv(append(childEnv(b.pass), "HEARTH_PACK_PASSPHRASE=a wrong guess"), "pack", "import", file), exitFailure, "wrong passphrase")
	env := append(childEnv(b.pass), "HEARTH_PACK_PASSPHRASE=told in person")
	for i, want := range []packImportView{
		{Circle: circle, Name: "evening", Items: 2, Added: 2},
		{Circle: circle, Name: "evening", Items: 2, Unchanged: true},
	} {
		r := b.runEnv(env, "pack", "import", file)
		if r.code != 0 {
			t.Fatalf("import %d: got %v, want exit 0", i+1, r)
		}
		got := decodeLines[packImportView](t, r.stdout)
		if len(got) != 1 || got[0] != want {
			t.Fatalf("import %d: got %+v, want %+v", i+1, got, want)
		}
	}
}
