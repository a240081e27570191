package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/hearth-circles/hearth/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		lookupEnv: os.LookupEnv,
	})
	stop()
	os.Exit(code)
}

// env is what a command runs with: the resolved home, standard streams, the
// environment and the logger.
type env struct {
	home      string
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
	log       *slog.Logger
}

func (e *env) getenv(key string) string {
	v, _ := e.lookupEnv(key)
	return v
}

// exitRequest carries kong's request to exit (after --help) out of Parse.
type exitRequest int

// run parses args, runs the command and returns the exit status. Every
// error ends as one line on stderr.
func run(ctx context.Context, args []string, e *env) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("hearthd"),
		kong.Description(description),
		kong.Writers(e.stdout, e.stderr),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{
			"default_listen": defaultListen,
		},
	)
	if err != nil {
		fmt.Fprintf(e.stderr, "hearthd: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	defer func() {
		if r := recover(); r != nil {
			ec, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code = int(ec)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(e.stderr, "hearthd: %s (see hearthd --help)\n", oneLine(err.Error()))
		return exitUsage
	}

	e.log = slog.New(slog.DiscardHandler)
	if c.Verbose {
		e.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	home, err := resolveHome(c.Home, e.getenv)
	if err != nil {
		return fail(e, err)
	}
	e.home = home

	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(e); err != nil {
		return fail(e, err)
	}
	return exitOK
}

// fail prints err as hearthd's one line on stderr and returns its status.
func fail(e *env, err error) int {
	fmt.Fprintf(e.stderr, "hearthd: %s\n", message(err))
	return exitCode(err)
}

// withBackend runs fn with a backend for e.home: the running serve's when
// one answers on the control socket, else the vault opened here, offline,
// and closed again after fn.
func (e *env) withBackend(ctx context.Context, fn func(backend) error) (err error) {
	if r := findServe(e.home); r != nil {
		e.log.Debug("using running serve", "socket", r.path)
		return fn(r)
	}
	v, err := e.unlock()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeErr("close vault", v.Close())) }()
	h, err := app.New(v, app.Options{Logger: e.log})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { err = errors.Join(err, closeErr("stop", h.Close())) }()
	return fn(&local{h: h, goOnline: h.Online})
}

// unlock opens the vault in e.home with the passphrase.
func (e *env) unlock() (*app.Vault, error) {
	if !app.VaultExists(e.home) {
		return nil, &noVaultError{home: e.home}
	}
	pass, err := e.passphrase(false)
	if err != nil {
		return nil, err
	}
	defer clear(pass)
	return app.UnlockVault(e.home, pass)
}

// noVaultError says where no vault was found and how to make one.
type noVaultError struct{ home string }

func (e *noVaultError) Error() string {
	return fmt.Sprintf("no vault in %s; create one with: hearthd --home %s init", e.home, e.home)
}

func (e *noVaultError) Unwrap() error { return app.ErrNoVault }

func closeErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
