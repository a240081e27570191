package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/epoch"
	"github.com/hearth-circles/hearth/crypto/seal"
)

// commitLocked opens a new epoch: a fresh secret sealed to every current
// member (after adding and removing the given ones), sent as a commit under
// the current epoch's key. Mailbox peers are never given the secret.
func (c *circle) commitLocked(added, removed []MemberID) (outgoing, error) {
	secret, err := epoch.NewSecret()
	if err != nil {
		return outgoing{}, err
	}
	next := c.state.Epoch + 1
	gone := map[MemberID]bool{}
	for _, r := range removed {
		gone[r] = true
	}
	body := &record.Commit{Epoch: next}
	for _, m := range c.rosterLocked() {
		if gone[m.id] || m.rec.Role == record.Role_ROLE_MAILBOX {
			continue
		}
		sealed, err := seal.Secret(m.pub.SealKey, [16]byte(c.id), next, secret[:])
		if err != nil {
			return outgoing{}, fmt.Errorf("seal epoch secret: %w", err)
		}
		body.Secrets = append(body.Secrets, &record.SealedSecret{Member: m.id[:], Sealed: sealed})
	}
	for _, a := range added {
		body.Added = append(body.Added, a[:])
	}
	for _, r := range removed {
		body.Removed = append(body.Removed, r[:])
	}
	out, _, err := c.publishLocked(envelope.Kind_KIND_COMMIT, body, envelope.Scope_SCOPE_CIRCLE)
	return out, err
}

func epochKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// applyCommitLocked takes a verified commit. Any member may commit (a join
// was authorised by the invite); removals need a facilitator. When two
// commits open the same epoch, the one whose envelope has the smaller
// SHA-256 wins on every node.
func (c *circle) applyCommitLocked(env []byte, o *envelope.Opened, author *member) (func(), bool, error) {
	var cm record.Commit
	if err := proto.Unmarshal(o.Record.Body, &cm); err != nil {
		return nil, false, errRefused
	}
	if cm.Epoch != o.Header.Epoch+1 || author.rec.Gone || author.rec.Role == record.Role_ROLE_MAILBOX {
		return nil, false, errRefused
	}
	if len(cm.Removed) > 0 && author.rec.Role != record.Role_ROLE_FACILITATOR {
		return nil, false, errRefused
	}
	hash := sha256.Sum256(env)
	prev, err := c.store.Get(c.id, bucketCommits, epochKey(cm.Epoch))
	if err == nil && len(prev) >= sha256.Size {
		if bytes.Compare(prev[:sha256.Size], hash[:]) <= 0 {
			// The commit applied already wins; this one's key still reads
			// what members who took it first wrote under it.
			if c.keepLosingKeyLocked(&cm) {
				if err := c.noteLostCommitLocked(cm.Epoch, o.Header.Author, o.Header.Seq); err != nil {
					return nil, false, err
				}
			}
			return nil, false, nil
		}
	}
	winner := append(hash[:], o.Header.Author[:]...)
	winner = binary.BigEndian.AppendUint64(winner, o.Header.Seq)
	if err := c.store.Put(c.id, bucketCommits, epochKey(cm.Epoch), winner, true); err != nil {
		return nil, false, err
	}

	var removedSelf bool
	var goneAfter []func()
	for _, r := range cm.Removed {
		if len(r) != 16 {
			continue
		}
		m := c.roster[MemberID(r)]
		if m == nil {
			continue
		}
		if m.id == c.selfID {
			removedSelf = true
		}
		if !m.rec.Gone {
			if err := c.markGoneLocked(m, o.Header.Epoch); err != nil {
				return nil, false, err
			}
			goneAfter = append(goneAfter, c.goneEffects(m))
		}
	}

	var mine []byte
	for _, s := range cm.Secrets {
		if bytes.Equal(s.Member, c.selfID[:]) {
			mine = s.Sealed
		}
	}
	var keys *epochKeys
	var leave string // the topic of a commit this one won over
	if mine != nil && !removedSelf {
		secret, err := seal.Open(c.self, [16]byte(c.id), cm.Epoch, mine)
		if err != nil || len(secret) != epoch.Size {
			// A commit that names us but does not open for us: keep the
			// epoch we have; a peer will hand the secret over again.
			c.log.Warn("sealed epoch secret did not open", "epoch", cm.Epoch)
			return nil, true, nil
		}
		keys = newEpochKeys(c.id, cm.Epoch, epoch.Secret(secret))
		if old := c.epochs[cm.Epoch]; old != nil && old.secret != keys.secret {
			// This commit wins over one applied before it for the same
			// epoch: its key is the epoch's from now on, for sending and
			// for the topic; the loser's still reads. What is stored keeps
			// its storage key, so it reads as before.
			keys.lost = append(slices.Clone(old.lost), old.content)
			if err := c.store.ReplaceEpochSecret([16]byte(c.id), cm.Epoch, keys.secret); err != nil {
				return nil, false, fmt.Errorf("store epoch key: %w", err)
			}
			if len(prev) == sha256.Size+16+8 {
				// The commit that loses now: its key is derived again
				// from it at the next start.
				loser := MemberID(prev[sha256.Size : sha256.Size+16])
				if err := c.noteLostCommitLocked(cm.Epoch, loser, binary.BigEndian.Uint64(prev[sha256.Size+16:])); err != nil {
					return nil, false, err
				}
			}
			if old.topic != keys.topic {
				leave = old.topic
			}
		} else if err := c.store.AddEpoch([16]byte(c.id), cm.Epoch, keys.secret, keys.secret.StorageKey([16]byte(c.id))); err != nil {
			return nil, false, fmt.Errorf("store epoch key: %w", err)
		}
		c.epochs[cm.Epoch] = keys
		c.publishViewLocked()
		if err := c.noteEpochStartLocked(cm.Epoch); err != nil {
			return nil, false, err
		}
		if cm.Epoch > c.state.Epoch {
			c.state.Epoch = cm.Epoch
		}
		if err := c.saveStateLocked(true); err != nil {
			return nil, false, err
		}
	}
	// Only for the circle's current epoch: an old commit caught up on later
	// names members who left since, as it should.
	rekey := keys != nil && cm.Epoch == c.state.Epoch && c.sealedToGoneLocked(&cm)
	return func() {
		if c.node != nil && keys != nil {
			if leave != "" {
				_ = c.node.Leave(leave)
			}
			c.joinTopicsLocked()
		}
		for _, f := range goneAfter {
			f() // announces EventRemoved when this member is the one gone
		}
		c.retryHeldLocked()
		c.h.emit(Event{Kind: EventEpoch, Circle: c.id})
		if rekey {
			// This epoch's secret reached someone removed meanwhile (a
			// commit made at the moment of a removal, which won over the
			// removal's own): a facilitator opens the next epoch without
			// them at once.
			out, err := c.commitLocked(nil, nil)
			if err != nil {
				c.log.Warn("commit after a removal", "err", err)
				return
			}
			go func() {
				c.send(context.Background(), out)
				c.pushSync()
			}()
		}
	}, true, nil
}

