package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-circles/hearth/crypto/invite"
)

// These tests drive the real binary: several homes on this machine, each
// with its own serve on loopback, talking through the command line exactly
// as a script would. They wait for conditions with generous deadlines and
// never assert on how long anything took.

// hearthdBin is the binary under test, built once by TestMain.
var hearthdBin string

const (
	// startTimeout bounds the wait for serve's "ready" and for it to exit.
	startTimeout = 90 * time.Second
	// pollTimeout bounds the wait for a condition polled with read or
	// members.
	pollTimeout = 3 * time.Minute
	// commandTimeout bounds one command.
	commandTimeout = 3 * time.Minute
	// testPassphrase is every test home's passphrase.
	testPassphrase = "correct horse battery staple"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Fuzzing runs only fuzz targets, in worker processes of their own:
	// none of them needs the binary.
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "hearthd-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	hearthdBin = filepath.Join(dir, "hearthd")
	build := exec.Command("go", "build", "-o", hearthdBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build hearthd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testHome is one member's home directory and, while it runs, its serve.
type testHome struct {
	t     *testing.T
	name  string
	dir   string
	pass  string
	serve *serveProc
}

type serveProc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, once exited
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newHome makes an empty home for a member called name.
func newHome(t *testing.T, name string) *testHome {
	t.Helper()
	if hearthdBin == "" {
		t.Fatal("hearthd was not built")
	}
	return &testHome{t: t, name: name, dir: filepath.Join(t.TempDir(), name), pass: testPassphrase}
}

// initHome makes a home and its vault.
func initHome(t *testing.T, name string) *testHome {
	t.Helper()
	h := newHome(t, name)
	h.must("init")
	return h
}

// childEnv is the environment of a hearthd child: this process's, without
// any Hearth setting, plus the passphrase if pass is not empty.
func childEnv(pass string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HEARTH_HOME=") || strings.HasPrefix(kv, passphraseEnv+"=") ||
			strings.HasPrefix(kv, "XDG_DATA_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	if pass != "" {
		env = append(env, passphraseEnv+"="+pass)
	}
	return env
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, truncate(r.stdout), r.stderr)
}

func truncate(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// run runs hearthd --home h.dir args... to completion.
func (h *testHome) run(args ...string) result {
	h.t.Helper()
	return h.runEnv(childEnv(h.pass), args...)
}

func (h *testHome) runEnv(env []string, args ...string) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, hearthdBin, append([]string{"--home", h.dir}, args...)...)
	cmd.Env = env
	cmd.Stdin = nil // /dev/null: no terminal
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		h.t.Fatalf("%s: hearthd %q: %v (stderr %q)", h.name, args, err, r.stderr)
	}
	return r
}

// must runs a command that has to succeed and returns its stdout.
func (h *testHome) must(args ...string) string {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("%s: hearthd %q: got %v, want exit 0", h.name, args, r)
	}
	if r.stderr != "" {
		h.t.Errorf("%s: hearthd %q: got stderr %q, want none", h.name, args, r.stderr)
	}
	return r.stdout
}

// mustLine runs a command that has to succeed and print one line.
func (h *testHome) mustLine(args ...string) string {
	h.t.Helper()
	out := h.must(args...)
	line := strings.TrimSuffix(out, "\n")
	if line == "" || strings.Contains(line, "\n") {
		h.t.Fatalf("%s: hearthd %q: got stdout %q, want one line", h.name, args, out)
	}
	return line
}

// startServe starts serve and waits for its "ready" line.
func (h *testHome) startServe(args ...string) {
	h.t.Helper()
	h.startCmd(append([]string{"serve"}, args...)...)
}

