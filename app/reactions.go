package app

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
)

// Reactions are the gentle answers a member can give a post.
var Reactions = []string{"I hear you", "Thank you", "Sending strength"}

// Buckets of what members did to posts after they were written.
const (
	bucketReactions = "reactions" // target (24 bytes) ‖ reactor (16) → reaction
	bucketRetracted = "retracted" // target → (empty)
	bucketHidden    = "hidden"    // target → reason
)

// refKey is the store key of a record reference: author id and sequence.
func refKey(k entryKey) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), k.author[:]...), k.seq)
}

func parseRefKey(b []byte) (entryKey, bool) {
	if len(b) < 24 {
		return entryKey{}, false
	}
	return entryKey{author: MemberID(b[:16]), seq: binary.BigEndian.Uint64(b[16:24])}, true
}

func refOf(r *record.Ref) (entryKey, bool) {
	if r == nil || len(r.Author) != 16 || r.Seq == 0 {
		return entryKey{}, false
	}
	return entryKey{author: MemberID(r.Author), seq: r.Seq}, true
}

// afterPost is what became of posts: reactions, retractions, hiding. It is
// kept in memory (and in the store) so that rendering a page needs no reads.
type afterPost struct {
	reactions map[entryKey]map[MemberID]string
	retracted map[entryKey]bool
	hidden    map[entryKey]string
	scope     map[entryKey]envelope.Scope // narrowed by the author
}

// loadAfterPost reads it from the store.
func (c *circle) loadAfterPost() error {
	c.after = afterPost{
		reactions: map[entryKey]map[MemberID]string{},
		retracted: map[entryKey]bool{}, hidden: map[entryKey]string{},
	}
	if err := c.store.List(c.id, bucketReactions, func(k, v []byte) error {
		if t, ok := parseRefKey(k); ok && len(k) == 40 {
			c.setReaction(t, MemberID(k[24:40]), string(v))
		}
		return nil
	}); err != nil {
		return err
	}
	if err := c.store.List(c.id, bucketRetracted, func(k, _ []byte) error {
		if t, ok := parseRefKey(k); ok {
			c.after.retracted[t] = true
		}
		return nil
	}); err != nil {
		return err
	}
	return c.store.List(c.id, bucketHidden, func(k, v []byte) error {
		if t, ok := parseRefKey(k); ok {
			c.after.hidden[t] = string(v)
		}
		return nil
	})
}

func (c *circle) setReaction(t entryKey, who MemberID, reaction string) {
	m := c.after.reactions[t]
	if reaction == "" {
		delete(m, who)
		return
	}
	if m == nil {
		m = map[MemberID]string{}
		c.after.reactions[t] = m
	}
	m[who] = reaction
}

// applyReactionLocked takes a verified reaction.
func (c *circle) applyReactionLocked(o *envelope.Opened) (func(), bool, error) {
	var r record.Reaction
	if err := proto.Unmarshal(o.Record.Body, &r); err != nil {
		return nil, false, errRefused
	}
	t, ok := refOf(r.Target)
	if !ok || !r.Withdrawn && !slices.Contains(Reactions, r.Reaction) {
		return nil, false, errRefused
	}
	who := o.Header.Author
	key := append(refKey(t), who[:]...)
	if r.Withdrawn {
		c.setReaction(t, who, "")
		if err := c.store.Delete(c.id, bucketReactions, key); err != nil {
			return nil, false, err
		}
	} else {
		c.setReaction(t, who, r.Reaction)
		if err := c.store.Put(c.id, bucketReactions, key, []byte(r.Reaction), false); err != nil {
			return nil, false, err
		}
	}
	return c.updated(t), false, nil
}

// applyRetractLocked takes a verified retraction: only a post's author may
// withdraw it.
func (c *circle) applyRetractLocked(o *envelope.Opened) (func(), bool, error) {
	var r record.Retract
	if err := proto.Unmarshal(o.Record.Body, &r); err != nil {
		return nil, false, errRefused
	}
	t, ok := refOf(r.Target)
	if !ok || t.author != o.Header.Author {
		return nil, false, errRefused
	}
	c.after.retracted[t] = true
	if err := c.store.Put(c.id, bucketRetracted, refKey(t), nil, true); err != nil {
		return nil, false, err
	}
	return c.updated(t), true, nil
}

