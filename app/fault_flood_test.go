package app

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/p2p"
)

// badMix is n hostile envelopes from forger f, in five equal kinds,
// interleaved: malformed, oversize, forged (another member's header under
// the forger's signature, or the forger's record under a wrong key),
// replayed (the forger's real records again), and wrong-epoch (epochs no
// one holds a key of yet).
func badMix(f *forger, victim MemberID, replay [][]byte, n int) (envs [][]byte, kinds []string) {
	good := f.next(envelope.Kind_KIND_POST, &record.Post{Text: "a real one"})
	var shapes [][]byte
	for _, name := range slices.Sorted(maps.Keys(malformed(good))) {
		if b := malformed(good)[name]; len(b) <= envelope.MaxSize {
			shapes = append(shapes, b)
		}
	}
	wrongKey := *f.epochs[f.current()]
	wrongKey.content[0] ^= 1
	for i := range n {
		var env []byte
		kind := []string{"malformed", "oversize", "forged", "replayed", "wrong_epoch"}[i%5]
		switch kind {
		case "malformed":
			env = shapes[i/5%len(shapes)]
		case "oversize":
			env = make([]byte, envelope.MaxSize+1+i)
		case "forged":
			if i%2 == 0 {
				env = f.impersonate(victim, uint64(1_000+i), "words put in another's mouth")
			} else {
				b, _, _ := envelope.Seal([16]byte(f.circle), &wrongKey.content, wrongKey.number, uint64(1_000+i), f.self,
					&envelope.Record{Kind: envelope.Kind_KIND_POST})
				env = b
			}
		case "replayed":
			env = replay[i/5%len(replay)]
		case "wrong_epoch":
			env = append([]byte{}, good...)
			binary.BigEndian.PutUint64(env[2:10], f.current()+1+uint64(i))
		}
		envs, kinds = append(envs, env), append(kinds, kind)
	}
	return envs, kinds
}

