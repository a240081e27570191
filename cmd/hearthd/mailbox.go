package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/hearth-circles/hearth/app"
)

// The mailbox commands. A mailbox home runs "hearthd mailbox serve" instead
// of "serve": its control socket (the same DIR/hearthd.sock, the same line
// protocol) answers the mailbox commands only.
type mailboxCmd struct {
	Serve mailboxServeCmd `cmd:"" help:"Stay online as the blind mailbox of the circles joined; prints \"ready\" once listening."`
	Join  mailboxJoinCmd  `cmd:"" help:"Join a circle as its mailbox with a mailbox invite (needs mailbox serve running in this home); prints the circle id."`
	List  mailboxListCmd  `cmd:"" help:"List the circles served, with the envelopes and bytes held."`
}

// Control commands of a mailbox serve.
const (
	cmdMailboxJoin = "mailbox_join"
	cmdMailboxList = "mailbox_list"
)

// mailboxView is a served circle as the command line shows it.
type mailboxView struct {
	ID        string   `json:"id"`
	PeerID    string   `json:"peer_id"`
	Epoch     uint64   `json:"epoch"`
	Peers     int      `json:"peers"`
	Connected int      `json:"connected"`
	Envelopes int      `json:"envelopes"`
	Bytes     int64    `json:"bytes"`
	Addrs     []string `json:"addrs,omitempty"`
}

func viewMailbox(c app.MailboxCircle) mailboxView {
	return mailboxView{
		ID: c.ID.String(), PeerID: c.PeerID, Epoch: c.Epoch, Peers: c.Peers, Connected: c.Connected,
		Envelopes: c.Envelopes, Bytes: c.Bytes, Addrs: c.Addrs,
	}
}

func mailboxViews(m *app.Mailbox) ([]mailboxView, error) {
	cs, err := m.Circles()
	if err != nil {
		return nil, err
	}
	out := make([]mailboxView, 0, len(cs))
	for _, c := range cs {
		out = append(out, viewMailbox(c))
	}
	return out, nil
}

type mailboxServeCmd struct {
	Listen   []string      `default:"${default_listen}" help:"Listen on MULTIADDR (repeatable; default: ${default}, loopback only)." placeholder:"MULTIADDR"`
	Announce []string      `help:"Tell members to dial MULTIADDR (repeatable; a port of 0 takes the listening port; default: the listen addresses)." placeholder:"MULTIADDR"`
	Keep     time.Duration `default:"720h" help:"How long to hold envelopes of a circle that sets no retention."`
}

func (c *mailboxServeCmd) Help() string {
	return `A mailbox is an always-on peer a facilitator runs for a circle, on a small
public machine or a home server. It stores the circle's encrypted envelopes
as they are and hands them to members who were offline; it never gets a key
that opens them, nor the circle's name or anyone's pseudonym. It also relays
for members behind NAT. Give it a public address, e.g.

  hearthd mailbox serve --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1 \
      --announce /ip4/203.0.113.7/tcp/4001 --announce /ip4/203.0.113.7/udp/4001/quic-v1

then, in another terminal, "hearthd mailbox join CODE" with a code from
"hearthd invite --circle ID --mailbox" run by a facilitator.`
}

func parseMultiaddrs(flag string, ss []string) ([]multiaddr.Multiaddr, error) {
	out := make([]multiaddr.Multiaddr, 0, len(ss))
	for _, s := range ss {
		a, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", flag, s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func (c *mailboxServeCmd) Validate() error {
	if _, err := parseMultiaddrs("--listen", c.Listen); err != nil {
		return err
	}
	if c.Keep <= 0 {
		return fmt.Errorf("--keep must be positive")
	}
	_, err := parseMultiaddrs("--announce", c.Announce)
	return err
}

// Run unlocks the vault, opens the control socket, brings every served
// circle online, prints "ready", and serves until ctx ends.
func (c *mailboxServeCmd) Run(ctx context.Context, e *env) (err error) {
	listen, err := parseMultiaddrs("--listen", c.Listen)
	if err != nil {
		return usageErrorf("%v", err)
	}
	announce, err := parseMultiaddrs("--announce", c.Announce)
	if err != nil {
		return usageErrorf("%v", err)
	}
	v, err := e.unlock()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeErr("close vault", v.Close())) }()
	m, err := app.OpenMailbox(v, app.MailboxOptions{Listen: listen, Announce: announce, Keep: c.Keep, Logger: e.log})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { err = errors.Join(err, closeErr("stop", m.Close())) }()

	ln, err := listenControl(e.home)
	if err != nil {
		return err
	}
	ready := make(chan struct{})
	sctx, stopServer := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveMailboxControl(sctx, ln, m, ready, e)
	}()
	defer func() {
		stopServer()
		wg.Wait()
		err = errors.Join(err, closeErr("close control socket", ln.Close()))
	}()

	if err := m.Online(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("go online: %w", err)
	}
	close(ready)
	if _, err := fmt.Fprintln(e.stdout, "ready"); err != nil {
		return err
	}
	<-ctx.Done()
	e.log.Info("stopping")
	return nil
}

