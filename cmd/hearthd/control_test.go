package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hearth-circles/hearth/app"
)

// fakeBackend answers with canned values and records what it was asked.
type fakeBackend struct {
	mu    sync.Mutex
	calls []string
	err   error
	// block, if set, makes join announce itself on joinEntered, wait for
	// its context and report why it ended on joinEnded.
	block       bool
	joinEntered chan struct{}
	joinEnded   chan error
}

func (f *fakeBackend) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.err
}

func (f *fakeBackend) createCircle(ctx context.Context, name, nick string) (string, error) {
	return "circle-" + name, f.record("create %s %s", name, nick)
}

func (f *fakeBackend) circles(ctx context.Context) ([]circleView, error) {
	return []circleView{{ID: "c1", Name: "one", Nick: "n", Role: "member", Members: 3, Online: 2, Addrs: []string{"/ip4/127.0.0.1/tcp/1"}}}, f.record("circles")
}

func (f *fakeBackend) invite(ctx context.Context, circle string, expires time.Duration, uses int, mailbox bool) (string, error) {
	return "code", f.record("invite %s %s %d", circle, expires, uses)
}

func (f *fakeBackend) join(ctx context.Context, code, nick string) (string, error) {
	if f.block {
		close(f.joinEntered)
		<-ctx.Done()
		f.joinEnded <- ctx.Err()
		return "", ctx.Err()
	}
	return "joined", f.record("join %s %s", code, nick)
}

func (f *fakeBackend) post(ctx context.Context, circle string, p postParams) (messageView, error) {
	return messageView{ID: "m1", Text: p.Text, Scope: p.Scope, CW: p.CW}, f.record("post %s %+v", circle, p)
}

func (f *fakeBackend) read(ctx context.Context, circle string, limit int) ([]messageView, error) {
	return []messageView{{ID: "m1", Author: "a", Kind: "post", Text: "t", SentAt: "2026-01-02T03:04:05Z"}}, f.record("read %s %d", circle, limit)
}

func (f *fakeBackend) members(ctx context.Context, circle string) ([]memberView, error) {
	return []memberView{{Nick: "a", ID: "x", Role: "facilitator", Online: true, Self: true}}, f.record("members %s", circle)
}

func (f *fakeBackend) remove(ctx context.Context, circle, member, reason string) error {
	return f.record("remove %s %s %q", circle, member, reason)
}

func (f *fakeBackend) leave(ctx context.Context, circle string) error {
	return f.record("leave %s", circle)
}

func (f *fakeBackend) insights(ctx context.Context, circle string) (insightsView, error) {
	return insightsView{Posts: 3}, f.record("insights %s", circle)
}

func (f *fakeBackend) guidelines(ctx context.Context, circle string, accept bool, set string) (guidelinesView, error) {
	return guidelinesView{Version: 1}, f.record("guidelines %s %v %q", circle, accept, set)
}

func (f *fakeBackend) moderate(ctx context.Context, circle string, m moderation) error {
	return f.record("moderate %s %+v", circle, m)
}

func (f *fakeBackend) events(ctx context.Context, circle string, a eventAct) (eventResult, error) {
	return eventResult{ID: "e1"}, f.record("events %s %+v", circle, a)
}

func (f *fakeBackend) library(ctx context.Context, circle string, a libraryAct) (libraryResult, error) {
	return libraryResult{ID: "r1"}, f.record("library %s %s", circle, a.Action)
}

func (f *fakeBackend) reports(ctx context.Context, circle string) ([]reportView, error) {
	return nil, f.record("reports %s", circle)
}

// noLeaks checks, after the test and its cleanups, that it left no
// goroutine running.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// startControl serves b on a socket in a new temporary home and returns a
// remote for it; the server stops at the end of the test.
func startControl(t testing.TB, b backend) *remote {
	t.Helper()
	home := shortTempDir(t)
	ln, err := listenControl(home)
	if err != nil {
		t.Fatalf("listenControl: %v", err)
	}
	ready := make(chan struct{})
	close(ready)
	srv := &controlServer{b: b, log: slog.New(slog.DiscardHandler), ready: ready, peerOK: checkPeer}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: got %v, want nil", err)
		}
		if err := ln.Close(); err != nil {
			t.Errorf("close listener: got %v, want nil", err)
		}
	})
	return &remote{path: ln.path}
}

