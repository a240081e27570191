package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// The mailbox from the command line, with real processes on loopback: a
// facilitator admits it with invite --mailbox; a member who was offline
// while the facilitator posted gets the post from the mailbox alone; the
// mailbox's home holds no sentence, pseudonym or circle name.
func TestMailboxScenario(t *testing.T) {
	const (
		name     = "Lantern circle on Sundays"
		nickA    = "lantern-keeper"
		nickB    = "moth-in-the-dark"
		sentence = "I slept through the night for the first time since the accident"
	)
	a, b, m := initHome(t, "a"), initHome(t, "b"), initHome(t, "m")
	if r := m.run("mailbox", "join", "x"); r.code != 2 {
		t.Errorf("mailbox join without mailbox serve: got %v, want exit 2", r)
	}
	a.startServe()
	m.startCmd("mailbox", "serve")
	circle := a.mustLine("circle", "create", "--name", name, "--nick", nickA)
	code := a.mustLine("invite", "--circle", circle, "--mailbox")
	if got := m.mustLine("mailbox", "join", code); got != circle {
		t.Fatalf("mailbox join: got %q, want %q", got, circle)
	}
	if r := m.run("post", "--circle", circle, "hello"); r.code == 0 {
		t.Errorf("post to a mailbox home: got %v, want a failure", r)
	}
	b.startServe()
	b.mustLine("join", "--nick", nickB, a.mustLine("invite", "--circle", circle))
	eventually(t, "b online with the mailbox", func() (bool, string) {
		for _, mv := range decodeLines[memberView](t, b.must("members", "--circle", circle, "--json")) {
			if mv.Role == "mailbox" && mv.Online {
				return true, ""
			}
		}
		return false, "mailbox not online for b"
	})
	held := func() int {
		vs := decodeLines[mailboxView](t, m.must("mailbox", "list", "--json"))
		if len(vs) != 1 || vs[0].ID != circle {
			t.Fatalf("mailbox list: got %+v, want the one circle", vs)
		}
		return vs[0].Envelopes
	}
	b.stopServe()
	before := held()
	a.mustLine("post", "--circle", circle, sentence)
	eventually(t, "the mailbox to hold the post", func() (bool, string) { return held() > before, "" })
	a.stopServe()
	b.startServe()
	eventually(t, "b gets the post from the mailbox alone", func() (bool, string) {
		return hasAll(posts(b.readMessages(circle, 100)), []string{sentence})
	})
	m.stopServe()
	if vs := decodeLines[mailboxView](t, m.must("mailbox", "list", "--json")); len(vs) != 1 || vs[0].Envelopes == 0 {
		t.Errorf("mailbox list offline: got %+v, want the circle with its envelopes", vs)
	}
	err := filepath.WalkDir(m.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range []string{name, nickA, nickB, sentence} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
