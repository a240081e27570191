package p2p

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Gossip parameters.
const (
	// gossipProtocol is the gossipsub protocol id: our own, so that Hearth
	// nodes do not mesh with other gossipsub networks.
	gossipProtocol protocol.ID = "/hearth/gossip/1.0.0"
	// MaxGossipSize is the largest gossip RPC accepted. Envelopes are at
	// most 65,610 bytes; the rest is room for the topic and framing.
	MaxGossipSize = 72 * 1024
	// MaxPublishSize is the largest message Publish accepts.
	MaxPublishSize = MaxGossipSize - 1024
	// subscriptionBuffer is how many validated messages of a topic may wait
	// for Config.Receive before the newest are dropped.
	subscriptionBuffer = 1024
)

// Verdict is a gossip validator's decision on a message.
type Verdict int

// Verdicts. Any other value is treated as Ignore.
const (
	// Accept delivers the message and forwards it.
	Accept Verdict = iota + 1
	// Ignore drops the message without penalising the forwarding peer: for
	// example an envelope of an epoch whose key the node lacks.
	Ignore
	// Reject drops the message and counts it against the forwarding peer:
	// for example a malformed envelope.
	Reject
)

func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Ignore:
		return "ignore"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Message is a gossip message as seen by Validate and Receive.
type Message struct {
	// From is the peer that forwarded the message to us, which need not be
	// its author: gossip messages carry no author.
	From  peer.ID
	Topic string
	Data  []byte
}

// joined is a topic the node has joined.
type joined struct {
	topic *pubsub.Topic
	sub   *pubsub.Subscription
}

// topicFilter decides which topics the node tracks. The node itself may
// subscribe only to topics it has joined. Of the subscriptions peers
// announce, it keeps those to joined topics and, per peer, at most
// maxForeignTopics to topics not joined (yet): an RPC announcing more than
// maxSubsPerRPC changes is refused whole, and topic names over
// maxTopicLen are dropped. Peers therefore cannot make the node track more
// than a few topics it does not care about.
//
// Keeping a few topics not yet joined matters: gossipsub announces a
// subscription once. When the circle moves to a new topic, members join it
// one after the other; a member that dropped the announcements of those who
// joined before it would never learn that they are subscribed, and its own
// messages would not reach them.
type topicFilter struct {
	mu      sync.Mutex
	joined  map[string]struct{}
	foreign map[peer.ID]map[string]struct{}
}

// Bounds of the subscription filter.
const (
	// maxSubsPerRPC bounds the subscription changes one RPC may carry.
	maxSubsPerRPC = 32
	// maxForeignTopics bounds, per peer, the subscriptions kept to topics
	// the node has not joined.
	maxForeignTopics = 8
	// maxTopicLen bounds the length of a topic name.
	maxTopicLen = 256
)

var _ pubsub.SubscriptionFilter = (*topicFilter)(nil)

func newTopicFilter() *topicFilter {
	return &topicFilter{
		joined:  make(map[string]struct{}),
		foreign: make(map[peer.ID]map[string]struct{}),
	}
}

func (f *topicFilter) add(topic string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.joined[topic] = struct{}{}
	for p, topics := range f.foreign {
		delete(topics, topic)
		if len(topics) == 0 {
			delete(f.foreign, p)
		}
	}
}

func (f *topicFilter) remove(topic string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.joined, topic)
}

// forget drops what the filter holds about a peer that disconnected.
func (f *topicFilter) forget(p peer.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.foreign, p)
}

// CanSubscribe reports whether topic has been joined.
func (f *topicFilter) CanSubscribe(topic string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.joined[topic]
	return ok
}

