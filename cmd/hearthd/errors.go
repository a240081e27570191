package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hearth-circles/hearth/app"
)

// Exit statuses: the command line's contract with scripts.
const (
	exitOK      = 0
	exitUsage   = 1 // the command line or its input was wrong
	exitFailure = 2 // the command was right but could not be done
)

// errUsage marks an error as the caller's mistake: a bad flag, a malformed
// circle id, no way to ask for the passphrase. Such errors exit with status 1.
var errUsage = errors.New("usage error")

// usageErrorf returns a usage error with a message of its own.
func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

// errServeGone is returned when the control socket answered the probe but a
// request could not be completed because serve went away meanwhile.
var errServeGone = errors.New("the running hearthd serve stopped answering")

// errorKind is one row of the table that names errors on the control socket
// and words them for people. Both paths, offline and through serve, report
// an error through this table, so a script sees the same line either way.
type errorKind struct {
	kind string
	err  error
	// phrase replaces the error's own text on stderr when set; the error's
	// own text is used otherwise (it usually names the thing concerned).
	phrase string
}

// errorKinds is checked in order: the first row whose error matches wins.
var errorKinds = []errorKind{
	{kind: "usage", err: errUsage},
	{kind: "usage", err: errRequest},
	{kind: "wrong_passphrase", err: app.ErrWrongPassphrase, phrase: "wrong passphrase"},
	{kind: "in_use", err: app.ErrInUse, phrase: "this vault is open in another Hearth"},
	{kind: "no_vault", err: app.ErrNoVault},
	{kind: "vault_exists", err: app.ErrVaultExists},
	{kind: "invite_checksum", err: app.ErrInviteChecksum,
		phrase: "invite code has a typo (its checksum does not match); check it character by character"},
	{kind: "invite_expired", err: app.ErrInviteExpired,
		phrase: "invite code has expired; ask the circle for a new one"},
	{kind: "invite_spent", err: app.ErrInviteSpent,
		phrase: "invite code has already been used; ask the circle for a new one"},
	{kind: "invite_version", err: app.ErrInviteVersion,
		phrase: "invite code was made by a different version of Hearth"},
	// The invite package's own text names what is wrong with the code.
	{kind: "invite_malformed", err: app.ErrInviteMalformed},
	{kind: "invite_unknown", err: app.ErrInviteUnknown,
		phrase: "invite code is not known to the circle (it may have been withdrawn)"},
	{kind: "join_refused", err: app.ErrJoinRefused,
		phrase: "the circle refused the join: the invite code is not valid for it"},
	{kind: "unreachable", err: app.ErrUnreachable,
		phrase: "could not reach the circle: the inviting member may be offline, or the code was not issued by the circle"},
	{kind: "no_circle", err: app.ErrNoCircle},
	{kind: "not_member", err: app.ErrNotMember},
	{kind: "not_facilitator", err: app.ErrNotFacilitator, phrase: "only a facilitator can do this"},
	{kind: "no_member", err: app.ErrNoMember},
	{kind: "offline", err: app.ErrOffline},
	{kind: "empty", err: app.ErrEmpty},
	{kind: "too_long", err: app.ErrTooLong},
	{kind: "invalid", err: app.ErrInvalid},
	{kind: "already_member", err: app.ErrAlreadyMember},
	{kind: "serve_gone", err: errServeGone},
	{kind: "timeout", err: context.DeadlineExceeded, phrase: "timed out"},
	{kind: "canceled", err: context.Canceled, phrase: "interrupted"},
}

// kindFailure names every error the table does not know.
const kindFailure = "failure"

// usageKinds are the kinds that mean the input was wrong rather than that
// the work failed; they exit with status 1.
var usageKinds = map[string]bool{"usage": true, "empty": true, "too_long": true, "invalid": true}

// kindOf names err for the control socket.
func kindOf(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return kindFailure
}

// errorOfKind returns the sentinel a kind names, or nil for an unknown kind.
func errorOfKind(kind string) error {
	for _, k := range errorKinds {
		if k.kind == kind {
			return k.err
		}
	}
	return nil
}

// remoteError is an error reported by serve over the control socket: its
// text as serve wrote it, matching (errors.Is) the sentinel its kind names.
type remoteError struct {
	kind string
	msg  string
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Unwrap() error {
	if err := errorOfKind(e.kind); err != nil {
		return err
	}
	return nil
}

// exitCode is the exit status for err.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if usageKinds[kindOf(err)] {
		return exitUsage
	}
	return exitFailure
}

// message words err as the one line hearthd prints on stderr (without the
// "hearthd: " prefix).
func message(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) && k.phrase != "" {
			return k.phrase
		}
	}
	return oneLine(err.Error())
}

// oneLine folds a message onto a single line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "failed"
	}
	return s
}