// startCmd starts a long-running command (serve, mailbox serve) and waits
// for its "ready" line.
func (h *testHome) startCmd(args ...string) {
	h.t.Helper()
	if h.serve != nil {
		h.t.Fatalf("%s: serve already running", h.name)
	}
	cmd := exec.Command(hearthdBin, append([]string{"--home", h.dir}, args...)...)
	cmd.Env = childEnv(h.pass)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	sp := &serveProc{cmd: cmd, exited: make(chan struct{}), stderr: &lockedBuffer{}}
	cmd.Stderr = sp.stderr
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("%s: start serve: %v", h.name, err)
	}
	h.serve = sp
	h.t.Cleanup(func() { h.killServe(sp) })

	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		seen := false
		for sc.Scan() {
			if sc.Text() == "ready" && !seen {
				seen = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
		sp.err = cmd.Wait()
		close(sp.exited)
	}()
	select {
	case <-ready:
	case <-sp.exited:
		h.t.Fatalf("%s: serve exited before ready: %v, stderr %q", h.name, sp.err, sp.stderr.String())
	case <-time.After(startTimeout):
		h.t.Fatalf("%s: serve not ready after %v; stderr %q", h.name, startTimeout, sp.stderr.String())
	}
}

// stopServe stops serve with SIGTERM and checks that it exits cleanly and
// removes its socket.
func (h *testHome) stopServe() {
	h.t.Helper()
	sp := h.serve
	if sp == nil {
		h.t.Fatalf("%s: serve not running", h.name)
	}
	h.serve = nil
	sp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-sp.exited:
	case <-time.After(startTimeout):
		sp.cmd.Process.Kill()
		<-sp.exited
		h.t.Fatalf("%s: serve still running %v after SIGTERM", h.name, startTimeout)
	}
	if sp.err != nil {
		h.t.Errorf("%s: serve after SIGTERM: got %v, want exit 0; stderr %q", h.name, sp.err, sp.stderr.String())
	}
	if _, err := os.Lstat(filepath.Join(h.dir, controlSocketName)); !errors.Is(err, os.ErrNotExist) {
		h.t.Errorf("%s: control socket after serve stopped: got %v, want it removed", h.name, err)
	}
}

// killServe ends serve, gently if it will go, at the end of a test.
func (h *testHome) killServe(sp *serveProc) {
	select {
	case <-sp.exited:
		return
	default:
	}
	sp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-sp.exited:
	case <-time.After(30 * time.Second):
		sp.cmd.Process.Kill()
		<-sp.exited
	}
}

// readMessages returns the circle's last limit messages as read --json
// prints them.
func (h *testHome) readMessages(circle string, limit int) []messageView {
	h.t.Helper()
	out := h.must("read", "--circle", circle, "--json", "--limit", fmt.Sprint(limit))
	return decodeLines[messageView](h.t, out)
}

func (h *testHome) members(circle string) []memberView {
	h.t.Helper()
	return decodeLines[memberView](h.t, h.must("members", "--circle", circle, "--json"))
}

func (h *testHome) circles() []circleView {
	h.t.Helper()
	return decodeLines[circleView](h.t, h.must("circle", "list", "--json"))
}

// decodeLines decodes one JSON object a line, strictly.
func decodeLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var items []T
	for line := range strings.Lines(out) {
		var v T
		dec := json.NewDecoder(strings.NewReader(line))
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		items = append(items, v)
	}
	return items
}

// posts returns the texts of the post messages among ms.
func posts(ms []messageView) []string {
	var texts []string
	for _, m := range ms {
		if m.Kind == "post" {
			texts = append(texts, m.Text)
		}
	}
	return texts
}

// eventually polls cond until it holds, failing the test if it still does
// not after pollTimeout. cond returns a description of what it saw.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %v; last saw %s", what, pollTimeout, saw)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// hasAll reports whether got holds every text in want, and what is missing.
func hasAll(got, want []string) (bool, string) {
	var missing []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) == 0 {
		return true, ""
	}
	if len(missing) > 5 {
		return false, fmt.Sprintf("%d of %d missing, e.g. %q", len(missing), len(want), missing[:5])
	}
	return false, fmt.Sprintf("missing %q", missing)
}

