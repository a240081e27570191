package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// The control socket protocol. A client connects to DIR/hearthd.sock, writes
// one request as a JSON object on one line, and reads one response line:
//
//	{"cmd":"post","circle":"…","text":"…","scope":"future"}
//	{"ok":true,"result":…}
//	{"ok":false,"error":"…","kind":"wrong_passphrase|usage|…"}
//
// One request per connection. The client keeps its side open until the
// response has arrived: closing it cancels the request.
const (
	// controlSocketName is the socket's file name in the home directory.
	controlSocketName = "hearthd.sock"
	// maxRequestSize bounds a request line, newline included.
	maxRequestSize = 1 << 20
	// maxResponseSize bounds a response line; a read of many long
	// messages may need a smaller --limit.
	maxResponseSize = 64 << 20
	// requestReadTimeout bounds how long serve waits for a request line.
	requestReadTimeout = 10 * time.Second
	// responseWriteTimeout bounds how long serve waits to write a response.
	responseWriteTimeout = 30 * time.Second
	// requestTimeout bounds the work of any request but a join.
	requestTimeout = 2 * time.Minute
)

// Commands on the control socket.
const (
	cmdCircleCreate = "circle_create"
	cmdCircleList   = "circle_list"
	cmdInvite       = "invite"
	cmdJoin         = "join"
	cmdPost         = "post"
	cmdRead         = "read"
	cmdMembers      = "members"
	cmdRemove       = "remove"
	cmdLeave        = "leave"
	cmdInsights     = "insights"
	cmdGuidelines   = "guidelines"
	cmdModerate     = "moderate"
	cmdEvents       = "events"
	cmdLibrary      = "library"
	cmdReports      = "reports"
)

