package p2p

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// TestMeshDelivery: three nodes that allow each other mesh, and each gets
// every message the others publish, never its own.
func TestMeshDelivery(t *testing.T) {
	const topic = "circle"
	var boxes [3]inbox
	nodes := meshOfThree(t, topic, &boxes, nil)

	for i, n := range nodes {
		if err := n.Publish(context.Background(), topic, []byte(fmt.Sprintf("from %d", i))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	for i := range nodes {
		waitFor(t, fmt.Sprintf("node %d to get both messages", i), func() bool { return boxes[i].len() >= 2 })
	}
	for i := range nodes {
		for j := range nodes {
			want := i != j
			if got := boxes[i].has(fmt.Sprintf("from %d", j)); got != want {
				t.Errorf("node %d has message of node %d: got %v, want %v", i, j, got, want)
			}
		}
		if got := boxes[i].len(); got != 2 {
			t.Errorf("node %d got %d messages, want 2", i, got)
		}
		for _, m := range boxes[i].msgs {
			if m.Topic != topic {
				t.Errorf("node %d: got topic %q, want %q", i, m.Topic, topic)
			}
		}
	}
}

// TestValidatorVerdicts: only messages the receiver's validator accepts
// reach Receive; a message the sender's own validator refuses is an error.
func TestValidatorVerdicts(t *testing.T) {
	const topic = "circle"
	verdict := func(m Message) Verdict {
		switch {
		case strings.HasPrefix(string(m.Data), "accept"):
			return Accept
		case strings.HasPrefix(string(m.Data), "reject"):
			return Reject
		case strings.HasPrefix(string(m.Data), "odd"):
			return Verdict(42) // unknown verdicts count as Ignore
		}
		return Ignore
	}
	var (
		mu    sync.Mutex
		calls = map[string]Verdict{}
		in    inbox
	)
	a := newNode(t, Config{}) // accepts everything it publishes
	b := newNode(t, Config{Receive: in.receive, Validate: func(m Message) Verdict {
		v := verdict(m)
		mu.Lock()
		calls[string(m.Data)] = v
		mu.Unlock()
		return v
	}})
	allowAll(a, b)
	for _, n := range []*Node{a, b} {
		if err := n.Join(topic); err != nil {
			t.Fatal(err)
		}
	}
	connect(t, a, b)
	waitMesh(t, topic, 1, a, b)

	sent := []string{"accept 1", "ignore 1", "reject 1", "odd 1", "accept 2"}
	for _, data := range sent {
		if err := a.Publish(context.Background(), topic, []byte(data)); err != nil {
			t.Fatalf("publish %q: %v", data, err)
		}
	}
	// Once b has judged every message and delivered the accepted ones,
	// nothing else can arrive: a refused message is dropped in the call
	// that judged it.
	waitFor(t, "b to judge and deliver", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) == len(sent) && in.len() >= 2
	})
	for _, data := range sent {
		want := strings.HasPrefix(data, "accept")
		if got := in.has(data); got != want {
			t.Errorf("b delivered %q: got %v, want %v", data, got, want)
		}
	}
	if got := in.len(); got != 2 {
		t.Errorf("b delivered %d messages, want 2", got)
	}

	// b's validator also judges b's own messages.
	for _, tc := range []struct {
		data string
		want error
	}{
		{"accept 3", nil},
		{"ignore 3", ErrRejected},
		{"reject 3", ErrRejected},
	} {
		if err := b.Publish(context.Background(), topic, []byte(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("publish %q: got %v, want %v", tc.data, err, tc.want)
		}
	}
	if got := in.len(); got != 2 {
		t.Errorf("b got %d messages after its own publishes, want 2", got)
	}
}

func TestPublishErrors(t *testing.T) {
	n := newNode(t, Config{})
	if err := n.Join("joined"); err != nil {
		t.Fatal(err)
	}
	if err := n.Join("left"); err != nil {
		t.Fatal(err)
	}
	if err := n.Leave("left"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		topic string
		size  int
		want  error
	}{
		{"joined", "joined", 10, nil},
		{"largest", "joined", MaxPublishSize, nil},
		{"too large", "joined", MaxPublishSize + 1, ErrTooLarge},
		{"never joined", "other", 10, ErrNotJoined},
		{"left", "left", 10, ErrNotJoined},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := n.Publish(context.Background(), tc.topic, make([]byte, tc.size))
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	if err := n.Join(""); err == nil {
		t.Error("join of the empty topic: got nil, want an error")
	}
}

func TestJoinLeaveIdempotent(t *testing.T) {
	n := newNode(t, Config{})
	for range 2 {
		if err := n.Join("t"); err != nil {
			t.Fatalf("join: got %v, want nil", err)
		}
	}
	if got := n.filter.CanSubscribe("t"); !got {
		t.Errorf("filter admits joined topic: got %v, want true", got)
	}
	for range 2 {
		if err := n.Leave("t"); err != nil {
			t.Fatalf("leave: got %v, want nil", err)
		}
	}
	if got := n.filter.CanSubscribe("t"); got {
		t.Errorf("filter admits left topic: got %v, want false", got)
	}
	if err := n.Join("t"); err != nil {
		t.Fatalf("join again: got %v, want nil", err)
	}
}

func TestTopicFilter(t *testing.T) {
	sub := func(topic string, on bool) *pb.RPC_SubOpts {
		return &pb.RPC_SubOpts{Topicid: &topic, Subscribe: &on}
	}
	p := peer.ID("peer")
	many := func(n int, prefix string) []*pb.RPC_SubOpts {
		var out []*pb.RPC_SubOpts
		for i := range n {
			out = append(out, sub(fmt.Sprintf("%s%d", prefix, i), true))
		}
		return out
	}
	tests := []struct {
		name    string
		subs    []*pb.RPC_SubOpts
		want    int
		wantErr bool
	}{
		{"joined", []*pb.RPC_SubOpts{sub("joined", true)}, 1, false},
		{"a few foreign", many(maxForeignTopics, "f"), maxForeignTopics, false},
		{"same foreign again", many(maxForeignTopics, "f"), maxForeignTopics, false},
		{"foreign over the cap", many(3, "g"), 0, false},
		{"joined still admitted", []*pb.RPC_SubOpts{sub("joined", true), sub("h", true)}, 1, false},
		{"unsubscribe frees room", []*pb.RPC_SubOpts{sub("f0", false)}, 1, false},
		{"room used again", many(2, "g"), 1, false},
		{"long topic", []*pb.RPC_SubOpts{sub(strings.Repeat("x", maxTopicLen+1), true)}, 0, false},
		{"too many in one rpc", many(maxSubsPerRPC+1, "joined"), 0, true},
	}
	f := newTopicFilter()
	f.add("joined")
	for _, tc := range tests {
		got, err := f.FilterIncomingSubscriptions(p, tc.subs)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: got error %v, want error %v", tc.name, err, tc.wantErr)
		}
		if len(got) != tc.want {
			t.Errorf("%s: got %d subscriptions kept, want %d", tc.name, len(got), tc.want)
		}
	}
	if f.CanSubscribe("f1") {
		t.Error("own subscription to a foreign topic: got allowed, want refused")
	}
	f.forget(p)
	if got, _ := f.FilterIncomingSubscriptions(p, many(maxForeignTopics, "k")); len(got) != maxForeignTopics {
		t.Errorf("after forget: got %d kept, want %d", len(got), maxForeignTopics)
	}
}

// TestLateJoiner: peers connect, then join a new topic one after the
// other. The last to join must still reach the others by gossip alone.
func TestLateJoiner(t *testing.T) {
	const topic = "next-epoch"
	var boxes [3]inbox
	var nodes []*Node
	for i := range boxes {
		nodes = append(nodes, newNode(t, Config{Receive: boxes[i].receive}))
	}
	allowAll(nodes...)
	connect(t, nodes[0], nodes[1])
	connect(t, nodes[1], nodes[2])
	connect(t, nodes[0], nodes[2])

	for i, n := range nodes {
		if err := n.Join(topic); err != nil {
			t.Fatal(err)
		}
		// Everyone else has heard of the subscription before the next joins.
		for j, o := range nodes {
			if j != i {
				waitFor(t, "subscription heard", func() bool { return containsPeer(o.ps.ListPeers(topic), n.ID()) })
			}
		}
	}
	last := nodes[len(nodes)-1]
	if got := len(last.ps.ListPeers(topic)); got != len(nodes)-1 {
		t.Fatalf("last joiner knows %d subscribers, want %d", got, len(nodes)-1)
	}
	if err := last.Publish(context.Background(), topic, []byte("late")); err != nil {
		t.Fatal(err)
	}
	for i := range len(nodes) - 1 {
		waitFor(t, "message of the last joiner", func() bool { return boxes[i].has("late") })
	}
}

// meshOfThree starts three nodes that allow one another, each receiving
// into its box, joins topic on each, connects every pair and waits until
// each has the other two as peers on the topic. with, when not nil, adjusts
// each node's Config first.
func meshOfThree(t *testing.T, topic string, boxes *[3]inbox, with func(i int, cfg *Config)) []*Node {
	t.Helper()
	var nodes []*Node
	for i := range boxes {
		cfg := Config{Receive: boxes[i].receive}
		if with != nil {
			with(i, &cfg)
		}
		nodes = append(nodes, newNode(t, cfg))
	}
	allowAll(nodes...)
	for _, n := range nodes {
		if err := n.Join(topic); err != nil {
			t.Fatal(err)
		}
	}
	connect(t, nodes[0], nodes[1])
	connect(t, nodes[1], nodes[2])
	connect(t, nodes[0], nodes[2])
	waitMesh(t, topic, 2, nodes...)
	return nodes
}

func containsPeer(ps []peer.ID, p peer.ID) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// TestIDontWantOnlyForLargeMessages: a node tells its mesh peers it already
// has a message (IDONTWANT) only from idontwantThreshold up, not for the
// small envelopes most posts are.
func TestIDontWantOnlyForLargeMessages(t *testing.T) {
	const topic = "circle"
	var boxes [3]inbox
	var watch idontwantWatch
	nodes := meshOfThree(t, topic, &boxes, func(i int, cfg *Config) {
		if i == 1 {
			cfg.tuning.tracer = &watch
		}
	})
	waitFor(t, "node 1's mesh", func() bool { return watch.meshSize() == 2 })

	small := []byte(strings.Repeat("s", 4<<10+100)) // a padded 4 KiB post
	large := []byte(strings.Repeat("l", idontwantThreshold))
	for _, data := range [][]byte{small, large} {
		if err := nodes[0].Publish(context.Background(), topic, data); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both messages at node 1", func() bool { return boxes[1].len() == 2 })
	waitFor(t, "the IDONTWANT for the large message", func() bool {
		return watch.sent(messageID(&pb.Message{Data: large})) > 0
	})
	if n := watch.sent(messageID(&pb.Message{Data: small})); n != 0 {
		t.Errorf("node 1 sent %d IDONTWANT for a message of %d bytes", n, len(small))
	}
}

// idontwantWatch counts the IDONTWANT a node sends, by message id, and
// follows its mesh.
type idontwantWatch struct {
	mu   sync.Mutex
	ids  map[string]int
	mesh map[peer.ID]bool
}

func (w *idontwantWatch) meshSize() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.mesh)
}