// circleOfThree sets up the circle of scenario 1: A creates it and serves;
// B and C init, serve and join with codes of their own.
func circleOfThree(t *testing.T) (a, b, c *testHome, circle string) {
	t.Helper()
	a, b, c = initHome(t, "a"), initHome(t, "b"), initHome(t, "c")
	a.startServe()
	circle = a.mustLine("circle", "create", "--name", "Thursday circle", "--nick", "ann")
	for _, m := range []struct {
		h    *testHome
		nick string
	}{{b, "bea"}, {c, "cal"}} {
		code := a.mustLine("invite", "--circle", circle)
		m.h.startServe()
		if got := m.h.mustLine("join", "--nick", m.nick, code); got != circle {
			t.Fatalf("%s: join printed %q, want the circle id %q", m.h.name, got, circle)
		}
	}
	converge(t, circle, a, b, c)
	return a, b, c, circle
}

// converge waits until every home has the whole roster and the same epoch:
// a post made before a member learns of the latest join is sealed for the
// epoch before it, which the newcomer is by design unable to read.
func converge(t *testing.T, circle string, homes ...*testHome) {
	t.Helper()
	eventually(t, "every member has the same roster and epoch", func() (bool, string) {
		var saw []string
		epochs := map[uint64]bool{}
		ok := true
		for _, h := range homes {
			var c *circleView
			for _, cv := range h.circles() {
				if cv.ID == circle {
					c = &cv
				}
			}
			if c == nil {
				return false, h.name + " lacks the circle"
			}
			epochs[c.Epoch] = true
			if c.Members != len(homes) {
				ok = false
			}
			saw = append(saw, fmt.Sprintf("%s: %d members, epoch %d", h.name, c.Members, c.Epoch))
		}
		return ok && len(epochs) == 1, strings.Join(saw, "; ")
	})
}

// Scenario 1: three members, each posts, everyone sees every post and
// every member.
func TestThreeMembersSeeEachOther(t *testing.T) {
	homes := make([]*testHome, 3)
	var circle string
	homes[0], homes[1], homes[2], circle = circleOfThree(t)
	var want []string
	for _, h := range homes {
		text := "hello from " + h.name
		id := h.mustLine("post", "--circle", circle, text)
		if id == "" {
			t.Fatalf("%s: post printed no id", h.name)
		}
		want = append(want, text)
	}
	for _, h := range homes {
		eventually(t, h.name+" reads every post", func() (bool, string) {
			return hasAll(posts(h.readMessages(circle, 50)), want)
		})
		eventually(t, h.name+" sees three members", func() (bool, string) {
			ms := h.members(circle)
			return len(ms) == 3, fmt.Sprintf("%+v", ms)
		})
		ms := h.members(circle)
		var nicks []string
		selves := 0
		for _, m := range ms {
			nicks = append(nicks, m.Nick)
			if m.Self {
				selves++
			}
		}
		slices.Sort(nicks)
		if got, want := strings.Join(nicks, ","), "ann,bea,cal"; got != want {
			t.Errorf("%s: member nicks: got %s, want %s", h.name, got, want)
		}
		if selves != 1 {
			t.Errorf("%s: members marked self: got %d, want 1", h.name, selves)
		}
		cs := h.circles()
		if len(cs) != 1 || cs[0].ID != circle || cs[0].Name != "Thursday circle" {
			t.Errorf("%s: circle list: got %+v, want the one circle %s", h.name, cs, circle)
		}
	}
	// The JSON lines carry what scripts rely on.
	for _, m := range homes[0].readMessages(circle, 50) {
		if m.ID == "" || m.AuthorID == "" || m.Kind == "" || m.Scope == "" {
			t.Errorf("read --json line lacks a field: %+v", m)
		}
		if _, err := time.Parse(time.RFC3339, m.SentAt); err != nil {
			t.Errorf("sent_at %q: %v, want RFC 3339", m.SentAt, err)
		}
	}
}

