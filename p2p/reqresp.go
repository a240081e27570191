package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Request/response limits.
const (
	// MaxExchangeSize caps any request or response, whatever the caller
	// asks for.
	MaxExchangeSize = 16 << 20
	// exchangeTimeout is the deadline of a request or of handling one when
	// the caller's context has none.
	exchangeTimeout = 30 * time.Second
)

// Response status bytes.
const (
	statusOK       byte = 0 // the response follows
	statusFailed   byte = 1 // the handler failed; nothing follows
	statusTooLarge byte = 2 // the request was over the handler's cap
)

// Handle serves proto: each request from an allowed peer, at most maxReq
// bytes (capped at MaxExchangeSize), is passed to h and its result sent
// back. An error from h reaches the requester as ErrRemote, without its
// text. h runs with a deadline and is cancelled by Close. Handle replaces
// any earlier handler of proto.
//
// Wire format: the requester sends a uvarint length and the request, then
// closes its side; the handler answers with a status byte (0 ok, 1 failed,
// 2 request too large) and, for 0, a uvarint length and the response.
//
// The node's own protocols (gossip, sync) cannot be taken over: Handle
// ignores them.
func (n *Node) Handle(proto protocol.ID, maxReq int, h func(ctx context.Context, from peer.ID, req []byte) ([]byte, error)) {
	if proto == syncProtocol || proto == gossipProtocol {
		n.log.Warn("refusing to replace a built-in protocol", "protocol", proto)
		return
	}
	maxReq = max(0, min(maxReq, MaxExchangeSize))
	n.host.SetStreamHandler(proto, func(s network.Stream) {
		n.serveExchange(s, maxReq, h)
	})
}

func (n *Node) serveExchange(s network.Stream, maxReq int, h func(context.Context, peer.ID, []byte) ([]byte, error)) {
	from := s.Conn().RemotePeer()
	if !n.Allowed(from) {
		_ = s.Reset()
		return
	}
	ctx, end, ok := n.begin(context.Background())
	if !ok {
		_ = s.Reset()
		return
	}
	defer end()
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if err := s.SetDeadline(time.Now().Add(exchangeTimeout)); err != nil {
		_ = s.Reset()
		return
	}

	r := bufio.NewReader(s)
	req, err := readMessage(r, maxReq)
	if errors.Is(err, ErrTooLarge) {
		_, _ = s.Write([]byte{statusTooLarge})
		_ = s.Close()
		return
	}
	if err == nil {
		err = expectEOF(r)
	}
	if err != nil {
		_ = s.Reset()
		return
	}
	resp, err := h(ctx, from, req)
	if err != nil {
		_, _ = s.Write([]byte{statusFailed})
		_ = s.Close()
		return
	}
	if len(resp) > MaxExchangeSize {
		n.log.Warn("response over the size cap", "protocol", s.Protocol(), "size", len(resp))
		_, _ = s.Write([]byte{statusFailed})
		_ = s.Close()
		return
	}
	w := bufio.NewWriter(s)
	_ = w.WriteByte(statusOK)
	if err := writeMessage(w, resp); err != nil {
		_ = s.Reset()
		return
	}
	if err := w.Flush(); err != nil {
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// Request sends req to p over proto and returns the response, refusing one
// over maxResp bytes (capped at MaxExchangeSize) before reading it. It dials
// p if needed. Without a deadline on ctx, the exchange has 30 seconds.
func (n *Node) Request(ctx context.Context, p peer.ID, proto protocol.ID, req []byte, maxResp int) ([]byte, error) {
	if !n.Allowed(p) || p == n.host.ID() {
		return nil, fmt.Errorf("request %s: %w", p, ErrNotAllowed)
	}
	if len(req) > MaxExchangeSize {
		return nil, fmt.Errorf("request of %d bytes: %w", len(req), ErrTooLarge)
	}
	maxResp = max(0, min(maxResp, MaxExchangeSize))
	ctx, end, ok := n.begin(ctx)
	if !ok {
		return nil, ErrClosed
	}
	defer end()
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, exchangeTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()

	s, err := n.host.NewStream(ctx, p, proto)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", proto, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	resp, err := exchange(s, deadline, req, maxResp)
	if err != nil {
		_ = s.Reset()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("request %s: %w", proto, ctx.Err())
		}
		return nil, fmt.Errorf("request %s: %w", proto, err)
	}
	_ = s.Close()
	return resp, nil
}

// exchange writes the request while it reads the response, so that a
// handler refusing an oversize request is heard before the request is sent
// in full.
func exchange(s network.Stream, deadline time.Time, req []byte, maxResp int) ([]byte, error) {
	if err := s.SetDeadline(deadline); err != nil {
		return nil, err
	}
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(s)
		err := writeMessage(w, req)
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = s.CloseWrite()
		}
		werr <- err
	}()
	resp, err := readResponse(bufio.NewReader(s), maxResp)
	if err != nil {
		_ = s.Reset() // unblocks the writer
		<-werr
		return nil, err
	}
	if err := <-werr; err != nil {
		return nil, err
	}
	return resp, nil
}

// readResponse reads a status byte and, for statusOK, a response of at most
// maxResp bytes followed by the end of the stream.
func readResponse(r *bufio.Reader, maxResp int) ([]byte, error) {
	status, err := r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no response: %w", ErrProtocol)
		}
		return nil, err
	}
	switch status {
	case statusOK:
	case statusFailed:
		return nil, ErrRemote
	case statusTooLarge:
		return nil, fmt.Errorf("request refused by the peer: %w", ErrTooLarge)
	default:
		return nil, fmt.Errorf("unknown status %d: %w", status, ErrProtocol)
	}
	resp, err := readMessage(r, maxResp)
	if err != nil {
		return nil, err
	}
	if err := expectEOF(r); err != nil {
		return nil, err
	}
	return resp, nil
}

// readMessage reads a uvarint length, checks it against max, then reads
// that many bytes. Over max is ErrTooLarge.
func readMessage(r *bufio.Reader, max int) ([]byte, error) {
	n, err := readLength(r, math.MaxUint64)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("missing length: %w", ErrProtocol)
	}
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%d bytes over the %d cap: %w", n, max, ErrTooLarge)
	}
	b := make([]byte, n)
	if err := readFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func writeMessage(w *bufio.Writer, b []byte) error {
	var hdr [binary.MaxVarintLen64]byte
	if _, err := w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(b)))]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// expectEOF refuses trailing bytes.
func expectEOF(r *bufio.Reader) error {
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			return fmt.Errorf("trailing bytes: %w", ErrProtocol)
		}
		return err
	}
	return nil
}
