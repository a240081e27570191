package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
)

// ErrGuidelines: a member reads but does not post until it has accepted the
// circle's current guidelines.
var ErrGuidelines = errors.New("accept the circle's guidelines before posting")

// maxGuidelines bounds the guidelines' text.
const maxGuidelines = 16 << 10

// Guidelines are a circle's shared agreements as this member sees them.
type Guidelines struct {
	Text     string
	Version  uint32
	Accepted bool // this member accepted this version
}

// Guidelines returns the circle's current guidelines.
func (h *Hearth) Guidelines(id CircleID) (Guidelines, error) {
	c, err := h.circle(id)
	if err != nil {
		return Guidelines{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.state.Guidelines
	if g == nil {
		return Guidelines{Accepted: true}, nil
	}
	return Guidelines{Text: cleanText(g.Text), Version: g.Version, Accepted: c.state.GuidelinesAccepted >= g.Version}, nil
}

// guidelinesAcceptedLocked reports whether this member may post.
func (c *circle) guidelinesAcceptedLocked() bool {
	return c.state.Guidelines == nil || c.state.GuidelinesAccepted >= c.state.Guidelines.Version
}

// AcceptGuidelines accepts the circle's current guidelines, with a signed
// record the facilitators see.
func (h *Hearth) AcceptGuidelines(ctx context.Context, id CircleID) error {
	c, err := h.circle(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.state.Guidelines == nil || c.guidelinesAcceptedLocked() {
		c.mu.Unlock()
		return nil
	}
	out, err := c.acceptGuidelinesLocked()
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.send(ctx, out)
	return nil
}

func (c *circle) acceptGuidelinesLocked() (outgoing, error) {
	v := c.state.Guidelines.Version
	out, _, err := c.publishLocked(envelope.Kind_KIND_GUIDELINES_ACCEPTED, &record.GuidelinesAccepted{Version: v}, envelope.Scope_SCOPE_CIRCLE)
	if err != nil {
		return outgoing{}, err
	}
	c.state.GuidelinesAccepted = v
	return out, c.saveStateLocked(true)
}

// SetGuidelines replaces the circle's guidelines with a new version, which
// every member accepts before posting again. Facilitators only.
func (h *Hearth) SetGuidelines(ctx context.Context, id CircleID, text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return ErrEmpty
	}
	if len(text) > maxGuidelines {
		return fmt.Errorf("guidelines %w", ErrTooLong)
	}
	c, err := h.circle(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
		c.mu.Unlock()
		return ErrNotFacilitator
	}
	v := uint32(1)
	if c.state.Guidelines != nil {
		v = c.state.Guidelines.Version + 1
	}
	set, _, err := c.publishLocked(envelope.Kind_KIND_GUIDELINES, &record.Guidelines{Text: text, Version: v}, envelope.Scope_SCOPE_FUTURE)
	var accepted outgoing
	if err == nil {
		accepted, err = c.acceptGuidelinesLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.send(ctx, set, accepted)
	return nil
}

// applyAcceptedLocked notes which version a member accepted.
func (c *circle) applyAcceptedLocked(o *envelope.Opened, author *member) (func(), bool, error) {
	var ga record.GuidelinesAccepted
	if err := proto.Unmarshal(o.Record.Body, &ga); err != nil {
		return nil, false, errRefused
	}
	if ga.Version > author.rec.GuidelinesAccepted {
		author.rec.GuidelinesAccepted = ga.Version
		if err := c.saveMemberLocked(author.rec); err != nil {
			return nil, false, err
		}
	}
	return nil, false, nil
}