// shortTempDir is a temporary directory with a path short enough for a
// unix socket, whatever the test's name.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestControlRoundTrip checks that every command reaches the backend
// through the socket with its arguments intact, and that the results come
// back as the backend gave them.
func TestControlRoundTrip(t *testing.T) {
	noLeaks(t)
	f := &fakeBackend{}
	r := startControl(t, f)
	direct := &fakeBackend{}
	ctx := context.Background()

	tests := []struct {
		name string
		call func(b backend) (any, error)
	}{
		{"circle create", func(b backend) (any, error) { return b.createCircle(ctx, "grief", "ann") }},
		{"circle list", func(b backend) (any, error) { return b.circles(ctx) }},
		{"invite", func(b backend) (any, error) { return b.invite(ctx, "c1", 90*time.Minute, 3, false) }},
		{"invite default", func(b backend) (any, error) { return b.invite(ctx, "c1", 0, 0, false) }},
		{"join", func(b backend) (any, error) { return b.join(ctx, "code", "bob") }},
		{"post", func(b backend) (any, error) {
			return b.post(ctx, "c1", postParams{Text: "hi\nthere", Scope: "future", CW: "grief", ReplyTo: "m0"})
		}},
		{"read", func(b backend) (any, error) { return b.read(ctx, "c1", 7) }},
		{"members", func(b backend) (any, error) { return b.members(ctx, "c1") }},
		{"remove", func(b backend) (any, error) {
			return nil, b.remove(ctx, "c1", "00112233445566778899aabbccddeeff", "said \"why\"\n")
		}},
		{"leave", func(b backend) (any, error) { return nil, b.leave(ctx, "c1") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call(r)
			if err != nil {
				t.Fatalf("through the socket: got error %v, want nil", err)
			}
			want, _ := tt.call(direct)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("result: got %#v, want %#v", got, want)
			}
		})
	}
	if !reflect.DeepEqual(f.calls, direct.calls) {
		t.Errorf("backend calls through the socket:\ngot  %q\nwant %q", f.calls, direct.calls)
	}
}

// TestControlErrors checks that an error keeps its kind, message and exit
// status across the socket.
func TestControlErrors(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		err      error
		wantKind string
		wantExit int
	}{
		{app.ErrWrongPassphrase, "wrong_passphrase", exitFailure},
		{app.ErrInUse, "in_use", exitFailure},
		{fmt.Errorf("join: %w", app.ErrInviteChecksum), "invite_checksum", exitFailure},
		{fmt.Errorf("join: %w", app.ErrInviteExpired), "invite_expired", exitFailure},
		{fmt.Errorf("join: %w", app.ErrInviteSpent), "invite_spent", exitFailure},
		{fmt.Errorf("join: %w", app.ErrUnreachable), "unreachable", exitFailure},
		{fmt.Errorf("post: %w", app.ErrNoCircle), "no_circle", exitFailure},
		{fmt.Errorf("post: %w", app.ErrEmpty), "empty", exitUsage},
		{fmt.Errorf("post: %w", app.ErrNotMember), "not_member", exitFailure},
		{fmt.Errorf("remove: %w", app.ErrNotFacilitator), "not_facilitator", exitFailure},
		{fmt.Errorf("remove: %w", app.ErrNoMember), "no_member", exitFailure},
		{fmt.Errorf("remove: %w", app.ErrTooLong), "too_long", exitUsage},
		{usageErrorf("bad scope"), "usage", exitUsage},
		{errors.New("disk full"), kindFailure, exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.wantKind, func(t *testing.T) {
			f := &fakeBackend{err: tt.err}
			r := startControl(t, f)
			_, err := r.members(context.Background(), "c1")
			if err == nil {
				t.Fatalf("got nil error, want %v", tt.err)
			}
			if got := kindOf(err); got != tt.wantKind {
				t.Errorf("kind: got %q, want %q", got, tt.wantKind)
			}
			if got, want := message(err), message(tt.err); got != want {
				t.Errorf("message: got %q, want %q", got, want)
			}
			if got := exitCode(err); got != tt.wantExit {
				t.Errorf("exit status: got %d, want %d", got, tt.wantExit)
			}
			if got := exitCode(tt.err); got != tt.wantExit {
				t.Errorf("exit status offline: got %d, want %d", got, tt.wantExit)
			}
		})
	}
}

