package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/seal"
)

const (
	bucketScope   = "scope"   // post ref → narrowed scope (1 byte)
	bucketReports = "reports" // reporter (16) ‖ seq → target ref ‖ sent ms ‖ text
	maxReport     = 1000
)

// NarrowScope withdraws part of an author's consent for one of its posts:
// a post shared with later members can be kept to the circle of its time,
// a resource can stop being one. Every member applies it, and no welcome
// pack carries the post beyond its new scope.
func (h *Hearth) NarrowScope(ctx context.Context, id CircleID, target string, scope Scope) error {
	ref, err := parseMessageID(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if scope < ScopeCircle || scope > ScopeResource {
		return fmt.Errorf("%w: unknown scope", ErrInvalid)
	}
	return h.publish(ctx, id, envelope.Kind_KIND_SCOPE_CHANGE, &record.ScopeChange{Target: ref, Scope: uint32(scope)}, func(c *circle) error {
		if MemberID(ref.Author) != c.selfID {
			return fmt.Errorf("%w: only its author can change a post's scope", ErrInvalid)
		}
		if t, ok := refOf(ref); ok {
			if old, narrowed := c.after.scope[t]; narrowed && envelope.Scope(scope) >= old {
				return fmt.Errorf("%w: once narrowed, who may see a post cannot be widened again", ErrInvalid)
			}
		}
		return nil
	})
}

// applyScopeLocked takes a verified scope change: the author's own post,
// and only ever narrower.
func (c *circle) applyScopeLocked(o *envelope.Opened) (func(), bool, error) {
	var sc record.ScopeChange
	if err := proto.Unmarshal(o.Record.Body, &sc); err != nil || sc.Scope > uint32(ScopeResource) {
		return nil, false, errRefused
	}
	t, ok := refOf(sc.Target)
	if !ok || t.author != o.Header.Author {
		return nil, false, errRefused
	}
	if old, ok := c.after.scope[t]; ok && envelope.Scope(sc.Scope) >= old {
		return nil, false, nil // never wider again
	}
	c.after.scope[t] = envelope.Scope(sc.Scope)
	if err := c.store.Put(c.id, bucketScope, refKey(t), []byte{byte(sc.Scope)}, true); err != nil {
		return nil, false, err
	}
	return c.updated(t), true, nil
}

// effectiveScope is a record's scope after any narrowing.
func (c *circle) effectiveScope(t entryKey, s envelope.Scope) envelope.Scope {
	if n, ok := c.after.scope[t]; ok && n < s {
		return n
	}
	return s
}

func (c *circle) loadScopes() error {
	c.after.scope = map[entryKey]envelope.Scope{}
	return c.store.List(c.id, bucketScope, func(k, v []byte) error {
		if t, ok := parseRefKey(k); ok && len(v) == 1 {
			c.after.scope[t] = envelope.Scope(v[0])
		}
		return nil
	})
}

// ReportInfo is a member's private report of a post, as a facilitator
// reads it.
type ReportInfo struct {
	Target   string // message id
	From     MemberID
	FromNick string
	Text     string
	SentAt   time.Time
}

// Report tells the facilitators, and only them, that a post troubles this
// member: the text is sealed to each facilitator's key.
func (h *Hearth) Report(ctx context.Context, id CircleID, target, text string) error {
	ref, err := parseMessageID(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(text) > maxReport || !utf8.ValidString(text) {
		return fmt.Errorf("report %w (at most %d bytes)", ErrTooLong, maxReport)
	}
	c, err := h.circle(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	body := &record.Report{Target: ref}
	for _, m := range c.rosterLocked() {
		if m.rec.Role != record.Role_ROLE_FACILITATOR {
			continue
		}
		sealed, err := seal.Secret(m.pub.SealKey, [16]byte(c.id), c.state.Epoch, []byte(text))
		if err != nil {
			c.mu.Unlock()
			return err
		}
		body.Sealed = append(body.Sealed, &record.SealedSecret{Member: m.id[:], Sealed: sealed})
	}
	out, _, err := c.publishLocked(envelope.Kind_KIND_REPORT, body, envelope.Scope_SCOPE_CIRCLE)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.send(ctx, out)
	return nil
}

// applyReportLocked keeps a report sealed to this member, if it is one of
// the facilitators it was sealed to.
func (c *circle) applyReportLocked(o *envelope.Opened) (func(), bool, error) {
	var r record.Report
	if err := proto.Unmarshal(o.Record.Body, &r); err != nil || len(r.Sealed) > 64 {
		return nil, false, errRefused
	}
	t, ok := refOf(r.Target)
	if !ok {
		return nil, false, errRefused
	}
	for _, s := range r.Sealed {
		if !bytes.Equal(s.Member, c.selfID[:]) {
			continue
		}
		text, err := seal.Open(c.self, [16]byte(c.id), o.Header.Epoch, s.Sealed)
		if err != nil || !utf8.Valid(text) {
			return nil, false, nil
		}
		v := refKey(t)
		v = binary.BigEndian.AppendUint64(v, uint64(o.Record.SentAtMs))
		v = append(v, text...)
		key := binary.BigEndian.AppendUint64(append([]byte(nil), o.Header.Author[:]...), o.Header.Seq)
		if err := c.store.Put(c.id, bucketReports, key, v, true); err != nil {
			return nil, false, err
		}
		return func() { c.h.emit(Event{Kind: EventReport, Circle: c.id}) }, true, nil
	}
	return nil, false, nil
}

// Reports lists the reports sealed to this facilitator, newest first.
func (h *Hearth) Reports(id CircleID) ([]ReportInfo, error) {
	c, err := h.circle(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
		return nil, ErrNotFacilitator
	}
	var out []ReportInfo
	err = c.store.List(c.id, bucketReports, func(k, v []byte) error {
		if len(k) != 24 || len(v) < 32 {
			return nil
		}
		t, _ := parseRefKey(v)
		r := ReportInfo{
			Target: messageID(t.author, t.seq), From: MemberID(k[:16]),
			SentAt: time.UnixMilli(int64(binary.BigEndian.Uint64(v[24:32]))), Text: cleanText(string(v[32:])),
		}
		if m := c.roster[r.From]; m != nil {
			r.FromNick = cleanName(m.rec.Nick)
		}
		out = append(out, r)
		return nil
	})
	slices.SortFunc(out, func(a, b ReportInfo) int { return b.SentAt.Compare(a.SentAt) })
	return out, err
}