// serveMailboxControl answers mailbox commands on ln until ctx ends.
func serveMailboxControl(ctx context.Context, ln net.Listener, m *app.Mailbox, ready <-chan struct{}, e *env) {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	out := &controlServer{log: e.log}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			e.log.Warn("control socket", "err", err)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			if err := checkPeer(conn); err != nil {
				e.log.Warn("control connection refused", "err", err)
				return
			}
			conn.SetReadDeadline(time.Now().Add(requestReadTimeout))
			line, err := readLine(conn, maxRequestSize)
			if err == io.EOF {
				return // a probe
			}
			if err != nil {
				out.write(conn, failure(fmt.Errorf("%w: %w", errRequest, err)))
				return
			}
			req, err := decodeRequest(line)
			if err != nil {
				out.write(conn, failure(err))
				return
			}
			rctx, cancel := context.WithTimeout(ctx, joinTimeout+5*time.Second)
			defer cancel()
			select {
			case <-ready:
			case <-rctx.Done():
				out.write(conn, failure(rctx.Err()))
				return
			}
			var result any
			switch req.Cmd {
			case cmdMailboxJoin:
				var id app.CircleID
				id, err = m.Join(rctx, req.Code)
				result = id.String()
			case cmdMailboxList:
				result, err = mailboxViews(m)
			default:
				err = usageErrorf("this home runs a mailbox: only the mailbox commands reach it")
			}
			if err != nil {
				out.write(conn, failure(err))
				return
			}
			out.write(conn, okResponse(result))
		}()
	}
}

type mailboxJoinCmd struct {
	Code string `arg:"" help:"The mailbox invite code."`
}

func (c *mailboxJoinCmd) Run(ctx context.Context, e *env) error {
	r := findServe(e.home)
	if r == nil {
		return fmt.Errorf("no mailbox serve answers in %s: start hearthd --home %s mailbox serve first", e.home, e.home)
	}
	var id string
	if err := r.call(ctx, request{Cmd: cmdMailboxJoin, Code: strings.TrimSpace(c.Code)}, &id); err != nil {
		return err
	}
	_, err := fmt.Fprintln(e.stdout, id)
	return err
}

type mailboxListCmd struct {
	JSON bool `name:"json" help:"One JSON object a line: id, peer_id, epoch, peers, connected, envelopes, bytes, addrs."`
}

func (c *mailboxListCmd) Run(ctx context.Context, e *env) (err error) {
	var views []mailboxView
	if r := findServe(e.home); r != nil {
		if err := r.call(ctx, request{Cmd: cmdMailboxList}, &views); err != nil {
			return err
		}
	} else {
		v, err := e.unlock()
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, closeErr("close vault", v.Close())) }()
		m, err := app.OpenMailbox(v, app.MailboxOptions{Logger: e.log})
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		defer func() { err = errors.Join(err, closeErr("stop", m.Close())) }()
		if views, err = mailboxViews(m); err != nil {
			return err
		}
	}
	if c.JSON {
		return writeJSONLines(e.stdout, views)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CIRCLE\tEPOCH\tPEERS\tCONNECTED\tENVELOPES\tBYTES")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", v.ID, v.Epoch, v.Peers, v.Connected, v.Envelopes, v.Bytes)
	}
	return tw.Flush()
}

// okResponse wraps a result in a success response.
func okResponse(result any) response {
	data, err := json.Marshal(result)
	if err != nil {
		return failure(fmt.Errorf("encode result: %w", err))
	}
	return response{OK: true, Result: data}
}