// Scenario 2: a member away while 200 messages are posted has them all,
// once each, soon after it is back; what it posted while away reaches the
// others.
func TestRestartCatchesUp(t *testing.T) {
	a, b, c, circle := circleOfThree(t)
	c.stopServe()
	a.must("post", "--circle", circle, "--repeat", "100", "from a")
	b.must("post", "--circle", circle, "--repeat", "100", "from b")
	// Offline: stored now, sent when c is next online.
	c.mustLine("post", "--circle", circle, "written while away")

	var want []string
	for i := 1; i <= 100; i++ {
		want = append(want, fmt.Sprintf("from a %d", i), fmt.Sprintf("from b %d", i))
	}
	c.startServe()
	eventually(t, "c has all 200 messages", func() (bool, string) {
		return hasAll(posts(c.readMessages(circle, 1000)), want)
	})
	ms := c.readMessages(circle, 1000)
	ids := map[string]bool{}
	for _, m := range ms {
		if ids[m.ID] {
			t.Errorf("message %s (%q) appears twice", m.ID, m.Text)
		}
		ids[m.ID] = true
	}
	texts := posts(ms)
	slices.Sort(texts)
	if d := len(texts) - len(slices.Compact(slices.Clone(texts))); d != 0 {
		t.Errorf("c's posts: got %d duplicated texts, want none", d)
	}
	if got, want := len(texts), 201; got != want {
		t.Errorf("c's posts: got %d, want %d", got, want)
	}
	for _, h := range []*testHome{a, b} {
		eventually(t, h.name+" has c's post from while away", func() (bool, string) {
			return hasAll(posts(h.readMessages(circle, 1000)), []string{"written while away"})
		})
	}
}

// Scenario 3: a node never invited cannot get in, and learns nothing.
func TestStrangerCannotJoin(t *testing.T) {
	a, d := initHome(t, "a"), initHome(t, "d")
	a.startServe()
	circle := a.mustLine("circle", "create", "--name", "private", "--nick", "ann")
	code := a.mustLine("invite", "--circle", circle)
	a.mustLine("post", "--circle", circle, "not for strangers")

	d.startServe()
	own := d.mustLine("circle", "create", "--name", "d's own", "--nick", "dan")

	fabricated := []string{
		"hearth-not-a-code",
		strings.Repeat("a", len(code)),
		fabricateCode(t, code),
	}
	for _, f := range fabricated {
		r := d.run("join", "--nick", "dan", f)
		t.Logf("join with a fabricated code: %s", strings.TrimSpace(r.stderr))
		if r.code != exitFailure {
			t.Errorf("join with %.30q: got %v, want exit %d", f, r, exitFailure)
		}
		if !strings.HasPrefix(r.stderr, "hearthd: ") || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("join with %.30q: got stdout %q stderr %q, want one line on stderr only", f, r.stdout, r.stderr)
		}
	}
	cs := d.circles()
	if len(cs) != 1 || cs[0].ID != own {
		t.Errorf("d's circles: got %+v, want only its own %s", cs, own)
	}
	if r := d.run("read", "--circle", circle); r.code != exitFailure {
		t.Errorf("d reading a's circle: got %v, want exit %d", r, exitFailure)
	}
	if ms := a.members(circle); len(ms) != 1 {
		t.Errorf("a's members: got %+v, want ann alone", ms)
	}
}

