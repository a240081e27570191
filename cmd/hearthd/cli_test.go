package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-circles/hearth/app"
)

// runInProcess runs the command line in this process with the given
// environment and returns its exit status, stdout and stderr.
func runInProcess(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &env{
		stdin:  strings.NewReader(""),
		stdout: &stdout,
		stderr: &stderr,
		lookupEnv: func(k string) (string, bool) {
			v, ok := vars[k]
			return v, ok
		},
	})
	return code, stdout.String(), stderr.String()
}

// TestUsageErrors checks that mistakes on the command line exit with
// status 1 and one line on stderr, before anything is opened.
func TestUsageErrors(t *testing.T) {
	home := t.TempDir()
	id := app.CircleID{1, 2, 3}.String()
	withPass := map[string]string{passphraseEnv: "pw"}
	tests := []struct {
		name       string
		vars       map[string]string
		args       []string
		wantInErr  string
		wantStatus int
	}{
		{"no command", withPass, []string{}, "", exitUsage},
		{"unknown command", withPass, []string{"--home", home, "dance"}, "unexpected argument dance", exitUsage},
		{"unknown flag", withPass, []string{"--home", home, "circle", "list", "--colour"}, "unknown flag --colour", exitUsage},
		{"missing circle", withPass, []string{"--home", home, "read"}, "--circle", exitUsage},
		{"bad circle id", withPass, []string{"--home", home, "read", "--circle", "nope"}, `"nope" is not a circle id`, exitUsage},
		{"bad scope", withPass, []string{"--home", home, "post", "--circle", id, "--scope", "world", "hi"}, "--scope", exitUsage},
		{"missing text", withPass, []string{"--home", home, "post", "--circle", id}, "text", exitUsage},
		{"zero limit", withPass, []string{"--home", home, "read", "--circle", id, "--limit", "0"}, "--limit", exitUsage},
		{"huge limit", withPass, []string{"--home", home, "read", "--circle", id, "--limit", "1000001"}, "--limit", exitUsage},
		{"zero repeat", withPass, []string{"--home", home, "post", "--circle", id, "--repeat", "0", "hi"}, "--repeat", exitUsage},
		{"zero uses", withPass, []string{"--home", home, "invite", "--circle", id, "--uses", "0"}, "--uses", exitUsage},
		{"negative expiry", withPass, []string{"--home", home, "invite", "--circle", id, "--expires", "-1h"}, "--expires", exitUsage},
		{"bad expiry", withPass, []string{"--home", home, "invite", "--circle", id, "--expires", "soon"}, "expires", exitUsage},
		{"remove without member", withPass, []string{"--home", home, "remove", "--circle", id}, "--member", exitUsage},
		{"blank member", withPass, []string{"--home", home, "remove", "--circle", id, "--member", " "}, "--member", exitUsage},
		{"blank member to promote", withPass, []string{"--home", home, "promote", "--circle", id, "--member", ""}, "--member", exitUsage},
		{"remove bad circle", withPass, []string{"--home", home, "remove", "--circle", "nope", "--member", "00112233445566778899aabbccddeeff"}, `"nope" is not a circle id`, exitUsage},
		{"leave without circle", withPass, []string{"--home", home, "leave"}, "--circle", exitUsage},
		{"leave bad circle", withPass, []string{"--home", home, "leave", "--circle", "nope"}, `"nope" is not a circle id`, exitUsage},
		{"join without nick", withPass, []string{"--home", home, "join", "code"}, "--nick", exitUsage},
		{"bad listen", withPass, []string{"--home", home, "serve", "--listen", "127.0.0.1:4001"}, "--listen", exitUsage},
		{"no passphrase", nil, []string{"--home", home, "init"}, "no passphrase: set HEARTH_PASSPHRASE", exitUsage},
		{"empty passphrase", map[string]string{passphraseEnv: ""}, []string{"--home", home, "init"}, "HEARTH_PASSPHRASE is set but empty", exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runInProcess(t, tt.vars, tt.args...)
			if code != tt.wantStatus {
				t.Errorf("exit status: got %d, want %d (stderr %q)", code, tt.wantStatus, stderr)
			}
			if !strings.HasPrefix(stderr, "hearthd: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr: got %q, want one line starting with \"hearthd: \"", stderr)
			}
			if !strings.Contains(stderr, tt.wantInErr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr, tt.wantInErr)
			}
			if stdout != "" {
				t.Errorf("stdout: got %q, want nothing", stdout)
			}
		})
	}
	if app.VaultExists(home) {
		t.Errorf("a usage error created a vault")
	}
}

