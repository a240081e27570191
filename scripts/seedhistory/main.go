package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hearth-circles/hearth/app"
)

func main() {
	home := flag.String("home", "", "vault directory to create (must not hold a vault)")
	n := flag.Int("n", 10000, "messages to post")
	name := flag.String("circle", "Long history", "the circle's name")
	flag.Parse()
	pass := os.Getenv("HEARTH_PASSPHRASE")
	if *home == "" || pass == "" {
		fmt.Fprintln(os.Stderr, "seedhistory: need -home and $HEARTH_PASSPHRASE")
		os.Exit(1)
	}
	if err := seed(*home, []byte(pass), *name, *n); err != nil {
		fmt.Fprintln(os.Stderr, "seedhistory:", err)
		os.Exit(2)
	}
}

func seed(home string, pass []byte, name string, n int) (err error) {
	v, err := app.CreateVault(home, pass)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	h, err := app.New(v, app.Options{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	ctx := context.Background()
	id, err := h.CreateCircle(ctx, name, "river")
	if err != nil {
		return err
	}
	start := time.Now()
	scopes := []app.Scope{app.ScopeCircle, app.ScopeFuture, app.ScopeResource}
	var last string
	for i := range n {
		opt := app.PostOptions{
			Text:  fmt.Sprintf("Message %d of %d. Some days are harder than others, and it helps to say so here.", i+1, n),
			Scope: scopes[i%len(scopes)],
		}
		if i%100 == 99 {
			opt.ContentWarning = "a hard day"
		}
		if i%10 == 9 {
			opt.ReplyTo = last
		}
		m, err := h.Post(ctx, id, opt)
		if err != nil {
			return fmt.Errorf("post %d: %w", i+1, err)
		}
		last = m.ID
	}
	fmt.Printf("posted %d messages in %s to circle %s in %s\n", n, time.Since(start).Round(time.Millisecond), id, home)
	return nil
}