// Scenario 4: spent, expired and mistyped codes fail with clear errors.
func TestInviteCodeErrors(t *testing.T) {
	a, b, c := initHome(t, "a"), initHome(t, "b"), initHome(t, "c")
	a.startServe()
	circle := a.mustLine("circle", "create", "--name", "circle", "--nick", "ann")

	t.Run("spent", func(t *testing.T) {
		code := a.mustLine("invite", "--circle", circle, "--uses", "1")
		// b is not serving: join brings it online for the join alone.
		if got := b.mustLine("join", "--nick", "bea", code); got != circle {
			t.Fatalf("b joined %q, want %q", got, circle)
		}
		c.startServe()
		defer c.stopServe()
		r := c.run("join", "--nick", "cal", code)
		if r.code != exitFailure || !strings.Contains(r.stderr, "already been used") {
			t.Errorf("second use of a code: got %v, want exit %d saying it was already used", r, exitFailure)
		}
	})
	t.Run("expired", func(t *testing.T) {
		code := a.mustLine("invite", "--circle", circle, "--expires", "1s")
		time.Sleep(2 * time.Second)
		r := c.run("join", "--nick", "cal", code)
		if r.code != exitFailure || !strings.Contains(r.stderr, "expired") {
			t.Errorf("expired code: got %v, want exit %d saying it expired", r, exitFailure)
		}
	})
	t.Run("typo", func(t *testing.T) {
		code := a.mustLine("invite", "--circle", circle)
		e := initHome(t, "e") // never online
		for _, typo := range mistype(code) {
			r := e.run("join", "--nick", "eve", typo)
			if r.code != exitFailure || !strings.Contains(r.stderr, "typo") {
				t.Errorf("code with a typo %q: got %v, want exit %d naming a typo", typo, r, exitFailure)
			}
		}
		if _, err := os.Lstat(filepath.Join(e.dir, controlSocketName)); err == nil {
			t.Errorf("a join with a typo left a control socket")
		}
		if cs := e.circles(); len(cs) != 0 {
			t.Errorf("after joins with typos: got circles %+v, want none", cs)
		}
	})
}

// mistype returns copies of code with one character replaced by another
// symbol of the code alphabet, at two places away from its prefix.
func mistype(code string) []string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var out []string
	for _, at := range []int{len(code) / 2, len(code) * 2 / 3} {
		for i := at; i < len(code); i++ {
			k := strings.IndexByte(alphabet, code[i])
			if k < 0 {
				continue
			}
			out = append(out, code[:i]+string(alphabet[(k+1)%len(alphabet)])+code[i+1:])
			break
		}
	}
	return out
}

// Scenario 5: a burst of 2,000 posts reaches every other member whole.
func TestManyPostsReachEveryone(t *testing.T) {
	a, b, c, circle := circleOfThree(t)
	const n = 2000
	start := time.Now()
	a.must("post", "--circle", circle, "--repeat", fmt.Sprint(n), "burst")
	t.Logf("posted %d messages through the control socket in %v", n, time.Since(start))
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("burst %d", i))
	}
	for _, h := range []*testHome{b, c} {
		eventually(t, h.name+" has every post of the burst", func() (bool, string) {
			return hasAll(posts(h.readMessages(circle, n+100)), want)
		})
	}
	t.Logf("every member had all %d after %v", n, time.Since(start))
}

