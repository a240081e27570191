package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
)

// RetentionChoices are the settings of disappearing messages, in days; 0
// keeps messages.
var RetentionChoices = []int{0, 1, 7, 30, 90}

// bucketEpochStart: epoch (8 bytes) → when this member learned its key
// (Unix ms); retention shreds the keys of epochs long over.
const bucketEpochStart = "epochstart"

const day = 24 * time.Hour

// SetRetention sets how long the circle's messages are kept, in days (one of
// RetentionChoices), for every member: an announced, signed record.
// Facilitators only.
func (h *Hearth) SetRetention(ctx context.Context, id CircleID, days int) error {
	if !slices.Contains(RetentionChoices, days) {
		return fmt.Errorf("%w: keep messages for one of %v days", ErrInvalid, RetentionChoices)
	}
	return h.publish(ctx, id, envelope.Kind_KIND_RETENTION, &record.Retention{Days: uint32(days)}, func(c *circle) error {
		if me := c.selfMemberLocked(); me == nil || me.rec.Role != record.Role_ROLE_FACILITATOR {
			return ErrNotFacilitator
		}
		return nil
	})
}

// applyRetentionLocked takes a verified retention setting.
func (c *circle) applyRetentionLocked(o *envelope.Opened, author *member) (func(), bool, error) {
	var r record.Retention
	if err := proto.Unmarshal(o.Record.Body, &r); err != nil || !slices.Contains(RetentionChoices, int(r.Days)) {
		return nil, false, errRefused
	}
	if author.rec.Role != record.Role_ROLE_FACILITATOR {
		return nil, false, errRefused
	}
	c.state.RetentionDays = r.Days
	if err := c.saveStateLocked(true); err != nil {
		return nil, false, err
	}
	return func() { _ = c.shredExpiredLocked() }, true, nil
}

// retentionTTL is how long a record received now is kept.
func (c *circle) retentionTTL() time.Duration {
	return time.Duration(c.state.RetentionDays) * day
}

// noteEpochStartLocked records when this member got an epoch's key.
func (c *circle) noteEpochStartLocked(n uint64) error {
	return c.store.Put(c.id, bucketEpochStart, epochKey(n),
		binary.BigEndian.AppendUint64(nil, uint64(c.h.now().UnixMilli())), true)
}

// shredExpiredLocked destroys the keys, and so the records, of epochs that
// ended longer ago than the retention: an epoch ends when the next starts.
// The current epoch is never shredded.
func (c *circle) shredExpiredLocked() error {
	if c.state.RetentionDays == 0 {
		return nil
	}
	cutoff := c.h.now().Add(-c.retentionTTL()).UnixMilli()
	var below uint64
	err := c.store.List(c.id, bucketEpochStart, func(k, v []byte) error {
		if len(k) != 8 || len(v) != 8 {
			return nil
		}
		n, start := binary.BigEndian.Uint64(k), int64(binary.BigEndian.Uint64(v))
		if start <= cutoff && n <= c.state.Epoch && n > below {
			below = n
		}
		return nil
	})
	if err != nil || below <= 1 {
		return err
	}
	lowest := below
	for n := range c.epochs {
		lowest = min(lowest, n)
	}
	if lowest >= below {
		return nil
	}
	if err := c.store.ShredEpochsBefore([16]byte(c.id), below); err != nil {
		return fmt.Errorf("shred old epochs: %w", err)
	}
	for n := range c.epochs {
		if n < below {
			delete(c.epochs, n)
			_ = c.store.Delete(c.id, bucketEpochStart, epochKey(n))
		}
	}
	var gone [][]byte // losing commits of shredded epochs
	_ = c.store.List(c.id, bucketLostCommits, func(k, _ []byte) error {
		if len(k) >= 8 && binary.BigEndian.Uint64(k) < below {
			gone = append(gone, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range gone {
		_ = c.store.Delete(c.id, bucketLostCommits, k)
	}
	c.publishViewLocked()
	c.log.Info("retention: shredded old epochs", "below", below)
	return nil
}

// keepRetention applies the retention now and then while online.
func (c *circle) keepRetention(ctx context.Context) {
	for {
		c.mu.Lock()
		if err := c.shredExpiredLocked(); err != nil {
			c.log.Warn("retention", "err", err)
		}
		c.mu.Unlock()
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(10*time.Minute)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour + time.Duration(n.Int64())):
		}
	}
}
