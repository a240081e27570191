package main

import (
	"cmp"
	"context"
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
	invite(ctx context.Context, circle string, expires time.Duration, uses int) (string, error)
	join(ctx context.Context, code, nick string) (string, error)
	post(ctx context.Context, circle string, p postParams) (messageView, error)
	read(ctx context.Context, circle string, limit int) ([]messageView, error)
	members(ctx context.Context, circle string) ([]memberView, error)
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
}

// Limits on what one command asks for.
const (
	// maxReadLimit bounds read --limit.
	maxReadLimit = 100_000
	// historyPage is how many messages read asks app.History for at once.
	historyPage = 500
	// joinTimeout bounds a join: it returns once admitted or fails by then.
	joinTimeout = 60 * time.Second
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

func (l *local) invite(ctx context.Context, circle string, expires time.Duration, uses int) (string, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return "", err
	}
	code, err := l.h.Invite(ctx, id, app.InviteOptions{Expires: expires, Uses: uses})
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
		})
	}
	return out, nil
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