// counted sums the counters that say an envelope was refused, ignored,
// held or dropped.
func counted(c map[string]uint64) uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// A member's node injects 1,000 malformed, oversize, forged, replayed and
// wrong-epoch envelopes: every honest member refuses or ignores each, counts
// it, stores none of it, and keeps delivering the circle's posts.
func TestFaultThousandBadEnvelopes(t *testing.T) {
	ctx := context.Background()
	id, a, b, c := circleOfThree(t)
	for i := range 5 {
		if _, err := b.h.Post(ctx, id, PostOptions{Text: fmt.Sprintf("b's real post %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "A and C to read B's posts", func() bool {
		return hasAll(a.texts(id), "b's real post 4") && hasAll(c.texts(id), "b's real post 4")
	})
	f := forgerOf(t, b, id)
	replay, err := b.v.Store().Envelopes([16]byte(id), f.self.ID(), 0, 100)
	if err != nil || len(replay) == 0 {
		t.Fatalf("B's envelopes: %d, %v", len(replay), err)
	}
	envs, kinds := badMix(f, memberID(t, a, id), replay, 1000)
	honest := []*testMember{a, c}
	before := map[*testMember]string{}
	counts := map[*testMember]map[string]uint64{}
	for _, m := range honest {
		before[m] = snapshot(t, m, id)
		counts[m] = m.h.Counters()
	}
	for i, m := range honest {
		verdicts := map[string]map[p2p.Verdict]int{}
		for j, env := range envs {
			v := f.inject(m, env)
			if verdicts[kinds[j]] == nil {
				verdicts[kinds[j]] = map[p2p.Verdict]int{}
			}
			verdicts[kinds[j]][v]++
			if v == p2p.Accept && kinds[j] != "replayed" {
				t.Fatalf("member %d accepted a %s envelope", i, kinds[j])
			}
		}
		mc, _ := m.h.circle(id)
		mc.flushPending()
		after := m.h.Counters()
		delta := map[string]uint64{}
		for k, v := range after {
			if d := v - counts[m][k]; d > 0 {
				delta[k] = d
			}
		}
		t.Logf("member %d: verdicts %v; counters %v", i, verdicts, delta)
		if n := counted(delta); n < uint64(len(envs)) {
			t.Errorf("member %d: %d of %d hostile envelopes counted", i, n, len(envs))
		}
		for _, k := range []string{"refused_malformed", "refused_forged", "ignored_duplicate"} {
			if delta[k] == 0 {
				t.Errorf("member %d: no %s counted", i, k)
			}
		}
		if delta["held_unknown_epoch"]+delta["dropped_held"] < 200 {
			t.Errorf("member %d: wrong-epoch envelopes not held or counted: %v", i, delta)
		}
		if got := snapshot(t, m, id); got != before[m] {
			t.Errorf("member %d changed:\ngot  %s\nwant %s", i, got, before[m])
		}
	}
	// The circle keeps working: everyone's posts reach everyone.
	for _, m := range []*testMember{a, b, c} {
		if _, err := m.h.Post(ctx, id, PostOptions{Text: "after the flood from " + m.home}); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range []*testMember{a, b, c} {
		waitFor(t, fmt.Sprintf("member %d to read every post after the flood", i), func() bool {
			return hasAll(m.texts(id), "after the flood from "+a.home, "after the flood from "+b.home, "after the flood from "+c.home)
		})
	}
}

// BenchmarkFaultDeliveryUnderAttack compares, interleaved in one run, the
// time for 20 of A's posts to reach C in a quiet circle of three and while
// B's node injects the mix of hostile envelopes into C's validator without
// pause. attack-ratio near 1 means the circle works at full speed.
func BenchmarkFaultDeliveryUnderAttack(b *testing.B) {
	const perOp = 20
	ctx := context.Background()
	ms := []*testMember{newBenchMember(b), newBenchMember(b), newBenchMember(b)}
	id, err := ms[0].h.CreateCircle(ctx, "bench", "a")
	if err != nil {
		b.Fatal(err)
	}
	for i, m := range ms[1:] {
		code, err := ms[0].h.Invite(ctx, id, InviteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.h.Join(ctx, code, fmt.Sprintf("m%d", i)); err != nil {
			b.Fatal(err)
		}
		if err := m.h.AcceptGuidelines(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	hc, _ := ms[2].h.circle(id)
	bc, _ := ms[1].h.circle(id)
	bc.mu.Lock()
	f := &forger{t: b, circle: id, self: bc.self, peer: bc.selfPeer, epochs: maps.Clone(bc.epochs), seq: bc.seq + 1000}
	bc.mu.Unlock()
	replay, _ := ms[1].v.Store().Envelopes([16]byte(id), f.self.ID(), 0, 100)
	ac, _ := ms[0].h.circle(id)
	envs, _ := badMix(f, ac.selfID, replay, 1000)

	got := make(chan struct{}, 1024)
	ch, cancel := ms[2].h.Subscribe()
	b.Cleanup(cancel)
	go func() {
		for ev := range ch {
			if ev.Kind == EventMessage && ev.Message != nil && ev.Message.Kind == "post" {
				got <- struct{}{}
			}
		}
	}()
	round := func() time.Duration {
		start := time.Now()
		for i := range perOp {
			if _, err := ms[0].h.Post(ctx, id, PostOptions{Text: fmt.Sprint("p", i)}); err != nil {
				b.Fatal(err)
			}
		}
		for range perOp {
			select {
			case <-got:
			case <-time.After(30 * time.Second):
				b.Fatal("a post did not arrive")
			}
		}
		return time.Since(start)
	}
	var quiet, attacked time.Duration
	var injected atomic.Int64
	round() // warm up
	b.ResetTimer()
	for range b.N {
		quiet += round()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				hc.validate(p2p.Message{From: f.peer, Data: envs[i%len(envs)]})
				injected.Add(1)
			}
		})
		attacked += round()
		close(stop)
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(attacked)/float64(quiet), "attack-ratio")
	b.ReportMetric(float64(injected.Load())/attacked.Seconds(), "bad-envelopes/s")
}

// Records forged in a member's name, or replayed, do not use up that
// member's live allowance: a hostile node cannot silence another member by
// flooding in its name.
func TestFaultForgedDoNotUseAllowance(t *testing.T) {
	c, other, pid := offlineCircle(t)
	f := &forger{t: t, circle: c.id, self: other, peer: pid, epochs: maps.Clone(c.epochs)}
	genuine := f.next(envelope.Kind_KIND_POST, &record.Post{Text: "once"})
	if got := c.validate(p2p.Message{From: pid, Data: genuine}); got != p2p.Accept {
		t.Fatalf("the real record: got %s, want accept", got)
	}
	for i := range 2 * liveBurst {
		if got := c.validate(p2p.Message{From: pid, Data: f.impersonate(c.selfID, uint64(i+1), "not mine")}); got != p2p.Reject {
			t.Fatalf("forged record %d: got %s, want reject", i, got)
		}
		if got := c.validate(p2p.Message{From: pid, Data: genuine}); got != p2p.Accept {
			t.Fatalf("replay %d: got %s, want accept", i, got)
		}
	}
	for _, who := range []MemberID{c.selfID, other.ID()} {
		if l := c.liveLimiter(who).Tokens(); l < liveBurst-2 {
			t.Errorf("%s: %.0f of the allowance of %d left, want it whole", who, l, liveBurst)
		}
	}
	if n := c.h.Counters()["rate_limited"]; n != 0 {
		t.Errorf("got %d rate_limited, want 0", n)
	}
}

// A receiver whose clock is a day behind takes a post sent "now" (a day in
// its future), and what it writes next is ordered after it: order follows
// the causal clock, the send times stay advisory.
func TestFaultReceiverClockADayBehind(t *testing.T) {
	c, other, pid := offlineCircle(t)
	c.h.opt.Now = func() time.Time { return time.Now().Add(-24 * time.Hour) }
	f := &forger{t: t, circle: c.id, self: other, peer: pid, epochs: maps.Clone(c.epochs)}
	b, _ := proto.Marshal(&record.Post{Text: "sent at the true time"})
	c.mu.Lock()
	lamport := c.state.Lamport + 1
	c.mu.Unlock()
	f.seq++
	ek := f.epochs[f.current()]
	env, _, err := envelope.Seal([16]byte(c.id), &ek.content, ek.number, f.seq, other,
		&envelope.Record{Kind: envelope.Kind_KIND_POST, Body: b, Lamport: lamport, SentAtMs: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.validate(p2p.Message{From: pid, Data: env}); got != p2p.Accept {
		t.Fatalf("a post from a day in the receiver's future: got %s, want accept", got)
	}
	mine, err := c.h.Post(context.Background(), c.id, PostOptions{Text: "a reply"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := c.h.History(c.id, "", 10)
	n := len(msgs)
	if n < 2 || msgs[n-2].Text != "sent at the true time" || msgs[n-1].ID != mine.ID {
		t.Fatalf("got order %+v, want the received post, then the reply written after it", msgs)
	}
	if !mine.SentAt.Before(msgs[n-2].SentAt) {
		t.Fatalf("the reply's advisory time %v is not a day behind %v", mine.SentAt, msgs[n-2].SentAt)
	}
}

// A catch-up page whose signatures are checked as one batch: records
// forged in another member's name among a member's genuine ones are each
// refused and counted, and every genuine one is kept.
func TestFaultForgedInCatchUpPage(t *testing.T) {
	id, a, b, c := circleOfThree(t)
	f := forgerOf(t, b, id)
	victim := memberID(t, a, id)
	cc, err := c.h.circle(id)
	if err != nil {
		t.Fatal(err)
	}
	var page [][]byte
	var want []string
	for i := range 64 {
		if i%8 == 3 || i%8 == 6 {
			page = append(page, f.impersonate(victim, uint64(500+i), "words put in another's mouth"))
			continue
		}
		text := fmt.Sprintf("b's post from the page %d", i)
		page = append(page, f.next(envelope.Kind_KIND_POST, &record.Post{Text: text}))
		want = append(want, text)
	}
	before := c.h.Counters()
	cc.receiveBatch(f.peer, page)
	if got := c.h.Counters()["refused_forged"] - before["refused_forged"]; got != 16 {
		t.Errorf("forged records refused: got %d, want 16", got)
	}
	texts := c.texts(id)
	if !hasAll(texts, want...) {
		t.Errorf("genuine records of the page missing from C's history")
	}
	for _, s := range texts {
		if s == "words put in another's mouth" {
			t.Fatalf("C keeps a record forged in A's name")
		}
	}
}
