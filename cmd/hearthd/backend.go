package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hearth-circles/hearth/app"
)

// backend is everything the commands ask of Hearth. It has two
// implementations: local, which calls an *app.Hearth in this process, and
// remote, which asks a running "hearthd serve" over its control socket. The
// control server answers a remote's requests by calling a local, so a
// command runs the same code whichever way it reaches the vault.
//
// Circle ids travel as strings; every implementation parses them with
// app.ParseCircleID.
type backend interface {
	createCircle(ctx context.Context, name, nick string) (string, error)
	circles(ctx context.Context) ([]circleView, error)
	invite(ctx context.Context, circle string, expires time.Duration, uses int, mailbox bool) (string, error)
	join(ctx context.Context, code, nick string) (string, error)
	post(ctx context.Context, circle string, p postParams) (messageView, error)
	read(ctx context.Context, circle string, limit int) ([]messageView, error)
	members(ctx context.Context, circle string) ([]memberView, error)
	remove(ctx context.Context, circle, member, reason string) error
	leave(ctx context.Context, circle string) error
	insights(ctx context.Context, circle string) (insightsView, error)
	guidelines(ctx context.Context, circle string, accept bool, set string) (guidelinesView, error)
	moderate(ctx context.Context, circle string, m moderation) error
	events(ctx context.Context, circle string, a eventAct) (eventResult, error)
	library(ctx context.Context, circle string, a libraryAct) (libraryResult, error)
	reports(ctx context.Context, circle string) ([]reportView, error)
}

// postParams is what a post carries besides its circle.
type postParams struct {
	Text    string `json:"text"`
	Scope   string `json:"scope,omitempty"`
	CW      string `json:"cw,omitempty"`
	ReplyTo string `json:"reply_to,omitempty"`
}

// circleView is a circle as the command line shows it.
type circleView struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Nick    string   `json:"nick"`
	Role    string   `json:"role"`
	Epoch   uint64   `json:"epoch"`
	Members int      `json:"members"`
	Online  int      `json:"online"`
	Addrs   []string `json:"addrs,omitempty"`
}

// messageView is a message as the command line shows it. SentAt is the
// author's advisory send time in RFC 3339.
type messageView struct {
	ID       string `json:"id"`
	Cursor   string `json:"cursor,omitempty"`
	Author   string `json:"author"`
	AuthorID string `json:"author_id"`
	Kind     string `json:"kind"`
	Scope    string `json:"scope"`
	Text     string `json:"text"`
	CW       string `json:"cw,omitempty"`
	ReplyTo  string `json:"reply_to,omitempty"`
	SentAt   string `json:"sent_at"`
	Lamport  uint64 `json:"lamport"`
	Mine     bool   `json:"mine"`
}

// memberView is a member of a circle as the command line shows it.
type memberView struct {
	Nick   string `json:"nick"`
	ID     string `json:"id"`
	Role   string `json:"role"`
	Online bool   `json:"online"`
	Self   bool   `json:"self"`
	// Route is "direct" or "relayed" (through a mailbox) while online.
	Route string `json:"route,omitempty"`
}

// Limits on what one command asks for.
const (
	// maxReadLimit bounds read --limit.
	maxReadLimit = 100_000
	// historyPage is how many messages read asks app.History for at once.
	historyPage = 500
	// joinTimeout bounds a join: it returns once admitted or fails by then.
	joinTimeout = 60 * time.Second
	// reachTimeout bounds how long remove or leave, having brought the
	// home online themselves, wait for the other members to connect.
	reachTimeout = 10 * time.Second
	// removeLinger is how long remove, having brought the home online
	// itself, stays online after the removal so that it reaches the others
	// (and the removed member, admitted that long, hears of it).
	removeLinger = 3 * time.Second
)

// local is the backend over an *app.Hearth in this process.
type local struct {
	h *app.Hearth
	// goOnline brings h online for a join when nothing else has; it is nil
	// when h is already online (under serve). It is called at most once.
	goOnline func(ctx context.Context) error
	online   bool
}

func parseCircle(s string) (app.CircleID, error) {
	id, err := app.ParseCircleID(s)
	if err != nil {
		return id, usageErrorf("%q is not a circle id", s)
	}
	return id, nil
}

// memberIDLen is the length of a member id as the command line shows it.
const memberIDLen = 2 * len(app.MemberID{})

// parseMember parses a member id strictly: exactly 32 lowercase hex
// characters, as members --json prints it.
func parseMember(s string) (app.MemberID, error) {
	var id app.MemberID
	bad := usageErrorf("%q is not a member id (%d lowercase hex characters, as members --json shows it)", s, memberIDLen)
	if len(s) != memberIDLen {
		return id, bad
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return id, bad
		}
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, bad
	}
	return id, nil
}