// sealedToGoneLocked reports whether a commit sealed its secret to a member
// who is gone now, and this member, a facilitator, should take the circle
// to a new epoch without them.
func (c *circle) sealedToGoneLocked(cm *record.Commit) bool {
	if me := c.selfMemberLocked(); me == nil || me.rec.Gone || me.rec.Role != record.Role_ROLE_FACILITATOR {
		return false
	}
	for _, s := range cm.Secrets {
		if len(s.Member) != 16 {
			continue
		}
		if m := c.roster[MemberID(s.Member)]; m != nil && m.rec.Gone {
			return true
		}
	}
	return false
}

// keepLosingKeyLocked keeps the key of a commit that lost to the one
// applied for its epoch, when it names this member: records sealed under it
// by members who took it first are still read. The epoch's keys are
// replaced, never changed in place, since receipt reads them unlocked. It
// reports whether the commit named this member with a key that opens.
func (c *circle) keepLosingKeyLocked(cm *record.Commit) bool {
	ek := c.epochs[cm.Epoch]
	if ek == nil {
		return false
	}
	for _, s := range cm.Secrets {
		if !bytes.Equal(s.Member, c.selfID[:]) {
			continue
		}
		secret, err := seal.Open(c.self, [16]byte(c.id), cm.Epoch, s.Sealed)
		if err != nil || len(secret) != epoch.Size {
			return false
		}
		content := epoch.Secret(secret).ContentKey(c.id)
		if content == ek.content || slices.Contains(ek.lost, content) {
			return true
		}
		next := *ek
		next.lost = append(slices.Clone(ek.lost), content)
		c.epochs[cm.Epoch] = &next
		c.publishViewLocked()
		return true
	}
	return false
}

// noteLostCommitLocked remembers where a losing commit of epoch n is
// stored, so that loadLostKeysLocked finds its key again.
func (c *circle) noteLostCommitLocked(n uint64, author MemberID, seq uint64) error {
	k := append(epochKey(n), author[:]...)
	k = binary.BigEndian.AppendUint64(k, seq)
	return c.store.Put(c.id, bucketLostCommits, k, []byte{1}, true)
}

// loadLostKeysLocked derives again, at load, the keys of the losing
// commits this member holds: each commit envelope is read from the store
// and opened under the epoch before it (its key, or a losing one of that
// epoch, found first as the keys go in ascending order of epoch).
func (c *circle) loadLostKeysLocked() error {
	return c.store.List(c.id, bucketLostCommits, func(k, _ []byte) error {
		if len(k) != 8+16+8 {
			return nil
		}
		n := binary.BigEndian.Uint64(k)
		if n == 0 || c.epochs[n-1] == nil {
			return nil // shredded since
		}
		before := c.epochs[n-1]
		env, err := c.store.Envelope(c.id, [16]byte(k[8:24]), binary.BigEndian.Uint64(k[24:]))
		if err != nil || env == nil {
			return err
		}
		o, err := before.open(c.id, env, c.signKeyLocked)
		if err != nil || o.Record.Kind != envelope.Kind_KIND_COMMIT {
			c.log.Warn("a losing commit no longer opens", "epoch", n, "err", err)
			return nil
		}
		var cm record.Commit
		if err := proto.Unmarshal(o.Record.Body, &cm); err != nil || cm.Epoch != n {
			return nil
		}
		c.keepLosingKeyLocked(&cm)
		return nil
	})
}

// joinTopicsLocked subscribes to the current epoch's topic and the one before
// (records sent just before a commit still arrive there), and leaves older
// ones.
func (c *circle) joinTopicsLocked() {
	cur := c.state.Epoch
	for n, k := range c.epochs {
		if n+1 >= cur {
			if err := c.node.Join(k.topic); err != nil {
				c.log.Warn("join topic", "err", err)
			}
		} else {
			_ = c.node.Leave(k.topic)
		}
	}
}