// TestControlBadRequests sends malformed requests by hand.
func TestControlBadRequests(t *testing.T) {
	noLeaks(t)
	f := &fakeBackend{}
	r := startControl(t, f)
	tests := []struct {
		name     string
		send     string
		wantKind string
	}{
		{"not json", "hello\n", "usage"},
		{"unknown field", `{"cmd":"read","circle":"c","limit":1,"evil":true}` + "\n", "usage"},
		{"unknown cmd", `{"cmd":"format_disk"}` + "\n", "usage"},
		{"no cmd", `{}` + "\n", "usage"},
		{"two objects", `{"cmd":"circle_list"}{"cmd":"circle_list"}` + "\n", "usage"},
		{"too large", `{"cmd":"post","text":"` + strings.Repeat("a", maxRequestSize) + `"}` + "\n", "usage"},
		{"no newline", `{"cmd":"circle_list"}`, "usage"},
		{"bad expiry", `{"cmd":"invite","circle":"c","expires":"soon"}` + "\n", "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("unix", r.path)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Minute))
			go func() {
				io.WriteString(conn, tt.send)
				if !strings.HasSuffix(tt.send, "\n") {
					conn.(*net.UnixConn).CloseWrite()
				}
			}()
			line, err := readLine(conn, maxResponseSize)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			resp, err := decodeResponse(line)
			if err != nil {
				t.Fatalf("decode response %q: %v", line, err)
			}
			if resp.OK || resp.Kind != tt.wantKind {
				t.Errorf("got ok=%v kind=%q, want ok=false kind=%q", resp.OK, resp.Kind, tt.wantKind)
			}
		})
	}
	if len(f.calls) != 0 {
		t.Errorf("backend calls: got %q, want none", f.calls)
	}
}

// TestControlHangupCancels checks that a client going away cancels its
// request on the server.
func TestControlHangupCancels(t *testing.T) {
	noLeaks(t)
	f := &fakeBackend{block: true, joinEntered: make(chan struct{}), joinEnded: make(chan error, 1)}
	r := startControl(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.join(ctx, "code", "bob")
		errc <- err
	}()
	<-f.joinEntered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client: got %v, want %v", err, context.Canceled)
	}
	if err := <-f.joinEnded; !errors.Is(err, context.Canceled) {
		t.Errorf("server side join ended with %v, want %v", err, context.Canceled)
	}
}