// TestHelp checks that --help succeeds and says how to listen beyond
// loopback.
func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"serve", "join", "HEARTH_PASSPHRASE", "Exit status"}},
		{[]string{"serve", "--help"}, []string{"--listen /ip4/0.0.0.0/tcp/4001", "/ip4/127.0.0.1/tcp/0", "--mdns"}},
		{[]string{"post", "--help"}, []string{"--repeat", "--cw", "--scope"}},
		{[]string{"join", "--help"}, []string{"60 s", "--nick"}},
		{[]string{"--help"}, []string{"remove", "leave"}},
		{[]string{"remove", "--help"}, []string{"--member", "--reason", "facilitator"}},
		{[]string{"leave", "--help"}, []string{"--circle", "forgotten"}},
	}
	for _, tt := range tests {
		code, stdout, stderr := runInProcess(t, nil, tt.args...)
		if code != exitOK {
			t.Errorf("%q: exit status: got %d, want 0 (stderr %q)", tt.args, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%q: help does not mention %q:\n%s", tt.args, w, stdout)
			}
		}
	}
}

// TestNoVault checks the failure for a home without a vault.
func TestNoVault(t *testing.T) {
	home := filepath.Join(t.TempDir(), "none")
	code, _, stderr := runInProcess(t, map[string]string{passphraseEnv: "pw"}, "--home", home, "circle", "list")
	if code != exitFailure {
		t.Errorf("exit status: got %d, want %d", code, exitFailure)
	}
	if want := "--home " + home + " init"; !strings.Contains(stderr, want) {
		t.Errorf("stderr: got %q, want it to contain %q", stderr, want)
	}
}

