package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
)

var (
	// ErrNotFacilitator: the action is a facilitator's.
	ErrNotFacilitator = errors.New("only a facilitator can do this")
	// ErrNoMember: no current member has that id.
	ErrNoMember = errors.New("no such member in this circle")
)

// maxReason bounds the reason given for a removal.
const maxReason = 500

// goneGrace is how long a member who left or was removed stays admitted, so
// that it receives the records saying so.
const goneGrace = 3 * time.Second

// Remove takes a member out of the circle: a signed member-removed record,
// then a commit that seals a new epoch secret to the remaining members only,
// so the removed member reads nothing posted afterwards; every member's
// gater drops its peer. Only a facilitator may remove.
func (h *Hearth) Remove(ctx context.Context, id CircleID, member MemberID, reason string) error {
	c, err := h.circle(id)
	if err != nil {
		return err
	}
	if len(reason) > maxReason {
		return fmt.Errorf("reason %w", ErrTooLong)
	}
	c.mu.Lock()
	me := c.selfMemberLocked()
	target := c.roster[member]
	switch {
	case c.goneLocked():
		c.mu.Unlock()
		return ErrNotMember
	case me.rec.Role != record.Role_ROLE_FACILITATOR:
		c.mu.Unlock()
		return ErrNotFacilitator
	case target == nil || target.rec.Gone:
		c.mu.Unlock()
		return ErrNoMember
	case member == c.selfID:
		c.mu.Unlock()
		return fmt.Errorf("%w: to go, leave the circle", ErrInvalid)
	}
	removed, _, err := c.publishLocked(envelope.Kind_KIND_MEMBER_REMOVED,
		&record.MemberRemoved{Member: member[:], Reason: reason}, envelope.Scope_SCOPE_CIRCLE)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	commit, err := c.commitLocked(nil, []MemberID{member})
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.send(ctx, removed, commit)
	c.pushSync()
	return nil
}

// Leave says goodbye to the circle and forgets it: a member-left record
// (on which a facilitator rotates the circle's keys), then the circle's keys
// are destroyed in this vault.
func (h *Hearth) Leave(ctx context.Context, id CircleID) error {
	c, err := h.circle(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	var out outgoing
	if !c.goneLocked() {
		out, _, err = c.publishLocked(envelope.Kind_KIND_MEMBER_LEFT, &record.MemberLeft{}, envelope.Scope_SCOPE_CIRCLE)
	}
	node := c.node
	var peers []peer.ID
	for p := range c.connected {
		peers = append(peers, p)
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if node != nil && out.env != nil {
		c.send(ctx, out)
		// Make sure the others have the goodbye before the keys go.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		for _, p := range peers {
			_ = node.SyncWith(sctx, p)
		}
		cancel()
	}
	if err := c.goOffline(); err != nil {
		c.log.Debug("leave: node close", "err", err)
	}
	h.mu.Lock()
	delete(h.circles, id)
	h.mu.Unlock()
	if err := h.store.ForgetCircle([16]byte(id)); err != nil {
		return fmt.Errorf("forget circle: %w", err)
	}
	h.emit(Event{Kind: EventCircles, Circle: id})
	return nil
}

// markGoneLocked records that a member left or was removed in epoch e.
func (c *circle) markGoneLocked(m *member, e uint64) error {
	if m.rec.Gone {
		return nil
	}
	m.rec.Gone, m.rec.GoneEpoch = true, e
	return c.saveMemberLocked(m.rec)
}

// applyRemovedLocked takes a verified member-removed record.
func (c *circle) applyRemovedLocked(o *envelope.Opened, author *member) (func(), bool, error) {
	var mr record.MemberRemoved
	if err := proto.Unmarshal(o.Record.Body, &mr); err != nil || len(mr.Member) != 16 {
		return nil, false, errRefused
	}
	if author.rec.Role != record.Role_ROLE_FACILITATOR || author.rec.Gone {
		return nil, false, errRefused
	}
	target := c.roster[MemberID(mr.Member)]
	if target == nil {
		return nil, true, nil
	}
	if err := c.markGoneLocked(target, o.Header.Epoch); err != nil {
		return nil, false, err
	}
	return c.goneEffects(target), true, nil
}

// applyLeftLocked takes a verified member-left record; a facilitator
// answers it by rotating the circle's keys.
func (c *circle) applyLeftLocked(o *envelope.Opened, author *member) (func(), bool, error) {
	if err := c.markGoneLocked(author, o.Header.Epoch); err != nil {
		return nil, false, err
	}
	effects := c.goneEffects(author)
	me := c.selfMemberLocked()
	rotate := author.id != c.selfID && me != nil && !me.rec.Gone &&
		me.rec.Role == record.Role_ROLE_FACILITATOR && c.node != nil
	gone := author.id
	return func() {
		effects()
		if !rotate {
			return
		}
		out, err := c.commitLocked(nil, []MemberID{gone})
		if err != nil {
			c.log.Warn("rotate keys after a member left", "err", err)
			return
		}
		c.h.background(func() { c.send(context.Background(), out) })
	}, true, nil
}

// goneEffects is what follows a member's going: its peer is no longer
// admitted, and if it is this member, the app is told.
func (c *circle) goneEffects(m *member) func() {
	pid, self := m.peer, m.id == c.selfID
	return func() {
		if c.node != nil && !self {
			// A short grace first, so the member hears the records that
			// say it is gone; what follows is under keys it never gets.
			node := c.node
			c.h.background(func() {
				select {
				case <-time.After(goneGrace):
				case <-c.h.online.Done():
				}
				node.Disallow(pid)
			})
		}
		c.h.emit(Event{Kind: EventMembers, Circle: c.id})
		if self {
			c.h.emit(Event{Kind: EventRemoved, Circle: c.id})
		}
	}
}

// SetRole makes a member a co-facilitator, or a member again: a signed
// record every member checks against the roster. Facilitators only.
func (h *Hearth) SetRole(ctx context.Context, id CircleID, member MemberID, role Role) error {
	if role != RoleMember && role != RoleFacilitator {
		return fmt.Errorf("%w: role %s", ErrInvalid, role)
	}
	return h.publish(ctx, id, envelope.Kind_KIND_ROLE_CHANGE,
		&record.RoleChange{Member: member[:], Role: record.Role(role)}, func(c *circle) error {
			if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
				return ErrNotFacilitator
			}
			if m := c.roster[member]; m == nil || m.rec.Gone || m.rec.Role == record.Role_ROLE_MAILBOX {
				return ErrNoMember
			}
			return nil
		})
}

// applyRoleLocked takes a verified role change: by a facilitator, about a
// current member, to member or facilitator.
func (c *circle) applyRoleLocked(o *envelope.Opened, author *member) (func(), bool, error) {
	var rc record.RoleChange
	if err := proto.Unmarshal(o.Record.Body, &rc); err != nil || len(rc.Member) != 16 {
		return nil, false, errRefused
	}
	if author.rec.Role != record.Role_ROLE_FACILITATOR || author.rec.Gone ||
		rc.Role != record.Role_ROLE_MEMBER && rc.Role != record.Role_ROLE_FACILITATOR {
		return nil, false, errRefused
	}
	m := c.roster[MemberID(rc.Member)]
	if m == nil || m.rec.Gone || m.rec.Role == record.Role_ROLE_MAILBOX {
		return nil, false, errRefused
	}
	m.rec.Role = rc.Role
	if err := c.saveMemberLocked(m.rec); err != nil {
		return nil, false, err
	}
	return func() { c.h.emit(Event{Kind: EventMembers, Circle: c.id}) }, true, nil
}