// request is one control request. Which fields matter depends on Cmd.
type request struct {
	Cmd     string `json:"cmd"`
	Circle  string `json:"circle,omitempty"`
	Name    string `json:"name,omitempty"`
	Nick    string `json:"nick,omitempty"`
	Code    string `json:"code,omitempty"`
	Text    string `json:"text,omitempty"`
	Scope   string `json:"scope,omitempty"`
	CW      string `json:"cw,omitempty"`
	ReplyTo string `json:"reply_to,omitempty"`
	// Expires is a Go duration ("24h0m0s"); empty means the default.
	Expires string `json:"expires,omitempty"`
	Uses    int    `json:"uses,omitempty"`
	// Mailbox asks for an invite that admits a mailbox peer (cmd invite).
	Mailbox bool `json:"mailbox,omitempty"`
	Limit   int  `json:"limit,omitempty"`
	// Member is a member id, 32 lowercase hex characters.
	Member string `json:"member,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Accept accepts a circle's guidelines (cmd guidelines).
	Accept     bool        `json:"accept,omitempty"`
	Moderation *moderation `json:"moderation,omitempty"`
	Event      *eventAct   `json:"event,omitempty"`
	Library    *libraryAct `json:"library,omitempty"`
}

// response is one control response.
type response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Kind   string          `json:"kind,omitempty"`
}

// errRequest marks a request that could not be read or decoded.
var errRequest = errors.New("bad control request")

// decodeRequest parses one request line strictly: one JSON object with
// known fields only, nothing after it but white space, at most
// maxRequestSize bytes.
func decodeRequest(line []byte) (request, error) {
	var req request
	if len(line) > maxRequestSize {
		return req, fmt.Errorf("%w: larger than %d bytes", errRequest, maxRequestSize)
	}
	if err := decodeStrict(line, &req); err != nil {
		return request{}, fmt.Errorf("%w: %w", errRequest, err)
	}
	if req.Cmd == "" {
		return request{}, fmt.Errorf("%w: no cmd", errRequest)
	}
	return req, nil
}

// decodeResponse parses one response line as strictly as decodeRequest.
func decodeResponse(line []byte) (response, error) {
	var resp response
	if len(line) > maxResponseSize {
		return resp, fmt.Errorf("response larger than %d bytes", maxResponseSize)
	}
	if err := decodeStrict(line, &resp); err != nil {
		return response{}, fmt.Errorf("bad control response: %w", err)
	}
	if !resp.OK && resp.Error == "" {
		return response{}, errors.New("bad control response: failure without an error")
	}
	return resp, nil
}

// decodeStrict decodes exactly one JSON object into v, refusing unknown
// fields and anything but white space after it.
func decodeStrict(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// readLine reads one newline-terminated line of at most max bytes. A line
// cut short by the end of input is returned with io.ErrUnexpectedEOF.
func readLine(r io.Reader, max int) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, int64(max)+1))
	line, err := br.ReadBytes('\n')
	if len(line) > max {
		return nil, fmt.Errorf("line longer than %d bytes", max)
	}
	if err == io.EOF {
		if len(line) == 0 {
			return nil, io.EOF
		}
		return line, io.ErrUnexpectedEOF
	}
	return line, err
}

// dispatch runs one request on b. It is the only place where control
// requests meet the backend.
func dispatch(ctx context.Context, b backend, req request) (any, error) {
	switch req.Cmd {
	case cmdCircleCreate:
		return b.createCircle(ctx, req.Name, req.Nick)
	case cmdCircleList:
		return b.circles(ctx)
	case cmdInvite:
		var expires time.Duration
		if req.Expires != "" {
			d, err := time.ParseDuration(req.Expires)
			if err != nil {
				return nil, usageErrorf("expires: %v", err)
			}
			expires = d
		}
		return b.invite(ctx, req.Circle, expires, req.Uses, req.Mailbox)
	case cmdJoin:
		return b.join(ctx, req.Code, req.Nick)
	case cmdPost:
		return b.post(ctx, req.Circle, postParams{Text: req.Text, Scope: req.Scope, CW: req.CW, ReplyTo: req.ReplyTo})
	case cmdRead:
		return b.read(ctx, req.Circle, req.Limit)
	case cmdMembers:
		return b.members(ctx, req.Circle)
	case cmdRemove:
		return nil, b.remove(ctx, req.Circle, req.Member, req.Reason)
	case cmdLeave:
		return nil, b.leave(ctx, req.Circle)
	case cmdInsights:
		return b.insights(ctx, req.Circle)
	case cmdGuidelines:
		return b.guidelines(ctx, req.Circle, req.Accept, req.Text)
	case cmdModerate:
		if req.Moderation == nil {
			return nil, usageErrorf("moderate: nothing to do")
		}
		return nil, b.moderate(ctx, req.Circle, *req.Moderation)
	case cmdEvents:
		if req.Event == nil {
			return nil, usageErrorf("events: nothing to do")
		}
		return b.events(ctx, req.Circle, *req.Event)
	case cmdLibrary:
		if req.Library == nil {
			return nil, usageErrorf("library: nothing to do")
		}
		return b.library(ctx, req.Circle, *req.Library)
	case cmdReports:
		return b.reports(ctx, req.Circle)
	}
	return nil, usageErrorf("unknown control command %q", req.Cmd)
}

// controlServer answers control requests on a listener with a backend.
type controlServer struct {
	b   backend
	log *slog.Logger
	// ready is closed once b can take requests (the node is online);
	// requests wait for it.
	ready <-chan struct{}
	// peerOK, if set, vets the process at the other end of a connection.
	peerOK func(net.Conn) error
}

// serve accepts connections on ln until ctx is done, then closes ln and
// waits for the requests in progress, which see their context cancelled.
func (s *controlServer) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("control socket: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, conn)
		}()
	}
}

// handle answers one connection.
func (s *controlServer) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	if s.peerOK != nil {
		if err := s.peerOK(conn); err != nil {
			s.log.Warn("control connection refused", "err", err)
			return
		}
	}
	conn.SetReadDeadline(time.Now().Add(requestReadTimeout))
	line, err := readLine(conn, maxRequestSize)
	if err == io.EOF {
		return // a probe: connected and went away
	}
	var resp response
	if err != nil {
		resp = failure(fmt.Errorf("%w: %w", errRequest, err))
		s.write(conn, resp)
		return
	}
	req, err := decodeRequest(line)
	if err != nil {
		s.write(conn, failure(err))
		return
	}

	timeout := requestTimeout
	if req.Cmd == cmdJoin {
		timeout = joinTimeout + 5*time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// The client closing its side cancels the request.
	conn.SetReadDeadline(time.Time{})
	hangup := make(chan struct{})
	go func() {
		defer close(hangup)
		var buf [512]byte
		for {
			if _, err := conn.Read(buf[:]); err != nil {
				cancel()
				return
			}
		}
	}()

	select {
	case <-s.ready:
		resp = s.run(rctx, req)
	case <-rctx.Done():
		resp = failure(rctx.Err())
	}
	s.write(conn, resp)
	conn.SetReadDeadline(time.Now())
	<-hangup
}

func (s *controlServer) run(ctx context.Context, req request) response {
	result, err := dispatch(ctx, s.b, req)
	if err != nil {
		s.log.Debug("control request failed", "cmd", req.Cmd, "kind", kindOf(err))
		return failure(err)
	}
	data, err := json.Marshal(result)
	if err != nil {
		return failure(fmt.Errorf("encode result: %w", err))
	}
	return response{OK: true, Result: data}
}

func (s *controlServer) write(conn net.Conn, resp response) {
	data, err := json.Marshal(resp)
	if err != nil {
		data, _ = json.Marshal(failure(fmt.Errorf("encode response: %w", err)))
	}
	if len(data) >= maxResponseSize {
		data, _ = json.Marshal(failure(fmt.Errorf("response larger than %d bytes; ask for less (for read, a smaller --limit)", maxResponseSize)))
	}
	data = append(data, '\n')
	conn.SetWriteDeadline(time.Now().Add(responseWriteTimeout))
	if _, err := conn.Write(data); err != nil {
		s.log.Debug("control response not delivered", "err", err)
	}
}

func failure(err error) response {
	return response{OK: false, Error: err.Error(), Kind: kindOf(err)}
}

// remote is the backend that asks a running serve over its control socket.
type remote struct {
	path string
}

// call sends req and decodes the result into result.
func (r *remote) call(ctx context.Context, req request, result any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	data = append(data, '\n')
	if len(data) > maxRequestSize {
		return usageErrorf("request larger than %d bytes (the text is too long)", maxRequestSize)
	}
	// Serve bounds the work; this bounds the wait should serve hang.
	timeout := requestTimeout
	if req.Cmd == cmdJoin {
		timeout = joinTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+15*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", r.path)
	if err != nil {
		return fmt.Errorf("%w: %w", errServeGone, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	if _, err := conn.Write(data); err != nil {
		return r.ioError(ctx, err)
	}
	line, err := readLine(conn, maxResponseSize)
	if err != nil {
		return r.ioError(ctx, err)
	}
	resp, err := decodeResponse(line)
	if err != nil {
		return err
	}
	if !resp.OK {
		return &remoteError{kind: resp.Kind, msg: resp.Error}
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Result, result); err != nil {
		return fmt.Errorf("bad control response: %w", err)
	}
	return nil
}

// ioError words a failure to talk to serve: the context's error if it ended
// the exchange, errServeGone otherwise.
func (r *remote) ioError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("%w: %w", errServeGone, err)
}

func (r *remote) createCircle(ctx context.Context, name, nick string) (string, error) {
	var id string
	err := r.call(ctx, request{Cmd: cmdCircleCreate, Name: name, Nick: nick}, &id)
	return id, err
}

func (r *remote) circles(ctx context.Context) ([]circleView, error) {
	var cs []circleView
	err := r.call(ctx, request{Cmd: cmdCircleList}, &cs)
	return cs, err
}

func (r *remote) invite(ctx context.Context, circle string, expires time.Duration, uses int, mailbox bool) (string, error) {
	req := request{Cmd: cmdInvite, Circle: circle, Uses: uses, Mailbox: mailbox}
	if expires != 0 {
		req.Expires = expires.String()
	}
	var code string
	err := r.call(ctx, req, &code)
	return code, err
}

func (r *remote) join(ctx context.Context, code, nick string) (string, error) {
	var id string
	err := r.call(ctx, request{Cmd: cmdJoin, Code: code, Nick: nick}, &id)
	return id, err
}

func (r *remote) post(ctx context.Context, circle string, p postParams) (messageView, error) {
	var m messageView
	err := r.call(ctx, request{Cmd: cmdPost, Circle: circle, Text: p.Text, Scope: p.Scope, CW: p.CW, ReplyTo: p.ReplyTo}, &m)
	return m, err
}

func (r *remote) read(ctx context.Context, circle string, limit int) ([]messageView, error) {
	var ms []messageView
	err := r.call(ctx, request{Cmd: cmdRead, Circle: circle, Limit: limit}, &ms)
	return ms, err
}

func (r *remote) members(ctx context.Context, circle string) ([]memberView, error) {
	var ms []memberView
	err := r.call(ctx, request{Cmd: cmdMembers, Circle: circle}, &ms)
	return ms, err
}

func (r *remote) remove(ctx context.Context, circle, member, reason string) error {
	return r.call(ctx, request{Cmd: cmdRemove, Circle: circle, Member: member, Reason: reason}, nil)
}

func (r *remote) leave(ctx context.Context, circle string) error {
	return r.call(ctx, request{Cmd: cmdLeave, Circle: circle}, nil)
}