// applyHideLocked takes a verified moderation record: facilitators only.
func (c *circle) applyHideLocked(o *envelope.Opened, author *member) (func(), bool, error) {
	var r record.Hide
	if err := proto.Unmarshal(o.Record.Body, &r); err != nil || len(r.Reason) > maxReason {
		return nil, false, errRefused
	}
	t, ok := refOf(r.Target)
	if !ok || author.rec.Role != record.Role_ROLE_FACILITATOR {
		return nil, false, errRefused
	}
	c.after.hidden[t] = r.Reason
	if err := c.store.Put(c.id, bucketHidden, refKey(t), []byte(r.Reason), true); err != nil {
		return nil, false, err
	}
	return c.updated(t), true, nil
}

// updated announces that a post changed.
func (c *circle) updated(t entryKey) func() {
	return func() {
		c.h.emit(Event{Kind: EventUpdated, Circle: c.id, Message: &Message{ID: messageID(t.author, t.seq)}})
	}
}

// decorateLocked adds to a post what became of it: its reactions, or that
// a facilitator hid it. ok is false for a post its author withdrew.
func (c *circle) decorateLocked(m *Message, t entryKey) (ok bool) {
	if c.after.retracted[t] {
		return false
	}
	m.Scope = Scope(c.effectiveScope(t, envelope.Scope(m.Scope)))
	if reason, hidden := c.after.hidden[t]; hidden {
		m.Kind, m.Text, m.ContentWarning, m.HiddenReason = "hidden", "", "", cleanName(reason)
		return true
	}
	for who, r := range c.after.reactions[t] {
		if m.Reactions == nil {
			m.Reactions = map[string]int{}
		}
		m.Reactions[r]++
		if who == c.selfID {
			m.MyReaction = r
		}
	}
	return true
}

// React answers a post with one of Reactions, or withdraws this member's
// reaction when reaction is empty.
func (h *Hearth) React(ctx context.Context, id CircleID, target, reaction string) error {
	if reaction != "" && !slices.Contains(Reactions, reaction) {
		return fmt.Errorf("%w: unknown reaction %q", ErrInvalid, reaction)
	}
	ref, err := parseMessageID(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return h.publish(ctx, id, envelope.Kind_KIND_REACTION, &record.Reaction{Target: ref, Reaction: reaction, Withdrawn: reaction == ""}, nil)
}

// Retract withdraws one of this member's posts for everyone, and from every
// future welcome pack.
func (h *Hearth) Retract(ctx context.Context, id CircleID, target string) error {
	ref, err := parseMessageID(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return h.publish(ctx, id, envelope.Kind_KIND_RETRACT, &record.Retract{Target: ref}, func(c *circle) error {
		if MemberID(ref.Author) != c.selfID {
			return fmt.Errorf("%w: only its author can withdraw a post", ErrInvalid)
		}
		return nil
	})
}

// Hide hides a post for everyone, with a reason shown in its place; only a
// facilitator may.
func (h *Hearth) Hide(ctx context.Context, id CircleID, target, reason string) error {
	if len(reason) > maxReason {
		return fmt.Errorf("reason %w", ErrTooLong)
	}
	ref, err := parseMessageID(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return h.publish(ctx, id, envelope.Kind_KIND_MODERATION_HIDE, &record.Hide{Target: ref, Reason: reason}, func(c *circle) error {
		if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
			return ErrNotFacilitator
		}
		return nil
	})
}

// publish writes one record of this member, after check (under the lock).
func (h *Hearth) publish(ctx context.Context, id CircleID, kind envelope.Kind, body proto.Message, check func(*circle) error) error {
	c, err := h.circle(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if check != nil {
		if err := check(c); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	out, _, err := c.publishLocked(kind, body, envelope.Scope_SCOPE_CIRCLE)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.send(ctx, out)
	return nil
}