// TestControlWaitsForReady checks that requests wait until the node is
// online, and are answered once it is.
func TestControlWaitsForReady(t *testing.T) {
	noLeaks(t)
	home := shortTempDir(t)
	ln, err := listenControl(home)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ready := make(chan struct{})
	f := &fakeBackend{}
	srv := &controlServer{b: f, log: slog.New(slog.DiscardHandler), ready: ready}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()

	r := &remote{path: ln.path}
	got := make(chan error, 1)
	go func() {
		_, err := r.circles(context.Background())
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("answered before ready: got %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(ready)
	if err := <-got; err != nil {
		t.Errorf("after ready: got %v, want nil", err)
	}
}

// TestListenControl checks the socket's mode, the replacement of a stale
// socket, refusal of a file in the way, and removal on close.
func TestListenControl(t *testing.T) {
	t.Run("fresh", func(t *testing.T) {
		home := shortTempDir(t)
		ln, err := listenControl(home)
		if err != nil {
			t.Fatalf("listenControl: %v", err)
		}
		fi, err := os.Lstat(filepath.Join(home, controlSocketName))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("socket mode: got %v, want %v", got, want)
		}
		if fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("mode: got %v, want a socket", fi.Mode())
		}
		entries, _ := os.ReadDir(home)
		if len(entries) != 1 {
			t.Errorf("home entries: got %d, want 1 (the socket alone)", len(entries))
		}
		if err := ln.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(home, controlSocketName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after close: got %v, want the socket removed", err)
		}
		if err := ln.Close(); err != nil {
			t.Errorf("second close: got %v, want nil", err)
		}
	})
	t.Run("stale", func(t *testing.T) {
		home := shortTempDir(t)
		path := filepath.Join(home, controlSocketName)
		old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		old.SetUnlinkOnClose(false)
		old.Close() // as a killed serve leaves it
		if findServe(home) != nil {
			t.Fatalf("findServe on a stale socket: got a serve, want none")
		}
		ln, err := listenControl(home)
		if err != nil {
			t.Fatalf("listenControl over a stale socket: got %v, want nil", err)
		}
		defer ln.Close()
		if findServe(home) == nil {
			t.Errorf("findServe after listening: got none, want a serve")
		}
	})
	t.Run("live", func(t *testing.T) {
		home := shortTempDir(t)
		first, err := listenControl(home)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		if _, err := listenControl(home); err == nil {
			t.Errorf("second listenControl: got nil error, want one")
		}
	})
	t.Run("not a socket", func(t *testing.T) {
		home := shortTempDir(t)
		path := filepath.Join(home, controlSocketName)
		if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := listenControl(home); err == nil {
			t.Errorf("got nil error, want one for a file in the way")
		}
		if b, _ := os.ReadFile(path); string(b) != "keep" {
			t.Errorf("file in the way: got %q, want it untouched", b)
		}
	})
	t.Run("too long", func(t *testing.T) {
		home := filepath.Join(shortTempDir(t), strings.Repeat("d", 120))
		if _, err := listenControl(home); err == nil || !strings.Contains(err.Error(), "shorter --home") {
			t.Errorf("got %v, want an error asking for a shorter --home", err)
		}
	})
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		in      string
		want    request
		wantErr bool
	}{
		{in: `{"cmd":"post","circle":"c","text":"t","scope":"future"}`, want: request{Cmd: "post", Circle: "c", Text: "t", Scope: "future"}},
		{in: " {\"cmd\":\"circle_list\"}\n", want: request{Cmd: "circle_list"}},
		{in: `{"cmd":"read","limit":5}`, want: request{Cmd: "read", Limit: 5}},
		{in: `{"cmd":"remove","circle":"c","member":"m","reason":"r"}`, want: request{Cmd: "remove", Circle: "c", Member: "m", Reason: "r"}},
		{in: ``, wantErr: true},
		{in: `[]`, wantErr: true},
		{in: `null`, wantErr: true},
		{in: `{}`, wantErr: true},
		{in: `{"cmd":"read"} x`, wantErr: true},
		{in: `{"cmd":"read"}{}`, wantErr: true},
		{in: `{"cmd":"read","limit":"5"}`, wantErr: true},
		{in: `{"cmd":"read","x":1}`, wantErr: true},
		{in: `{"cmd":"read"`, wantErr: true},
		{in: `{"cmd":"` + strings.Repeat("a", maxRequestSize) + `"}`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeRequest([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("decodeRequest(%.40q): got error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, errRequest) {
			t.Errorf("decodeRequest(%.40q): got %v, want errRequest", tt.in, err)
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("decodeRequest(%.40q): got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		in      string
		want    response
		wantErr bool
	}{
		{in: `{"ok":true,"result":"abc"}`, want: response{OK: true, Result: json.RawMessage(`"abc"`)}},
		{in: `{"ok":false,"error":"no","kind":"usage"}`, want: response{Error: "no", Kind: "usage"}},
		{in: `{"ok":false}`, wantErr: true},
		{in: `{"ok":true,"extra":1}`, wantErr: true},
		{in: `{"ok":true} {}`, wantErr: true},
		{in: `"ok"`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeResponse([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("decodeResponse(%q): got error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("decodeResponse(%q): got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		in      string
		max     int
		want    string
		wantErr error
	}{
		{in: "abc\nrest", max: 10, want: "abc\n"},
		{in: "abc", max: 10, want: "abc", wantErr: io.ErrUnexpectedEOF},
		{in: "", max: 10, wantErr: io.EOF},
		{in: "abcdefghijk\n", max: 10, wantErr: errors.New("any")},
		{in: "abcdefghi\n", max: 10, want: "abcdefghi\n"},
	}
	for _, tt := range tests {
		got, err := readLine(strings.NewReader(tt.in), tt.max)
		if (err != nil) != (tt.wantErr != nil) {
			t.Errorf("readLine(%q, %d): got error %v, want %v", tt.in, tt.max, err, tt.wantErr)
			continue
		}
		if tt.wantErr == io.EOF || tt.wantErr == io.ErrUnexpectedEOF {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("readLine(%q, %d): got error %v, want %v", tt.in, tt.max, err, tt.wantErr)
			}
		}
		if string(got) != tt.want {
			t.Errorf("readLine(%q, %d): got %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// BenchmarkControlPost measures one post through the control socket, with
// a backend that does no work: the cost the socket adds to a command.
func BenchmarkControlPost(b *testing.B) {
	r := startControl(b, &fakeBackend{})
	ctx := context.Background()
	p := postParams{Text: "a short post of ordinary length, about a line", Scope: "circle"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.post(ctx, "c1", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	line := []byte(`{"cmd":"post","circle":"tq5nl4cd6nm4bfa32lq5pyp6dm","text":"a short post of ordinary length, about a line","scope":"future"}` + "\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := decodeRequest(line); err != nil {
			b.Fatal(err)
		}
	}
}