// FilterIncomingSubscriptions keeps the subscriptions of an RPC described
// in the type's documentation.
func (f *topicFilter) FilterIncomingSubscriptions(from peer.ID, subs []*pb.RPC_SubOpts) ([]*pb.RPC_SubOpts, error) {
	if len(subs) > maxSubsPerRPC {
		return nil, pubsub.ErrTooManySubscriptions
	}
	subs = pubsub.FilterSubscriptions(subs, func(topic string) bool { return len(topic) <= maxTopicLen })
	f.mu.Lock()
	defer f.mu.Unlock()
	out := subs[:0]
	for _, sub := range subs {
		topic := sub.GetTopicid()
		if _, ok := f.joined[topic]; ok {
			out = append(out, sub)
			continue
		}
		topics := f.foreign[from]
		_, known := topics[topic]
		switch {
		case !sub.GetSubscribe():
			if known {
				delete(topics, topic)
				if len(topics) == 0 {
					delete(f.foreign, from)
				}
			}
			out = append(out, sub) // lets gossipsub forget it, known or not
		case known:
			out = append(out, sub)
		case len(topics) < maxForeignTopics:
			if topics == nil {
				topics = make(map[string]struct{})
				f.foreign[from] = topics
			}
			topics[topic] = struct{}{}
			out = append(out, sub)
		}
	}
	return out, nil
}

// messageID is the gossip message id: the SHA-256 of the data, as the 32 raw
// bytes. Messages carry no author or sequence number, so equal data is the
// same message wherever it comes from.
func messageID(m *pb.Message) string {
	sum := sha256.Sum256(m.GetData())
	return string(sum[:])
}

// gossipFeatures declares what gossipProtocol supports: the mesh, peer
// exchange (which Hearth leaves off) and IDONTWANT, as gossipsub v1.2.
func gossipFeatures(feat pubsub.GossipSubFeature, proto protocol.ID) bool {
	if proto != gossipProtocol {
		return false
	}
	switch feat {
	case pubsub.GossipSubFeatureMesh, pubsub.GossipSubFeaturePX, pubsub.GossipSubFeatureIdontwant:
		return true
	}
	return false
}

// newGossip starts gossipsub on h. ctx is its lifetime. The node's own
// messages go to every known subscriber of the topic (flood publishing):
// in a circle of tens of members that is one hop to
// everyone, and it works before the mesh has formed.
//
// Validation runs inline on a single worker: messages reach Receive in the
// order they arrived, so a gap the app sees is a real one.
func newGossip(ctx context.Context, h host.Host, filter *topicFilter, tune gossipTuning) (*pubsub.PubSub, error) {
	params := pubsub.DefaultGossipSubParams()
	params.IDontWantMessageThreshold = idontwantThreshold
	opts := []pubsub.Option{
		pubsub.WithGossipSubParams(params),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithGossipSubProtocols([]protocol.ID{gossipProtocol}, gossipFeatures),
		pubsub.WithMaxMessageSize(MaxGossipSize),
		pubsub.WithSubscriptionFilter(filter),
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerExchange(false),
		pubsub.WithPeerOutboundQueueSize(256),
		pubsub.WithValidateQueueSize(256),
		pubsub.WithValidateWorkers(max(1, tune.workers)),
	}
	if tune.tracer != nil {
		opts = append(opts, pubsub.WithRawTracer(tune.tracer))
	}
	return pubsub.NewGossipSub(ctx, h, opts...)
}

// idontwantThreshold is the smallest message for which a node tells its mesh
// peers, as it starts validating it, not to send it a copy (IDONTWANT). The
// gossipsub default is 1 KiB, which every post of more than about 170
// characters reaches once padded (envelopes come in buckets of 256 B, 1, 4,
// 16 and 64 KiB). An author floods its message to every member, so each
// member has its copy from the author, and the mesh copies IDONTWANT would
// spare are each a packet: for small envelopes the control messages, one
// per mesh peer per message, cost more than the copies they save. Measured
// with `hearthd bench` (10 peers, 256-character posts), the 1 KiB default
// cost about 250 µs of CPU per delivery more than this threshold. From 16
// KiB, the copies are worth sparing.
const idontwantThreshold = 16 << 10

// gossipTuning selects how validation runs, for the benchmarks that compare
// the choices, and lets tests watch gossipsub's RPCs; the zero value is what
// Hearth uses.
type gossipTuning struct {
	async   bool // run the validator off the worker, a goroutine per message
	workers int  // validation workers; 0 means 1
	tracer  pubsub.RawTracer
}