// Scenario 6: exit statuses and their one line on stderr.
func TestExitStatuses(t *testing.T) {
	a := initHome(t, "a")
	circle := a.mustLine("circle", "create", "--name", "c", "--nick", "ann")

	r := a.run("post", "--circle", circle)
	if r.code != exitUsage || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("post without text: got %v, want exit %d and one line", r, exitUsage)
	}
	r = a.runEnv(childEnv("not the passphrase"), "circle", "list")
	if r.code != exitFailure || r.stderr != "hearthd: wrong passphrase\n" {
		t.Errorf("wrong passphrase: got %v, want exit %d and %q", r, exitFailure, "hearthd: wrong passphrase\n")
	}
	r = a.runEnv(childEnv(""), "circle", "list")
	if r.code != exitUsage || !strings.Contains(r.stderr, passphraseEnv) {
		t.Errorf("no passphrase and no terminal: got %v, want exit %d naming %s", r, exitUsage, passphraseEnv)
	}
	r = a.run("init")
	if r.code != exitFailure || !strings.Contains(r.stderr, "already") {
		t.Errorf("init twice: got %v, want exit %d", r, exitFailure)
	}

	a.startServe()
	r = a.run("serve")
	if r.code != exitFailure || r.stderr != "hearthd: this vault is open in another Hearth\n" {
		t.Errorf("second serve: got %v, want exit %d and %q", r, exitFailure, "hearthd: this vault is open in another Hearth\n")
	}
	fi, err := os.Lstat(filepath.Join(a.dir, controlSocketName))
	if err != nil {
		t.Fatalf("control socket: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("control socket mode: got %v, want 0600", got)
	}
	// Through serve, no passphrase is needed, and errors read the same.
	r = a.runEnv(childEnv(""), "read", "--circle", "aaaaaaaaaaaaaaaaaaaaaaaaaa")
	if r.code != exitFailure || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("read of an unknown circle through serve: got %v, want exit %d and one line", r, exitFailure)
	}
	offlineErr := r.stderr

	// A serve killed outright leaves its socket; commands then work
	// offline, and the next serve replaces the socket.
	sp := a.serve
	a.serve = nil
	sp.cmd.Process.Kill()
	<-sp.exited
	if _, err := os.Lstat(filepath.Join(a.dir, controlSocketName)); err != nil {
		t.Fatalf("after SIGKILL: got %v, want the stale socket still there", err)
	}
	if got := a.mustLine("post", "--circle", circle, "after a crash"); got == "" {
		t.Errorf("offline post printed no id")
	}
	r = a.run("read", "--circle", "aaaaaaaaaaaaaaaaaaaaaaaaaa")
	if r.stderr != offlineErr || r.code != exitFailure {
		t.Errorf("unknown circle offline: got %v, want exit %d and %q as through serve", r, exitFailure, offlineErr)
	}
	a.startServe()
	if texts := posts(a.readMessages(circle, 10)); !slices.Contains(texts, "after a crash") {
		t.Errorf("after restart: got posts %q, want the offline one", texts)
	}
	a.stopServe()
}

// fabricateCode returns a well-formed code for the circle and inviter of
// code, but with a secret the circle never issued.
func fabricateCode(t *testing.T, code string) string {
	t.Helper()
	inv, err := invite.Parse(code, time.Now())
	if err != nil {
		t.Fatalf("parse a fresh invite code: %v", err)
	}
	if _, err := rand.Read(inv.Secret[:]); err != nil {
		t.Fatal(err)
	}
	forged := inv.String()
	if forged == "" || forged == code {
		t.Fatalf("could not forge a code from %q", code)
	}
	return forged
}

// selfID is h's own member id in circle, as members --json shows it.
func (h *testHome) selfID(circle string) string {
	h.t.Helper()
	for _, m := range h.members(circle) {
		if m.Self {
			if len(m.ID) != memberIDLen {
				h.t.Fatalf("%s: own member id %q is not %d characters", h.name, m.ID, memberIDLen)
			}
			return m.ID
		}
	}
	h.t.Fatalf("%s: no member marked self in %s", h.name, circle)
	return ""
}

// nicksOf returns the sorted nicks of members.
func nicksOf(ms []memberView) string {
	var nicks []string
	for _, m := range ms {
		nicks = append(nicks, m.Nick)
	}
	slices.Sort(nicks)
	return strings.Join(nicks, ",")
}

// eventuallyMembers waits until h's members of circle are exactly nicks
// (sorted, comma-separated).
func eventuallyMembers(t *testing.T, h *testHome, circle, nicks string) {
	t.Helper()
	eventually(t, h.name+" sees members "+nicks, func() (bool, string) {
		got := nicksOf(h.members(circle))
		return got == nicks, got
	})
}

// wantFailure checks that r failed with status code and one line on
// stderr containing want.
func wantFailure(t *testing.T, what string, r result, code int, want string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, want) ||
		!strings.HasPrefix(r.stderr, "hearthd: ") || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
		t.Errorf("%s: got %v, want exit %d and one line on stderr saying %q", what, r, code, want)
	}
}

