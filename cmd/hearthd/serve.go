package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/multiformats/go-multiaddr"

	"github.com/hearth-circles/hearth/app"
)

type serveCmd struct {
	Listen []string `default:"${default_listen}" help:"Listen on MULTIADDR (repeatable; default: ${default}, loopback only)." placeholder:"MULTIADDR"`
	MDNS   bool     `name:"mdns" help:"Find members on the local network with mDNS (announces this node on the LAN)."`
}

func (c *serveCmd) Help() string {
	return `By default serve listens on loopback only (127.0.0.1, random TCP and QUIC
ports), which reaches members on this machine alone. To let members on your
LAN or the internet connect, listen on a routable address and port, e.g.

  hearthd serve --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1

and open that port in your firewall. Members see each other's IP addresses;
use a VPN or Tor if that matters.

While serve runs, the other commands for this home go through its control
socket DIR/hearthd.sock (mode 0600). Serve stops on SIGINT or SIGTERM.`
}

func (c *serveCmd) listenAddrs() ([]multiaddr.Multiaddr, error) {
	addrs := make([]multiaddr.Multiaddr, 0, len(c.Listen))
	for _, s := range c.Listen {
		a, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("--listen %q: %v", s, err)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

func (c *serveCmd) Validate() error {
	_, err := c.listenAddrs()
	return err
}

// Run unlocks the vault, opens the control socket, brings every circle
// online, prints "ready", and serves until ctx ends (SIGINT or SIGTERM).
func (c *serveCmd) Run(ctx context.Context, e *env) (err error) {
	addrs, err := c.listenAddrs()
	if err != nil {
		return usageErrorf("%v", err)
	}
	v, err := e.unlock()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeErr("close vault", v.Close())) }()
	h, err := app.New(v, app.Options{Listen: addrs, MDNS: c.MDNS, Logger: e.log})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { err = errors.Join(err, closeErr("stop", h.Close())) }()

	ln, err := listenControl(e.home)
	if err != nil {
		return err
	}
	ready := make(chan struct{})
	srv := &controlServer{b: &local{h: h}, log: e.log, ready: ready, peerOK: checkPeer}
	sctx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.serve(sctx, ln) }()
	defer func() {
		stopServer()
		err = errors.Join(err, <-served, closeErr("close control socket", ln.Close()))
	}()

	if err := h.Online(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting
		}
		return fmt.Errorf("go online: %w", err)
	}
	close(ready)
	e.log.Info("online", "circles", len(h.Circles()), "socket", ln.path)
	if _, err := fmt.Fprintln(e.stdout, "ready"); err != nil {
		return err
	}

	select {
	case <-ctx.Done():
		e.log.Info("stopping")
		return nil
	case err := <-served:
		served <- err // for the deferred wait
		return err
	}
}
