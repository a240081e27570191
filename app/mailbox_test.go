package app

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/identity"
)

// testMailbox is a mailbox home in a test: a vault and its Mailbox, online.
type testMailbox struct {
	t    *testing.T
	home string
	v    *Vault
	m    *Mailbox
}

func newTestMailbox(t *testing.T) *testMailbox {
	t.Helper()
	mb := &testMailbox{t: t, home: t.TempDir()}
	v, err := CreateVaultWithParams(mb.home, []byte(testPass), fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	mb.v = v
	mb.m, err = OpenMailbox(v, MailboxOptions{SyncEvery: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.m.Online(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mb.stop)
	return mb
}

func (mb *testMailbox) stop() {
	if mb.m != nil {
		mb.m.Close()
		mb.m = nil
	}
	if mb.v != nil {
		mb.v.Close()
		mb.v = nil
	}
}

// held is how many envelopes the mailbox holds of circle id.
func (mb *testMailbox) held(id CircleID) int {
	cs, err := mb.m.Circles()
	if err != nil {
		mb.t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c.Envelopes
		}
	}
	return -1
}

// mailboxCircle makes A's circle with member B and mailbox M.
func mailboxCircle(t *testing.T, name string) (CircleID, *testMember, *testMember, *testMailbox) {
	t.Helper()
	ctx := context.Background()
	a, b, mb := newMember(t), newMember(t), newTestMailbox(t)
	id, err := a.h.CreateCircle(ctx, name, "ash-the-facilitator")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.h.Invite(ctx, id, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.Join(ctx, code, "birch-the-member"); err != nil {
		t.Fatal(err)
	}
	if err := b.h.AcceptGuidelines(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Only a facilitator issues a mailbox invite.
	if _, err := b.h.Invite(ctx, id, InviteOptions{Mailbox: true}); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member's mailbox invite: got %v, want ErrNotFacilitator", err)
	}
	// A member's invite does not admit a mailbox.
	plain, err := a.h.Invite(ctx, id, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.m.Join(ctx, plain); !errors.Is(err, ErrNotMailboxInvite) {
		t.Fatalf("mailbox with a member's invite: got %v, want ErrNotMailboxInvite", err)
	}
	mcode, err := a.h.Invite(ctx, id, InviteOptions{Mailbox: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := mb.m.Join(ctx, mcode)
	if err != nil {
		t.Fatalf("mailbox joins: %v", err)
	}
	if got != id {
		t.Fatalf("mailbox joined %s, want %s", got, id)
	}
	// Both members see the mailbox in the roster, and are connected to it.
	for _, m := range []*testMember{a, b} {
		waitFor(t, "the mailbox in the roster, online", func() bool {
			ms, err := m.h.Members(id)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ms {
				if x.Role == RoleMailbox && x.Online {
					return true
				}
			}
			return false
		})
	}
	return id, a, b, mb
}

// The mailbox alone hands a member what it missed while the author was
// online and it was not, and holds nothing readable.
func TestMailboxCatchUpAlone(t *testing.T) {
	ctx := context.Background()
	const name = "Thursday grief circle"
	id, a, b, mb := mailboxCircle(t, name)
	// The mailbox follows the epoch of the commit that admitted it.
	waitFor(t, "the mailbox on the circle's epoch", func() bool {
		cs, _ := mb.m.Circles()
		return len(cs) == 1 && cs[0].Epoch == epochOf(t, a, id)
	})
	// So does B before it goes, and so it knows the mailbox: a member that
	// never heard of the mailbox has no address to reach it at (one that
	// heard of it but missed the commit: TestMailboxHoldsItsAdmission).
	waitFor(t, "B on the circle's epoch", func() bool { return epochOf(t, b, id) == epochOf(t, a, id) })

	b.stop()
	sentences := []string{
		"my father died in March and I still set his place at the table",
		"some mornings the silence in the house is the loudest thing",
		"thank you all for listening last week, it helped more than I said",
	}
	before := mb.held(id)
	for _, s := range sentences {
		if _, err := a.h.Post(ctx, id, PostOptions{Text: s}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the mailbox to hold the posts", func() bool { return mb.held(id) >= before+len(sentences) })
	a.stop()

	b.restart()
	waitFor(t, "B to get the posts from the mailbox", func() bool { return hasAll(b.texts(id), sentences...) })

	// Nothing readable in the mailbox's home: not the posts, not the
	// pseudonyms, not the circle's name.
	secrets := append([]string{name, "ash-the-facilitator", "birch-the-member"}, sentences...)
	mb.stop()
	err := filepath.WalkDir(mb.home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nor in its store opened with its passphrase.
	v, err := UnlockVault(mb.home, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, value := range mailboxStoreValues(t, v, id) {
		for _, s := range secrets {
			if bytes.Contains(value, []byte(s)) {
				t.Errorf("the mailbox's store holds %q", s)
			}
		}
	}
}

// A member offline while a mailbox was admitted, which heard of the
// mailbox but not of the commit that admitted it, and later reaches only
// the mailbox, gets that commit there, and so reads what was posted since:
// the mailbox holds the records that admitted it, though they are sealed
// under the epoch before its first.
func TestMailboxHoldsItsAdmission(t *testing.T) {
	ctx := context.Background()
	a, b, mb := newMember(t), newMember(t), newTestMailbox(t)
	id, err := a.h.CreateCircle(ctx, "Monday recovery circle", "ash")
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.h.Invite(ctx, id, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.Join(ctx, code, "birch"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B on the circle's epoch", func() bool { return epochOf(t, b, id) == epochOf(t, a, id) })
	before := epochOf(t, a, id)
	b.stop()

	mcode, err := a.h.Invite(ctx, id, InviteOptions{Mailbox: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.m.Join(ctx, mcode); err != nil {
		t.Fatalf("mailbox joins: %v", err)
	}
	const text = "ninety days today, and I wanted you to be the first to know"
	if _, err := a.h.Post(ctx, id, PostOptions{Text: text}); err != nil {
		t.Fatal(err)
	}
	aID := memberID(t, a, id)
	mine, err := a.v.Store().HighWater([16]byte(id))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mailbox to hold A's records", func() bool {
		held, err := mb.v.Store().HighWater([16]byte(id))
		return err == nil && held[aID] >= mine[aID]
	})
	// B hears of the mailbox (A's record admitting it), not of the commit.
	joined := a.ownEnvelope(id, func(h envelope.Header, r *envelope.Record) bool {
		return r.Kind == envelope.Kind_KIND_MEMBER_JOINED && h.Epoch == before
	})
	if joined == nil {
		t.Fatal("A's record admitting the mailbox not in its store")
	}
	a.stop()
	b.reopenOffline()
	bc, _ := b.h.circle(id)
	bc.mu.Lock()
	fromA := bc.roster[aID].peer
	bc.mu.Unlock()
	if got := bc.receive(fromA, joined); got != vAccept {
		t.Fatalf("A's record admitting the mailbox: got verdict %d, want accept", got)
	}
	bc.flushPending()
	b.stop()
	b.restart()
	waitFor(t, "B to read A's post through the mailbox", func() bool { return hasAll(b.texts(id), text) })
	if got := epochOf(t, b, id); got != before+1 {
		t.Fatalf("B in epoch %d, want %d", got, before+1)
	}
}

// mailboxStoreValues reads every value a mailbox's store holds of a circle
// through the store's own API, decrypted: its state, every key-value bucket
// a member's store would have, every envelope, every decoded record.
func mailboxStoreValues(t *testing.T, v *Vault, id CircleID) [][]byte {
	t.Helper()
	s := v.Store()
	var out [][]byte
	for _, bucket := range []string{bucketMailbox, bucketState, bucketMembers, bucketInvites, bucketCommits} {
		err := s.List(id, bucket, func(k, val []byte) error {
			out = append(out, append(append([]byte{}, k...), val...))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	marks, err := s.HighWater(id)
	if err != nil {
		t.Fatal(err)
	}
	envelopes := 0
	for a := range marks {
		envs, err := s.Envelopes(id, a, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		envelopes += len(envs)
		out = append(out, envs...)
	}
	if envelopes == 0 {
		t.Fatal("the mailbox's store holds no envelope")
	}
	items, err := s.Latest(id, nil, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Errorf("the mailbox's store holds %d decoded records", len(items))
	}
	raw, err := s.Get(id, bucketMailbox, keyMailbox)
	if err != nil {
		t.Fatal(err)
	}
	var st record.MailboxState
	if err := decodeProto(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st.Update == nil || len(st.Update.Topics) == 0 || len(st.Update.Peers) < 3 {
		t.Errorf("mailbox state: %d topics, %d peers; want topics and at least 3 peers", len(st.Update.GetTopics()), len(st.Update.GetPeers()))
	}
	return out
}

// A facilitator removes a mailbox like a member: the mailbox drops the
// circle, and members' later posts never reach it.
func TestMailboxRemoved(t *testing.T) {
	ctx := context.Background()
	id, a, b, mb := mailboxCircle(t, "removal")
	var mid MemberID
	ms, err := a.h.Members(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Role == RoleMailbox {
			mid = m.ID
		}
	}
	if err := a.h.Remove(ctx, id, mid, "moving to a new mailbox"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mailbox to drop the circle", func() bool {
		cs, err := mb.m.Circles()
		held, _ := mb.v.Store().Circles()
		return err == nil && len(cs) == 0 && len(held) == 0
	})
	if _, err := a.h.Post(ctx, id, PostOptions{Text: "after the mailbox left"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to read the post", func() bool { return hasAll(b.texts(id), "after the mailbox left") })
}

func decodeProto(b []byte, m *record.MailboxState) error { return proto.Unmarshal(b, m) }

// FuzzOpenLetter: a mailbox takes letters from the network; whatever the
// bytes, opening one fails cleanly or yields a well-formed update.
func FuzzOpenLetter(f *testing.F) {
	me, err := identity.New()
	if err != nil {
		f.Fatal(err)
	}
	sender, _ := identity.New()
	var circle CircleID
	circle[0] = 7
	u := &record.MailboxUpdate{Circle: circle[:], Epoch: 2, Topics: []*record.MailboxTopic{{Epoch: 2, Topic: "t"}}}
	l, err := sealLetter(sender, circle, me.Public().SealKey, u)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := proto.Marshal(l)
	f.Add(good)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var l record.MailboxLetter
		if proto.Unmarshal(b, &l) != nil {
			return
		}
		got, key, err := openLetter(me, circle, &l)
		if err != nil {
			if !errors.Is(err, ErrBadLetter) {
				t.Fatalf("error %v is not ErrBadLetter", err)
			}
			return
		}
		if !bytes.Equal(got.Circle, circle[:]) || len(key) != 32 {
			t.Fatalf("opened a letter for another circle or without a key")
		}
	})
}

func TestRelaysIn(t *testing.T) {
	relay := "12D3KooWLCtcirJTZKy2dVXoCm4QnN6SfSPufdzcT9UhDXrToZ34"
	addrs := []multiaddr.Multiaddr{
		multiaddr.StringCast("/ip4/198.18.0.10/tcp/4001"),
		multiaddr.StringCast("/ip4/198.18.0.10/tcp/4001/p2p/" + relay + "/p2p-circuit"),
		multiaddr.StringCast("/ip4/198.18.0.10/udp/4001/quic-v1/p2p/" + relay + "/p2p-circuit"),
	}
	got := relaysIn(addrs)
	if len(got) != 1 || got[0].String() != relay {
		t.Fatalf("relaysIn: got %v, want [%s]", got, relay)
	}
}

// A mailbox takes a letter only from a roster member, signed by that member,
// over that member's own connection, and never one older than what it
// follows.
func TestMailboxLetterRules(t *testing.T) {
	ctx := context.Background()
	id, a, b, mb := mailboxCircle(t, "letters")
	ca, err := a.h.circle(id)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := b.h.circle(id)
	mb.m.mu.Lock()
	mc := mb.m.circles[id]
	mb.m.mu.Unlock()
	mc.mu.Lock()
	mboxKey := mc.self.Public().SealKey
	epoch := mc.state.Update.GetEpoch()
	mc.mu.Unlock()

	ca.mu.Lock()
	u := ca.mailboxUpdateLocked()
	ca.mu.Unlock()
	letter := func(from *identity.Identity, u *record.MailboxUpdate) []byte {
		l, err := sealLetter(from, id, mboxKey, u)
		if err != nil {
			t.Fatal(err)
		}
		bs, _ := proto.Marshal(l)
		return bs
	}
	stranger, _ := identity.New()
	cases := []struct {
		name string
		from peer.ID
		req  []byte
	}{
		{"garbage", ca.peerID(), []byte("not a letter")},
		{"a stranger's signature", ca.peerID(), letter(stranger, u)},
		{"A's letter over B's connection", cb.peerID(), letter(ca.self, u)},
		{"from an unknown peer", mustPeer(t), letter(ca.self, u)},
	}
	for _, c := range cases {
		if _, err := mc.handleLetter(ctx, c.from, c.req); !errors.Is(err, ErrBadLetter) {
			t.Errorf("%s: got %v, want ErrBadLetter", c.name, err)
		}
	}
	// A letter sealed to another key does not open.
	other, _ := identity.New()
	l, _ := sealLetter(ca.self, id, other.Public().SealKey, u)
	bs, _ := proto.Marshal(l)
	if _, err := mc.handleLetter(ctx, ca.peerID(), bs); !errors.Is(err, ErrBadLetter) {
		t.Errorf("letter to another mailbox: got %v, want ErrBadLetter", err)
	}
	// A stale letter changes nothing; a current one is taken.
	stale := proto.Clone(u).(*record.MailboxUpdate)
	stale.Epoch = epoch - 1
	stale.Topics = []*record.MailboxTopic{{Epoch: epoch - 1, Topic: "stale"}}
	if _, err := mc.handleLetter(ctx, ca.peerID(), letter(ca.self, stale)); err != nil {
		t.Fatal(err)
	}
	mc.mu.Lock()
	_, tookStale := mc.topics[epoch-1]
	if tookStale && mc.topics[epoch-1] == "stale" {
		t.Error("the mailbox took a stale letter")
	}
	mc.mu.Unlock()
	if _, err := mc.handleLetter(ctx, cb.peerID(), letter(cb.self, u)); err != nil {
		t.Errorf("B's current letter: %v", err)
	}
}

func mustPeer(t *testing.T) peer.ID {
	t.Helper()
	p, err := peer.IDFromPrivateKey(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