// resolveMember finds a current member of a circle by id or by pseudonym.
// A string shaped like a member id is taken as one; otherwise it must be
// the pseudonym of exactly one current member (compared as shown, ignoring
// case), so a name two members share is refused rather than guessed.
func (l *local) resolveMember(id app.CircleID, s string) (app.MemberID, error) {
	if looksLikeMemberID(s) {
		return parseMember(s)
	}
	ms, err := l.h.Members(id)
	if err != nil {
		return app.MemberID{}, err
	}
	var found []app.Member
	for _, m := range ms {
		if strings.EqualFold(m.Nick, s) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return app.MemberID{}, fmt.Errorf("%w: nobody is called %q (members --json lists ids and pseudonyms)", app.ErrNoMember, s)
	case 1:
		return found[0].ID, nil
	}
	return app.MemberID{}, usageErrorf("%d members are called %q; give the member id instead (members --json)", len(found), s)
}

// looksLikeMemberID tells whether s has the shape of a member id.
func looksLikeMemberID(s string) bool {
	if len(s) != memberIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (l *local) createCircle(ctx context.Context, name, nick string) (string, error) {
	id, err := l.h.CreateCircle(ctx, name, nick)
	if err != nil {
		return "", fmt.Errorf("create circle: %w", err)
	}
	return id.String(), nil
}

func (l *local) circles(ctx context.Context) ([]circleView, error) {
	cs := l.h.Circles()
	out := make([]circleView, 0, len(cs))
	for _, c := range cs {
		out = append(out, circleView{
			ID:      c.ID.String(),
			Name:    c.Name,
			Nick:    c.Nick,
			Role:    c.Role.String(),
			Epoch:   c.Epoch,
			Members: c.Members,
			Online:  c.Online,
			Addrs:   c.Addrs,
		})
	}
	slices.SortFunc(out, func(a, b circleView) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (l *local) invite(ctx context.Context, circle string, expires time.Duration, uses int, mailbox bool) (string, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return "", err
	}
	code, err := l.h.Invite(ctx, id, app.InviteOptions{Expires: expires, Uses: uses, Mailbox: mailbox})
	if err != nil {
		return "", fmt.Errorf("invite: %w", err)
	}
	return code, nil
}

// join admits this home to a circle. Under serve the node is online
// already. Otherwise the join is first tried offline, so a mistyped,
// expired or malformed code fails before any network traffic; only when
// Hearth answers that it needs the network does join bring it online.
func (l *local) join(ctx context.Context, code, nick string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	id, err := l.h.Join(ctx, code, nick)
	if errors.Is(err, app.ErrOffline) && l.goOnline != nil && !l.online {
		if err := l.goOnline(ctx); err != nil {
			return "", fmt.Errorf("go online: %w", err)
		}
		l.online = true
		id, err = l.h.Join(ctx, code, nick)
	}
	if err != nil {
		return "", err // Join's errors say what went wrong with the code
	}
	// Joining from the command line accepts the circle's guidelines, as the
	// desktop's join dialog asks a member to; `--help` says so.
	if err := l.h.AcceptGuidelines(ctx, id); err != nil {
		return "", fmt.Errorf("accept the guidelines: %w", err)
	}
	return id.String(), nil
}

func (l *local) post(ctx context.Context, circle string, p postParams) (messageView, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return messageView{}, err
	}
	scope, err := app.ParseScope(p.Scope)
	if err != nil {
		return messageView{}, usageErrorf("%v", err)
	}
	m, err := l.h.Post(ctx, id, app.PostOptions{
		Text:           p.Text,
		Scope:          scope,
		ContentWarning: p.CW,
		ReplyTo:        p.ReplyTo,
	})
	if err != nil {
		return messageView{}, fmt.Errorf("post: %w", err)
	}
	return viewMessage(m), nil
}

// read returns the last limit messages of a circle, oldest first, asking
// app.History a page at a time.
func (l *local) read(ctx context.Context, circle string, limit int) ([]messageView, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > maxReadLimit {
		return nil, usageErrorf("limit %d is out of range (1 to %d)", limit, maxReadLimit)
	}
	var pages [][]app.Message
	total := 0
	before := ""
	for total < limit {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		page, err := l.h.History(id, before, min(historyPage, limit-total))
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		if len(page) == 0 || page[0].Cursor == "" || page[0].Cursor == before {
			pages = append(pages, page)
			total += len(page)
			break
		}
		pages = append(pages, page)
		total += len(page)
		before = page[0].Cursor
	}
	out := make([]messageView, 0, total)
	for i := len(pages) - 1; i >= 0; i-- {
		for _, m := range pages[i] {
			out = append(out, viewMessage(m))
		}
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func (l *local) members(ctx context.Context, circle string) ([]memberView, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return nil, err
	}
	ms, err := l.h.Members(id)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	out := make([]memberView, 0, len(ms))
	for _, m := range ms {
		out = append(out, memberView{
			Nick:   m.Nick,
			ID:     m.ID.String(),
			Role:   m.Role.String(),
			Online: m.Online,
			Self:   m.Self,
			Route:  m.Route,
		})
	}
	return out, nil
}

// remove takes a member out of a circle. Under serve the node is online
// already. Otherwise the request is first checked offline, so a command
// that cannot succeed fails before any network traffic; then remove brings
// the home online, waits a little for the others to connect, removes, and
// stays online briefly so that the removal reaches them. Members it did not
// reach have it from this home's log when it is next online.
func (l *local) remove(ctx context.Context, circle, member, reason string) error {
	id, err := parseCircle(circle)
	if err != nil {
		return err
	}
	target, err := l.resolveMember(id, member)
	if err != nil {
		return err
	}
	if l.needsOnline() {
		if err := l.precheckRemove(id, target); err != nil {
			return fmt.Errorf("remove: %w", err)
		}
	}
	brought, err := l.reach(ctx, id)
	if err != nil {
		return err
	}
	if err := l.h.Remove(ctx, id, target, reason); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if brought {
		t := time.NewTimer(removeLinger)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done(): // removed all the same; the rest goes out later
		}
	}
	return nil
}

// precheckRemove refuses, without the network, a removal that app.Remove
// would refuse: the circle, this member's role and the target as they are
// known here. app.Remove checks again once online.
func (l *local) precheckRemove(id app.CircleID, target app.MemberID) error {
	ms, err := l.h.Members(id)
	if err != nil {
		return err
	}
	var self *app.Member
	found := false
	for i, m := range ms {
		if m.Self {
			self = &ms[i]
		}
		if m.ID == target {
			found = true
		}
	}
	switch {
	case self == nil:
		return app.ErrNotMember
	case self.Role != app.RoleFacilitator:
		return app.ErrNotFacilitator
	case !found:
		return app.ErrNoMember
	}
	return nil
}

// leave says goodbye to a circle and forgets it here. Without serve, leave
// brings the home online briefly so that the others hear the goodbye; should
// none of them be reachable, the circle is forgotten all the same.
func (l *local) leave(ctx context.Context, circle string) error {
	id, err := parseCircle(circle)
	if err != nil {
		return err
	}
	if l.needsOnline() {
		if _, err := l.h.Members(id); err != nil {
			return fmt.Errorf("leave: %w", err)
		}
	}
	if _, err := l.reach(ctx, id); err != nil {
		return err
	}
	if err := l.h.Leave(ctx, id); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}

// needsOnline reports whether a command that must reach the others has to
// bring this home online itself.
func (l *local) needsOnline() bool { return l.goOnline != nil && !l.online }

// reach brings the home online when nothing else has, then waits, up to
// reachTimeout, until every other current member of circle id is
// connected. It reports whether it brought the home online. A circle that
// does not come online (this member is gone from it) is not waited for.
func (l *local) reach(ctx context.Context, id app.CircleID) (bool, error) {
	if !l.needsOnline() {
		return false, nil
	}
	if err := l.goOnline(ctx); err != nil {
		return false, fmt.Errorf("go online: %w", err)
	}
	l.online = true
	deadline := time.NewTimer(reachTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		cs := l.h.Circles()
		i := slices.IndexFunc(cs, func(c app.CircleInfo) bool { return c.ID == id })
		if i < 0 {
			return true, nil
		}
		if c := cs[i]; c.Online == 0 || c.Online >= c.Members {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-deadline.C:
			return true, nil // those not reached hear of it later
		case <-tick.C:
		}
	}
}

func viewMessage(m app.Message) messageView {
	return messageView{
		ID:       m.ID,
		Cursor:   m.Cursor,
		Author:   m.AuthorNick,
		AuthorID: m.Author.String(),
		Kind:     m.Kind,
		Scope:    m.Scope.String(),
		Text:     m.Text,
		CW:       m.ContentWarning,
		ReplyTo:  m.ReplyTo,
		SentAt:   m.SentAt.UTC().Format(time.RFC3339Nano),
		Lamport:  m.Lamport,
		Mine:     m.Mine,
	}
}