func TestDefaultHome(t *testing.T) {
	tests := []struct {
		name string
		flag string
		vars map[string]string
		want string
	}{
		{"flag wins", "/srv/h", map[string]string{"HEARTH_HOME": "/x", "HOME": "/home/u"}, "/srv/h"},
		{"HEARTH_HOME", "", map[string]string{"HEARTH_HOME": "/x/y", "XDG_DATA_HOME": "/d", "HOME": "/home/u"}, "/x/y"},
		{"XDG_DATA_HOME", "", map[string]string{"XDG_DATA_HOME": "/d", "HOME": "/home/u"}, "/d/hearth"},
		{"relative XDG ignored", "", map[string]string{"XDG_DATA_HOME": "d", "HOME": "/home/u"}, "/home/u/.local/share/hearth"},
		{"HOME", "", map[string]string{"HOME": "/home/u"}, "/home/u/.local/share/hearth"},
	}
	for _, tt := range tests {
		got, err := resolveHome(tt.flag, func(k string) string { return tt.vars[k] })
		if err != nil {
			t.Errorf("%s: got error %v, want %q", tt.name, err, tt.want)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	rel, err := resolveHome("rel", func(string) string { return "" })
	if err != nil || !filepath.IsAbs(rel) {
		t.Errorf("relative --home: got %q, %v, want an absolute path", rel, err)
	}
}

// TestMessages checks the one line printed for each error callers know.
func TestMessages(t *testing.T) {
	tests := []struct {
		err        error
		want       string
		wantStatus int
	}{
		{app.ErrWrongPassphrase, "wrong passphrase", exitFailure},
		{fmt.Errorf("open: %w", app.ErrInUse), "this vault is open in another Hearth", exitFailure},
		{fmt.Errorf("join: %w", app.ErrInviteChecksum), "invite code has a typo", exitFailure},
		{fmt.Errorf("join: %w", app.ErrInviteExpired), "invite code has expired", exitFailure},
		{fmt.Errorf("join: %w", app.ErrInviteSpent), "invite code has already been used", exitFailure},
		{fmt.Errorf("join: %w", app.ErrInviteVersion), "different version", exitFailure},
		{fmt.Errorf("join: %w", app.ErrInviteMalformed), app.ErrInviteMalformed.Error(), exitFailure},
		{fmt.Errorf("join: %w", app.ErrUnreachable), "could not reach the circle", exitFailure},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timed out", exitFailure},
		{errors.New("two\nlines"), "two lines", exitFailure},
		{usageErrorf("bad"), "bad", exitUsage},
		{fmt.Errorf("post is not valid text: %w", app.ErrInvalid), "not valid text", exitUsage},
		{app.ErrAlreadyMember, app.ErrAlreadyMember.Error(), exitFailure},
		{errors.Join(usageErrorf("bad"), errors.New("close")), "bad close", exitUsage},
	}
	for _, tt := range tests {
		got := message(tt.err)
		if !strings.Contains(got, tt.want) || strings.Contains(got, "\n") {
			t.Errorf("message(%q): got %q, want one line containing %q", tt.err, got, tt.want)
		}
		if got := exitCode(tt.err); got != tt.wantStatus {
			t.Errorf("exitCode(%q): got %d, want %d", tt.err, got, tt.wantStatus)
		}
		// The same error reported by serve reads the same.
		re := &remoteError{kind: kindOf(tt.err), msg: tt.err.Error()}
		if got, want := message(re), message(tt.err); got != want {
			t.Errorf("message through the socket: got %q, want %q", got, want)
		}
		if got, want := exitCode(re), exitCode(tt.err); got != want {
			t.Errorf("exit status through the socket: got %d, want %d", got, want)
		}
	}
}

func TestSafeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"two\nlines", "two\nlines"},
		{"tab\there", "tab here"},
		{"\x1b[2Jcleared", `\x1b[2Jcleared`},
		{"bell\a", `bell\x07`},
		{"left \u202eright", `left \u202eright`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"bom\ufeff", `bom\ufeff`},
		{"c1\u009b", `c1\u009b`},
		{"bad \xff byte", `bad \xff byte`},
		{"ünïcödé ✓", "ünïcödé ✓"},
		{"\u2028sep", `\u2028sep`},
	}
	for _, tt := range tests {
		if got := safeText(tt.in); got != tt.want {
			t.Errorf("safeText(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("n", 200)
	if got := []rune(safeName(long)); len(got) != maxNameRunes {
		t.Errorf("safeName of 200 runes: got %d runes, want %d", len(got), maxNameRunes)
	}
	if got := safeName("a\nb"); got != "a b" {
		t.Errorf("safeName(%q): got %q, want %q", "a\nb", got, "a b")
	}
}

func TestFormatMessage(t *testing.T) {
	tests := []struct {
		m    messageView
		want string
	}{
		{messageView{Author: "ann", Kind: "post", Scope: "circle", Text: "hello"}, "ann: hello\n"},
		{messageView{Author: "ann", Kind: "post", Scope: "future", Text: "a\nb"}, "ann [future]: a\n    b\n"},
		{messageView{Author: "ann", Kind: "post", Scope: "circle", CW: "loss", Text: "t"}, "ann: [cw: loss] t\n"},
		{messageView{Author: "bob", Kind: "joined"}, "* bob joined\n"},
		{messageView{Author: "ann", Kind: "joined", Text: "cal"}, "* cal joined\n"},
		{messageView{Author: "ann", Kind: "guidelines", Text: "be kind\nlisten"}, "* ann guidelines: be kind\n    listen\n"},
		{messageView{Author: "\x1b]0;x\a", Kind: "post", Text: "t"}, `\x1b]0;x\x07: t` + "\n"},
	}
	for _, tt := range tests {
		got := formatMessage(tt.m)
		// Strip the time column, which depends on the local zone.
		if i := strings.Index(got, "  "); i >= 0 {
			got = got[i+2:]
		}
		if got != tt.want {
			t.Errorf("formatMessage(%+v): got %q, want %q", tt.m, got, tt.want)
		}
	}
}