// Join subscribes to topic. Joining a topic already joined does nothing.
// Messages of the topic that pass Config.Validate go to Config.Receive.
func (n *Node) Join(topic string) error {
	if topic == "" {
		return errors.New("p2p: empty topic")
	}
	n.tmu.Lock()
	defer n.tmu.Unlock()
	if _, ok := n.topics[topic]; ok {
		return nil
	}
	ctx, end, ok := n.begin(context.Background())
	if !ok {
		return ErrClosed
	}
	n.filter.add(topic)
	j, err := n.join(topic)
	if err != nil {
		n.filter.remove(topic)
		end()
		return fmt.Errorf("p2p: join: %w", err)
	}
	n.topics[topic] = j
	go n.readTopic(ctx, end, topic, j.sub)
	return nil
}

func (n *Node) join(topic string) (*joined, error) {
	if err := n.ps.RegisterTopicValidator(topic, n.validate, pubsub.WithValidatorInline(!n.cfg.tuning.async)); err != nil {
		return nil, err
	}
	t, err := n.ps.Join(topic)
	if err != nil {
		_ = n.ps.UnregisterTopicValidator(topic)
		return nil, err
	}
	sub, err := t.Subscribe(pubsub.WithBufferSize(subscriptionBuffer))
	if err != nil {
		_ = t.Close()
		_ = n.ps.UnregisterTopicValidator(topic)
		return nil, err
	}
	return &joined{topic: t, sub: sub}, nil
}

// Leave unsubscribes from topic. Leaving a topic not joined does nothing. A
// message already on its way may still reach Config.Receive after Leave
// returns.
func (n *Node) Leave(topic string) error {
	n.tmu.Lock()
	defer n.tmu.Unlock()
	j, ok := n.topics[topic]
	if !ok {
		return nil
	}
	delete(n.topics, topic)
	j.sub.Cancel()
	err := j.topic.Close()
	if uerr := n.ps.UnregisterTopicValidator(topic); err == nil {
		err = uerr
	}
	n.filter.remove(topic)
	if err != nil {
		return fmt.Errorf("p2p: leave: %w", err)
	}
	return nil
}

// Publish sends data to the peers of a joined topic. The node's own message
// goes through Config.Validate first and is not given to Config.Receive.
func (n *Node) Publish(ctx context.Context, topic string, data []byte) error {
	if len(data) > MaxPublishSize {
		return fmt.Errorf("publish %d bytes: %w", len(data), ErrTooLarge)
	}
	n.tmu.Lock()
	j, ok := n.topics[topic]
	n.tmu.Unlock()
	if !ok {
		n.mu.Lock()
		closed := n.closed
		n.mu.Unlock()
		if closed {
			return ErrClosed
		}
		return fmt.Errorf("publish: %w", ErrNotJoined)
	}
	err := j.topic.Publish(ctx, data)
	var verr pubsub.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &verr):
		return fmt.Errorf("publish: %w", ErrRejected)
	case errors.Is(err, pubsub.ErrTopicClosed):
		return fmt.Errorf("publish: %w", ErrNotJoined)
	}
	return fmt.Errorf("p2p: publish: %w", err)
}

// validate is the topic validator: peers outside the allowed set (in flight
// while being disallowed) are ignored, the rest is up to Config.Validate.
func (n *Node) validate(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if !n.Allowed(from) {
		return pubsub.ValidationIgnore
	}
	if n.cfg.Validate == nil {
		return pubsub.ValidationAccept
	}
	switch n.cfg.Validate(Message{From: from, Topic: m.GetTopic(), Data: m.GetData()}) {
	case Accept:
		return pubsub.ValidationAccept
	case Reject:
		return pubsub.ValidationReject
	default:
		return pubsub.ValidationIgnore
	}
}

// readTopic hands the messages of one topic to Config.Receive, in order.
func (n *Node) readTopic(ctx context.Context, end func(), topic string, sub *pubsub.Subscription) {
	defer end()
	self := n.host.ID()
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if m.ReceivedFrom == self || m.Local {
			continue
		}
		if n.cfg.Receive != nil {
			n.cfg.Receive(Message{From: m.ReceivedFrom, Topic: topic, Data: m.GetData()})
		}
	}
}
