package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// corruptFixture is a closed store holding known data: alice 1..50 with
// records, a 1 MiB envelope (which Badger puts in the value log) and a
// key-value pair.
func corruptFixture(t *testing.T) string {
	t.Helper()
	s, home := newStore(t)
	var batch []Entry
	for seq := uint64(1); seq <= 50; seq++ {
		batch = append(batch, entry(alice, seq))
	}
	_, err := s.AppendBatch(circleA, batch)
	must(t, err)
	appendOK(t, s, circleA, Entry{Author: bob, Seq: 1, Epoch: 1, Envelope: bigEnvelope()})
	must(t, s.Put(circleA, "roster", []byte("alice"), []byte("facilitator"), true))
	must(t, s.Close())
	return home
}

func bigEnvelope() []byte { return bytes.Repeat([]byte("B"), MaxEnvelopeSize) }

// damage is one way of damaging a file.
type damage struct {
	name string
	do   func(path string) error
}

var damages = []damage{
	{"delete", os.Remove},
	{"empty", func(p string) error { return os.Truncate(p, 0) }},
	{"truncate half", func(p string) error { return truncateBy(p, func(n int64) int64 { return n / 2 }) }},
	{"truncate last byte", func(p string) error { return truncateBy(p, func(n int64) int64 { return n - 1 }) }},
	{"flip first byte", func(p string) error { return flip(p, func(int64) int64 { return 0 }) }},
	{"flip byte 20", func(p string) error { return flip(p, func(n int64) int64 { return min(20, n-1) }) }},
	{"flip middle byte", func(p string) error { return flip(p, func(n int64) int64 { return n / 2 }) }},
	{"flip last byte", func(p string) error { return flip(p, func(n int64) int64 { return n - 1 }) }},
}

func truncateBy(p string, size func(int64) int64) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	return os.Truncate(p, size(fi.Size()))
}

func flip(p string, at func(int64) int64) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return fmt.Errorf("%s is empty", p)
	}
	b[at(int64(len(b)))] ^= 0x5a
	return os.WriteFile(p, b, 0o600)
}

// openWithin opens home, failing the test if Open panics or takes longer
// than a generous bound (a hang, not a slow machine).
func openWithin(t *testing.T, home string) (*Store, error) {
	t.Helper()
	type result struct {
		s   *Store
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := Open(home, testKey, Options{})
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-time.After(2 * time.Minute):
		t.Fatalf("Open did not return: a hang")
		return nil, nil
	}
}

// checkReadable reads everything and fails on any read that returns wrong
// data or an error other than ErrCorrupt. It returns how many reads failed.
func checkReadable(t *testing.T, s *Store) (failed int) {
	t.Helper()
	bad := func(what string, err error) {
		failed++
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoCircle) {
			t.Errorf("%s: got %v, want nil or ErrCorrupt", what, err)
		}
	}
	items, err := s.Latest(circleA, nil, MaxPage)
	if err != nil {
		bad("Latest", err)
	}
	for _, it := range items {
		if it.Author != alice || !bytes.Equal(it.Record, rec(alice, it.Seq)) || it.Lamport != it.Seq*10 {
			t.Errorf("Latest item %+v: wrong data", it)
		}
	}
	envs, err := s.Envelopes(circleA, alice, 0, MaxPage)
	if err != nil {
		bad("Envelopes", err)
	}
	for _, e := range envs {
		var seq uint64
		var variant byte
		if _, err := fmt.Sscanf(string(e), "env|0101|%d|%d|", &seq, &variant); err != nil || !bytes.Equal(e, env(alice, seq, 0)) {
			t.Errorf("envelope %q: wrong data", e)
		}
	}
	envs, err = s.Envelopes(circleA, bob, 0, 1)
	if err != nil {
		bad("Envelopes(bob)", err)
	}
	if len(envs) == 1 && !bytes.Equal(envs[0], bigEnvelope()) {
		t.Errorf("big envelope: wrong data (%d bytes: %q)", len(envs[0]), envs[0][:min(40, len(envs[0]))])
	}
	v, err := s.Get(circleA, "roster", []byte("alice"))
	if err != nil && !errors.Is(err, ErrNotFound) {
		bad("Get", err)
	}
	if err == nil && string(v) != "facilitator" {
		t.Errorf("Get: got %q, want %q", v, "facilitator")
	}
	hw, err := s.HighWater(circleA)
	if err != nil {
		bad("HighWater", err)
	}
	if hw[alice] > 50 || hw[bob] > 1 {
		t.Errorf("HighWater: got %v, want at most alice 50, bob 1", hw)
	}
	return failed
}

