package p2p

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

func TestRequestResponse(t *testing.T) {
	const (
		echo    protocol.ID = "/hearth/test/echo/1"
		failing protocol.ID = "/hearth/test/fail/1"
		big     protocol.ID = "/hearth/test/big/1"
		maxReq              = 1000
	)
	a := newNode(t, Config{})
	b := newNode(t, Config{})
	allowAll(a, b)
	var gotFrom atomic.Value
	b.Handle(echo, maxReq, func(_ context.Context, from peer.ID, req []byte) ([]byte, error) {
		gotFrom.Store(from)
		return append([]byte("echo:"), req...), nil
	})
	b.Handle(failing, maxReq, func(context.Context, peer.ID, []byte) ([]byte, error) {
		return nil, errors.New("secret detail")
	})
	b.Handle(big, maxReq, func(context.Context, peer.ID, []byte) ([]byte, error) {
		return make([]byte, 5000), nil
	})
	connect(t, a, b)

	tests := []struct {
		name    string
		to      peer.ID
		proto   protocol.ID
		req     []byte
		maxResp int
		want    []byte
		wantErr error
	}{
		{"echo", b.ID(), echo, []byte("hi"), 100, []byte("echo:hi"), nil},
		{"empty request", b.ID(), echo, nil, 100, []byte("echo:"), nil},
		{"request at the cap", b.ID(), echo, make([]byte, maxReq), 2000, append([]byte("echo:"), make([]byte, maxReq)...), nil},
		{"request over the cap", b.ID(), echo, make([]byte, maxReq+1), 2000, nil, ErrTooLarge},
		{"request far over the cap", b.ID(), echo, make([]byte, 4<<20), 2000, nil, ErrTooLarge},
		{"response over the cap", b.ID(), big, nil, 4999, nil, ErrTooLarge},
		{"response at the cap", b.ID(), big, nil, 5000, make([]byte, 5000), nil},
		{"handler error", b.ID(), failing, nil, 100, nil, ErrRemote},
		{"stranger", peer.ID("stranger"), echo, nil, 100, nil, ErrNotAllowed},
		{"self", a.ID(), echo, nil, 100, nil, ErrNotAllowed},
		{"request over the absolute cap", b.ID(), echo, make([]byte, MaxExchangeSize+1), 100, nil, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			got, err := a.Request(ctx, tc.to, tc.proto, tc.req, tc.maxResp)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if err != nil && bytes.Contains([]byte(err.Error()), []byte("secret")) {
				t.Errorf("error carries the handler's text: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(tc.want), tc.want)
			}
		})
	}
	if got, _ := gotFrom.Load().(peer.ID); got != a.ID() {
		t.Errorf("handler saw from %s, want %s", got, a.ID())
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := a.Request(ctx, b.ID(), "/hearth/test/none/1", nil, 10); err == nil {
		t.Error("unknown protocol: got nil, want an error")
	}
}

// TestHandlerCancelledByClose: a handler blocked on its context returns
// when the node closes, and Close waits for it.
func TestHandlerCancelledByClose(t *testing.T) {
	const slow protocol.ID = "/hearth/test/slow/1"
	a := newNode(t, Config{})
	b := newNode(t, Config{})
	allowAll(a, b)
	started := make(chan struct{})
	returned := make(chan error, 1)
	b.Handle(slow, 10, func(ctx context.Context, _ peer.ID, _ []byte) ([]byte, error) {
		close(started)
		<-ctx.Done()
		returned <- ctx.Err()
		return nil, ctx.Err()
	})
	connect(t, a, b)
	errc := make(chan error, 1)
	go func() {
		_, err := a.Request(context.Background(), b.ID(), slow, nil, 10)
		errc <- err
	}()
	<-started
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-returned:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler context: got %v, want %v", err, context.Canceled)
		}
	default:
		t.Error("Close returned before the handler")
	}
	if err := <-errc; err == nil {
		t.Error("request to a closed node: got nil, want an error")
	}
}