// Scenario 7: a facilitator removes a member, who reads nothing posted
// afterwards and can post no more; a member who is not a facilitator
// cannot remove anyone.
func TestRemoveMember(t *testing.T) {
	a, b, c, circle := circleOfThree(t)
	aID, bID := a.selfID(circle), b.selfID(circle)

	// Refused before anything happens.
	wantFailure(t, "remove of a pseudonym nobody has", a.run("remove", "--circle", circle, "--member", "not-a-member"),
		exitFailure, `nobody is called "not-a-member"`)
	wantFailure(t, "remove of an unknown member", a.run("remove", "--circle", circle, "--member", strings.Repeat("0", memberIDLen)),
		exitFailure, "no such member in this circle")
	wantFailure(t, "remove of oneself", a.run("remove", "--circle", circle, "--member", aID),
		exitUsage, "leave")
	wantFailure(t, "b, not a facilitator, removes a", b.run("remove", "--circle", circle, "--member", aID),
		exitFailure, "only a facilitator can do this")
	if r := b.run("remove", "--circle", circle, "--member", aID); r.stderr != "hearthd: only a facilitator can do this\n" {
		t.Errorf("b removes a: got stderr %q, want exactly the facilitator line", r.stderr)
	}

	if out := a.must("remove", "--circle", circle, "--member", "cal", "--reason", "asked to leave"); out != "" { // by pseudonym
		t.Errorf("remove printed %q, want nothing", out)
	}
	for _, h := range []*testHome{a, b} {
		eventuallyMembers(t, h, circle, "ann,bea")
	}

	a.mustLine("post", "--circle", circle, "after removal")
	eventually(t, "b reads the post made after the removal", func() (bool, string) {
		return hasAll(posts(b.readMessages(circle, 50)), []string{"after removal"})
	})
	// c had every chance to receive it too: it must not be able to read it.
	settle := time.Now().Add(5 * time.Second)
	for {
		if texts := posts(c.readMessages(circle, 50)); slices.Contains(texts, "after removal") {
			t.Fatalf("c, removed, reads the post made after its removal: %q", texts)
		}
		if time.Now().After(settle) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	wantFailure(t, "c, removed, posts", c.run("post", "--circle", circle, "still here?"),
		exitFailure, "you are no longer a member of this circle")
	wantFailure(t, "b, not a facilitator, removes a after c's removal", b.run("remove", "--circle", circle, "--member", aID),
		exitFailure, "only a facilitator can do this")

	// Without serve, remove brings the home online for the removal.
	a.stopServe()
	if out := a.must("remove", "--circle", circle, "--member", bID); out != "" {
		t.Errorf("offline remove printed %q, want nothing", out)
	}
	eventuallyMembers(t, a, circle, "ann")
	eventually(t, "b learns it was removed", func() (bool, string) {
		r := b.run("post", "--circle", circle, "am I still here?")
		return r.code == exitFailure && strings.Contains(r.stderr, "you are no longer a member of this circle"), r.String()
	})
}

// Scenario 8: members leave, through serve and without it; the circle is
// forgotten in their vaults and the others see them gone.
func TestLeaveCircle(t *testing.T) {
	a, b, c, circle := circleOfThree(t)
	if out := b.must("leave", "--circle", circle); out != "" {
		t.Errorf("leave printed %q, want nothing", out)
	}
	if cs := b.circles(); len(cs) != 0 {
		t.Errorf("b's circles after leaving: got %+v, want none", cs)
	}
	wantFailure(t, "b reads the circle it left", b.run("read", "--circle", circle), exitFailure, "no such circle")
	for _, h := range []*testHome{a, c} {
		eventuallyMembers(t, h, circle, "ann,cal")
	}
	converge(t, circle, a, c)

	// Without serve, leave goes online briefly so that the others hear it.
	c.stopServe()
	if out := c.must("leave", "--circle", circle); out != "" {
		t.Errorf("offline leave printed %q, want nothing", out)
	}
	if cs := c.circles(); len(cs) != 0 {
		t.Errorf("c's circles after leaving offline: got %+v, want none", cs)
	}
	eventuallyMembers(t, a, circle, "ann")
	wantFailure(t, "leave of a circle already left", c.run("leave", "--circle", circle), exitFailure, "no such circle")
}