func (w *idontwantWatch) Graft(p peer.ID, _ string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mesh == nil {
		w.mesh = map[peer.ID]bool{}
	}
	w.mesh[p] = true
}

func (w *idontwantWatch) Prune(p peer.ID, _ string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.mesh, p)
}

func (w *idontwantWatch) sent(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ids[id]
}

func (w *idontwantWatch) SendRPC(rpc *pubsub.RPC, _ peer.ID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range rpc.GetControl().GetIdontwant() {
		for _, id := range c.GetMessageIDs() {
			if w.ids == nil {
				w.ids = map[string]int{}
			}
			w.ids[id]++
		}
	}
}

func (*idontwantWatch) AddPeer(peer.ID, protocol.ID)                         {}
func (*idontwantWatch) RemovePeer(peer.ID)                                   {}
func (*idontwantWatch) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (*idontwantWatch) OnClosedOutboundStream(peer.ID)                       {}
func (*idontwantWatch) Join(string)                                          {}
func (*idontwantWatch) Leave(string)                                         {}
func (*idontwantWatch) ValidateMessage(*pubsub.Message)                      {}
func (*idontwantWatch) DeliverMessage(*pubsub.Message)                       {}
func (*idontwantWatch) RejectMessage(*pubsub.Message, string)                {}
func (*idontwantWatch) DuplicateMessage(*pubsub.Message)                     {}
func (*idontwantWatch) ThrottlePeer(peer.ID)                                 {}
func (*idontwantWatch) RecvRPC(*pubsub.RPC)                                  {}
func (*idontwantWatch) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*idontwantWatch) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (*idontwantWatch) UndeliverableMessage(*pubsub.Message)                 {}
