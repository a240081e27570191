package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/crypto/vault"
	"github.com/hearth-circles/hearth/p2p"
)

var fastKDF = vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

const testPass = "a long and careful passphrase"

// member is one person's home in a test: a vault and its Hearth, online.
type testMember struct {
	t    *testing.T
	home string
	v    *Vault
	h    *Hearth
}

func newMember(t *testing.T) *testMember {
	t.Helper()
	m := &testMember{t: t, home: t.TempDir()}
	v, err := CreateVaultWithParams(m.home, []byte(testPass), fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	m.v = v
	m.start()
	return m
}

// start opens the Hearth of an unlocked vault and brings it online.
func (m *testMember) start() {
	m.t.Helper()
	h, err := New(m.v, Options{SyncEvery: 2 * time.Second})
	if err != nil {
		m.t.Fatal(err)
	}
	if err := h.Online(context.Background()); err != nil {
		m.t.Fatal(err)
	}
	m.h = h
	m.t.Cleanup(m.stop)
}

// stop takes the member offline and locks its vault.
func (m *testMember) stop() {
	if m.h != nil {
		m.h.Close()
		m.h = nil
	}
	if m.v != nil {
		m.v.Close()
		m.v = nil
	}
}

// restart unlocks the vault again and comes back online.
func (m *testMember) restart() {
	m.t.Helper()
	v, err := UnlockVault(m.home, []byte(testPass))
	if err != nil {
		m.t.Fatal(err)
	}
	m.v = v
	m.start()
}

// reopenOffline unlocks the vault of a stopped member without going
// online, so that only what the test hands it arrives.
func (m *testMember) reopenOffline() {
	m.t.Helper()
	v, err := UnlockVault(m.home, []byte(testPass))
	if err != nil {
		m.t.Fatal(err)
	}
	m.v = v
	h, err := New(v, Options{})
	if err != nil {
		m.t.Fatal(err)
	}
	m.h = h
	m.t.Cleanup(m.stop)
}

// ownEnvelope returns the envelope of m's own record in circle id that
// match picks (the last, if several), or nil.
func (m *testMember) ownEnvelope(id CircleID, match func(envelope.Header, *envelope.Record) bool) []byte {
	m.t.Helper()
	c, err := m.h.circle(id)
	if err != nil {
		m.t.Fatal(err)
	}
	envs, err := m.v.Store().Envelopes([16]byte(id), [16]byte(c.selfID), 0, 1000)
	if err != nil {
		m.t.Fatal(err)
	}
	var found []byte
	for _, e := range envs {
		h, _ := envelope.Parse(e)
		c.mu.Lock()
		o, err := envelope.Open([16]byte(id), &c.epochs[h.Epoch].content, e, c.signKeyLocked)
		c.mu.Unlock()
		if err != nil {
			m.t.Fatal(err)
		}
		if match(h, o.Record) {
			found = e
		}
	}
	return found
}

func (m *testMember) texts(c CircleID) []string {
	m.t.Helper()
	msgs, err := m.h.History(c, "", 1000)
	if err != nil {
		m.t.Fatal(err)
	}
	var out []string
	for _, msg := range msgs {
		if msg.Kind == "post" {
			out = append(out, msg.Text)
		}
	}
	return out
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasAll(got []string, want ...string) bool {
	set := map[string]int{}
	for _, g := range got {
		set[g]++
	}
	for _, w := range want {
		if set[w] == 0 {
			return false
		}
	}
	return true
}

// circleOfThree makes A's circle and lets B and C join it.
func circleOfThree(t *testing.T) (CircleID, *testMember, *testMember, *testMember) {
	ctx := context.Background()
	a, b, c := newMember(t), newMember(t), newMember(t)
	id, err := a.h.CreateCircle(ctx, "Tuesday evening", "ash")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		m    *testMember
		nick string
	}{{b, "birch"}, {c, "cedar"}} {
		code, err := a.h.Invite(ctx, id, InviteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.m.h.Join(ctx, code, p.nick)
		if err != nil {
			t.Fatalf("%s joins: %v", p.nick, err)
		}
		if err := p.m.h.AcceptGuidelines(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got != id {
			t.Fatalf("joined %s, want %s", got, id)
		}
	}
	return id, a, b, c
}

func TestThreeMembersPostAndRead(t *testing.T) {
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	for _, p := range []struct {
		m    *testMember
		text string
	}{{a, "welcome, both of you"}, {b, "thank you for having me"}, {c, "it has been a hard week"}} {
		if _, err := p.m.h.Post(ctx, id, PostOptions{Text: p.text}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*testMember{a, b, c} {
		waitFor(t, "all three posts", func() bool {
			return hasAll(m.texts(id), "welcome, both of you", "thank you for having me", "it has been a hard week")
		})
		members, err := m.h.Members(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(members) != 3 {
			t.Fatalf("got %d members, want 3", len(members))
		}
	}
}

// A post from before a newcomer joined reaches it only if its author
// consented (scope future or resource); the rest never does.
func TestNewcomerSeesOnlyConsentedHistory(t *testing.T) {
	ctx := context.Background()
	a, b := newMember(t), newMember(t)
	id, err := a.h.CreateCircle(ctx, "grief", "ash")
	if err != nil {
		t.Fatal(err)
	}
	for text, scope := range map[string]Scope{"private before": ScopeCircle, "for later members": ScopeFuture, "a resource": ScopeResource} {
		if _, err := a.h.Post(ctx, id, PostOptions{Text: text, Scope: scope}); err != nil {
			t.Fatal(err)
		}
	}
	code, _ := a.h.Invite(ctx, id, InviteOptions{})
	if _, err := b.h.Join(ctx, code, "birch"); err != nil {
		t.Fatal(err)
	}
	// The newcomer reads but does not post before accepting the guidelines.
	if _, err := b.h.Post(ctx, id, PostOptions{Text: "hello"}); !errors.Is(err, ErrGuidelines) {
		t.Fatalf("post before accepting: got %v, want ErrGuidelines", err)
	}
	g, err := b.h.Guidelines(id)
	if err != nil || g.Version != 1 || g.Accepted || !strings.Contains(g.Text, "stays here") {
		t.Fatalf("got guidelines %+v (%v), want version 1 with the default text, not accepted", g, err)
	}
	if err := b.h.AcceptGuidelines(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.Post(ctx, id, PostOptions{Text: "hello"}); err != nil {
		t.Fatalf("post after accepting: %v", err)
	}
	if _, err := a.h.Post(ctx, id, PostOptions{Text: "after joining"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post after joining", func() bool { return hasAll(b.texts(id), "after joining") })
	got := b.texts(id)
	if !hasAll(got, "for later members", "a resource") {
		t.Fatalf("newcomer got %q, want the consented posts", got)
	}
	if hasAll(got, "private before") {
		t.Fatalf("newcomer got %q, which holds a post scoped to the circle before it joined", got)
	}
}

func TestOfflineMemberCatchesUp(t *testing.T) {
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	c.stop()
	var want []string
	for i := range 100 {
		for _, m := range []*testMember{a, b} {
			text := fmt.Sprintf("%p %d", m, i)
			want = append(want, text)
			if _, err := m.h.Post(ctx, id, PostOptions{Text: text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.restart()
	waitFor(t, "200 posts after restart", func() bool { return hasAll(c.texts(id), want...) })
	seen := map[string]bool{}
	msgs, _ := c.h.History(id, "", 1000)
	for _, m := range msgs {
		if seen[m.ID] {
			t.Fatalf("message %s twice", m.ID)
		}
		seen[m.ID] = true
	}
}

func TestBurstFromOneMember(t *testing.T) {
	if testing.Short() {
		t.Skip("burst of 2,000 posts")
	}
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	const n = 2000
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("burst %d", i)
		if _, err := a.h.Post(ctx, id, PostOptions{Text: want[i]}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*testMember{b, c} {
		waitFor(t, "the whole burst", func() bool {
			cnt, err := m.v.Store().Count([16]byte(id))
			return err == nil && cnt >= n && hasAll(m.textsN(id, n+10), want...)
		})
	}
}

func (m *testMember) textsN(c CircleID, n int) []string {
	var out []string
	before := ""
	for len(out) < n {
		msgs, err := m.h.History(c, before, 1000)
		if err != nil {
			m.t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, msg := range msgs {
			if msg.Kind == "post" {
				out = append(out, msg.Text)
			}
		}
		before = msgs[0].Cursor
	}
	return out
}

func TestInviteErrors(t *testing.T) {
	ctx := context.Background()
	a, b, c := newMember(t), newMember(t), newMember(t)
	id, err := a.h.CreateCircle(ctx, "recovery", "ash")
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
	if _, err := c.h.Join(ctx, code, "cedar"); !errors.Is(err, ErrInviteSpent) {
		t.Fatalf("second use: got %v, want ErrInviteSpent", err)
	}

	short, err := a.h.Invite(ctx, id, InviteOptions{Expires: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	late, err := New(c.v, Options{Now: func() time.Time { return time.Now().Add(2 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Join(ctx, short, "cedar"); !errors.Is(err, ErrInviteExpired) {
		t.Fatalf("expired code: got %v, want ErrInviteExpired", err)
	}
	late.Close()

	// One mistyped character: refused on its checksum, offline, before any
	// network traffic (the Hearth here is not even online).
	offline, err := New(c.v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer offline.Close()
	typo := mistype(code)
	if _, err := offline.Join(ctx, typo, "cedar"); !errors.Is(err, ErrInviteChecksum) {
		t.Fatalf("mistyped code: got %v, want ErrInviteChecksum", err)
	}
}

// mistype changes one character of a code's body.
func mistype(code string) string {
	i := len(code) / 2
	for code[i] == '-' {
		i++
	}
	r := byte('A')
	if code[i] == 'A' {
		r = 'B'
	}
	return code[:i] + string(r) + code[i+1:]
}

// A node that was never invited is refused at the handshake by every member
// and receives nothing.
func TestStrangerRefused(t *testing.T) {
	ctx := context.Background()
	id, a, _, _ := circleOfThree(t)
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 1)
	stranger, err := p2p.New(ctx, p2p.Config{
		Key:     key,
		Listen:  []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")},
		Receive: func(p2p.Message) { got <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	info := a.h.Circles()[0]
	var ai *peer.AddrInfo
	for _, s := range info.Addrs {
		if x, err := peer.AddrInfoFromString(s); err == nil {
			ai = x
			break
		}
	}
	if ai == nil {
		t.Fatal("no address for the circle")
	}
	stranger.Allow(ai.ID)
	if err := stranger.Connect(ctx, *ai); err == nil {
		t.Fatal("stranger connected, want refusal at the handshake")
	}
	if _, err := a.h.Post(ctx, id, PostOptions{Text: "not for strangers"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
		t.Fatal("stranger received a message")
	case <-time.After(500 * time.Millisecond):
	}
	if strings.Contains(fmt.Sprint(stranger.Peers()), ai.ID.String()) {
		t.Fatal("stranger is connected")
	}
}

// Two circles on one fixed port: the first takes it, the second a free one,
// and each keeps its port across restarts.
func TestFixedPortShared(t *testing.T) {
	ctx := context.Background()
	v, err := CreateVaultWithParams(t.TempDir(), []byte(testPass), fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	port := multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")
	probe, err := p2p.New(ctx, p2p.Config{Key: mustKey(t), Listen: []multiaddr.Multiaddr{port}})
	if err != nil {
		t.Fatal(err)
	}
	fixed := probe.Addrs()[0]
	probe.Close()
	h, err := New(v, Options{Listen: []multiaddr.Multiaddr{fixed}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Online(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "two"} {
		if _, err := h.CreateCircle(ctx, name, "ash"); err != nil {
			t.Fatalf("circle %s: %v", name, err)
		}
	}
	var onFixed int
	for _, c := range h.Circles() {
		if len(c.Addrs) == 0 {
			t.Fatalf("circle %s has no address", c.Name)
		}
		if strings.HasPrefix(c.Addrs[0], fixed.String()+"/") {
			onFixed++
		}
	}
	if onFixed != 1 {
		t.Fatalf("got %d circles on the fixed port, want 1", onFixed)
	}
}

func mustKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