func TestOpenDamagedFiles(t *testing.T) {
	files := []string{"keyring", "store/MANIFEST", "store/KEYREGISTRY", "store/*.sst", "store/*.vlog"}
	// Damage after which Badger legitimately opens; everything else must
	// fail to open.
	mayOpen := map[string]bool{
		// The value log's tail is only the 1 MiB value: Badger drops a torn
		// tail, and the value pointer to it then fails its checksum.
		"store/*.vlog/truncate half":      true,
		"store/*.vlog/truncate last byte": true,
		"store/*.vlog/flip middle byte":   true,
		"store/*.vlog/flip last byte":     true,
		"store/*.vlog/flip byte 20":       true,
	}
	for _, f := range files {
		for _, d := range damages {
			name := f + "/" + d.name
			t.Run(name, func(t *testing.T) {
				home := corruptFixture(t)
				matches, err := filepath.Glob(filepath.Join(home, f))
				must(t, err)
				if len(matches) != 1 {
					t.Fatalf("files matching %s: got %v, want one", f, matches)
				}
				must(t, d.do(matches[0]))
				s, err := openWithin(t, home)
				if err != nil {
					if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongKey) {
						t.Errorf("Open: got %v, want ErrCorrupt (or ErrWrongKey)", err)
					}
					t.Logf("refused: %v", err)
					return
				}
				defer s.Close()
				failed := checkReadable(t, s)
				t.Logf("opened; %d reads failed", failed)
				if !mayOpen[name] && failed == 0 {
					t.Errorf("Open and every read succeeded after %s; want the damage noticed", name)
				}
			})
		}
	}
}

// TestOpenAfterUncleanStop copies a live store, as a power cut would leave
// it (memtable write-ahead logs, no flushed tables), and opens the copy.
func TestOpenAfterUncleanStop(t *testing.T) {
	s, home := newStore(t)
	for seq := uint64(1); seq <= 20; seq++ {
		e := entry(alice, seq)
		e.Durable = seq == 20
		appendOK(t, s, circleA, e)
	}
	snap, _ := crashCopy(t, s, home)
	first := t.TempDir()
	copyTree(t, snap, first)
	c := openStore(t, first)
	items, err := c.Latest(circleA, nil, 100)
	must(t, err)
	if len(items) != 20 {
		t.Errorf("Latest after unclean stop: got %d items, want 20", len(items))
	}
	must(t, c.Close())

	for _, d := range damages {
		t.Run("mem/"+d.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, snap, dir)
			mems, err := filepath.Glob(filepath.Join(dir, "store", "*.mem"))
			must(t, err)
			slices.Sort(mems)
			must(t, d.do(mems[0]))
			s, err := openWithin(t, dir)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongKey) {
					t.Errorf("Open: got %v, want ErrCorrupt", err)
				}
				t.Logf("refused: %v", err)
				return
			}
			defer s.Close()
			n, _ := s.Count(circleA)
			t.Logf("opened; %d reads failed; %d entries", checkReadable(t, s), n)
		})
	}
}

// crashCopy copies the live store s in home as a power cut would leave it,
// then closes s; it returns the copy's home and its memtable logs, failing
// the test when there are none.
func crashCopy(t *testing.T, s *Store, home string) (string, []string) {
	t.Helper()
	crashed := t.TempDir()
	copyTree(t, home, crashed)
	must(t, s.Close())
	mems, err := filepath.Glob(filepath.Join(crashed, "store", "*.mem"))
	must(t, err)
	if len(mems) == 0 {
		t.Fatal("the crashed copy has no memtable log, want one")
	}
	return crashed, mems
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if strings.HasSuffix(p, "LOCK") {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	must(t, err)
}

func TestOpenMissingPieces(t *testing.T) {
	tests := []struct {
		name   string
		damage func(home string) error
	}{
		{"store directory", func(h string) error { return os.RemoveAll(filepath.Join(h, "store")) }},
		{"keyring", func(h string) error { return os.Remove(filepath.Join(h, "keyring")) }},
		{"manifest and registry", func(h string) error {
			if err := os.Remove(filepath.Join(h, "store", "MANIFEST")); err != nil {
				return err
			}
			return os.Remove(filepath.Join(h, "store", "KEYREGISTRY"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := corruptFixture(t)
			must(t, tc.damage(home))
			s, err := openWithin(t, home)
			if !errors.Is(err, ErrCorrupt) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open: got %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestBadgerErrorsReachLogger(t *testing.T) {
	home := corruptFixture(t)
	vlogs, err := filepath.Glob(filepath.Join(home, "store", "*.vlog"))
	must(t, err)
	must(t, truncateBy(vlogs[0], func(n int64) int64 { return n / 2 }))
	var buf bytes.Buffer
	s, err := Open(home, testKey, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	must(t, err)
	defer s.Close()
	if _, err := s.Envelopes(circleA, bob, 0, 1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Envelopes of the lost value: got %v, want ErrCorrupt", err)
	}
	if got := buf.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "badger: ") {
		t.Errorf("log: got %q, want Badger's error at level ERROR", got)
	}
	if strings.Contains(buf.String(), "level=INFO") {
		t.Errorf("log: got informational lines, want warnings and errors only")
	}
}
