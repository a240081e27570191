package app

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/identity"
	"github.com/hearth-circles/hearth/crypto/invite"
)

// CircleID names a circle: 16 random bytes chosen by its creator.
type CircleID [16]byte

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// String is the circle id as 26 lower-case base32 characters.
func (c CircleID) String() string { return idEncoding.EncodeToString(c[:]) }

// ParseCircleID reads the form String writes.
func ParseCircleID(s string) (CircleID, error) {
	var c CircleID
	b, err := idEncoding.DecodeString(strings.ToLower(strings.TrimSpace(s)))
	if err != nil || len(b) != len(c) {
		return c, fmt.Errorf("%w: %q is not a circle id", ErrNoCircle, s)
	}
	copy(c[:], b)
	return c, nil
}

// MemberID names a member within one circle.
type MemberID = identity.MemberID

// Scope is an author's consent: who may ever see a post.
type Scope int

const (
	// ScopeCircle: only people in the circle now (the default).
	ScopeCircle Scope = Scope(envelope.Scope_SCOPE_CIRCLE)
	// ScopeFuture: also people who join later.
	ScopeFuture Scope = Scope(envelope.Scope_SCOPE_FUTURE)
	// ScopeResource: may be collected into the resource library and exported.
	ScopeResource Scope = Scope(envelope.Scope_SCOPE_RESOURCE)
)

func (s Scope) String() string {
	switch s {
	case ScopeCircle:
		return "circle"
	case ScopeFuture:
		return "future"
	case ScopeResource:
		return "resource"
	}
	return fmt.Sprintf("scope(%d)", int(s))
}

// ParseScope reads "circle", "future" or "resource".
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "circle":
		return ScopeCircle, nil
	case "future":
		return ScopeFuture, nil
	case "resource":
		return ScopeResource, nil
	}
	return 0, fmt.Errorf("unknown scope %q (want circle, future or resource): %w", s, ErrInvalid)
}

// Role is what a member may do in a circle.
type Role int

const (
	RoleMember      Role = Role(record.Role_ROLE_MEMBER)
	RoleFacilitator Role = Role(record.Role_ROLE_FACILITATOR)
	RoleMailbox     Role = Role(record.Role_ROLE_MAILBOX)
)

func (r Role) String() string {
	switch r {
	case RoleMember:
		return "member"
	case RoleFacilitator:
		return "facilitator"
	case RoleMailbox:
		return "mailbox"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

var (
	// ErrNoCircle: the vault holds no circle with that id.
	ErrNoCircle = errors.New("no such circle")
	// ErrNotMember: this member has been removed from the circle or left it.
	ErrNotMember = errors.New("you are no longer a member of this circle")
	// ErrOffline: the operation needs the network and Hearth is not online.
	ErrOffline = errors.New("not online")
	// ErrEmpty: a post with no text.
	ErrEmpty = errors.New("nothing to post")
	// ErrTooLong: a post or name longer than Hearth carries.
	ErrTooLong = errors.New("too long")
	// ErrInvalid: input Hearth cannot take (not UTF-8 text, an unknown scope).
	ErrInvalid = errors.New("invalid input")
	// ErrAlreadyMember: joining a circle this vault already belongs to.
	ErrAlreadyMember = errors.New("already a member of this circle")

	// Invite errors: a code that is mistyped, expired, spent, from another
	// version, malformed, or whose circle cannot be reached.
	ErrInviteChecksum  = invite.ErrChecksum
	ErrInviteExpired   = invite.ErrExpired
	ErrInviteVersion   = invite.ErrVersion
	ErrInviteMalformed = invite.ErrMalformed
	ErrInviteSpent     = errors.New("this invite code has already been used")
	ErrInviteUnknown   = errors.New("this invite code is not known to the circle (it may have been withdrawn)")
	ErrUnreachable     = errors.New("could not reach the circle: the inviting member may be offline")
	ErrJoinRefused     = errors.New("the circle refused the join")
)
