package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/hearth-circles/hearth/app"
)

// insightsView is a circle's local insights as the command line shows them.
// They are computed from this vault's store and sent nowhere.
type insightsView struct {
	Posts              int         `json:"posts"`
	ActiveMembers      int         `json:"active_members"`
	Unanswered         int         `json:"unanswered"`
	MedianFirstReplyMs int64       `json:"median_first_reply_ms"`
	PostsPerWeek       []weekCount `json:"posts_per_week"`
}

type weekCount struct {
	Week  string `json:"week"` // the Monday that starts it, YYYY-MM-DD
	Posts int    `json:"posts"`
}

func (l *local) insights(ctx context.Context, circle string) (insightsView, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return insightsView{}, err
	}
	in, err := l.h.Insights(id)
	if err != nil {
		return insightsView{}, fmt.Errorf("insights: %w", err)
	}
	v := insightsView{
		Posts: in.Posts, ActiveMembers: in.ActiveMembers, Unanswered: in.Unanswered,
		MedianFirstReplyMs: in.MedianFirstReply.Milliseconds(), PostsPerWeek: []weekCount{},
	}
	for _, w := range in.PostsPerWeek {
		v.PostsPerWeek = append(v.PostsPerWeek, weekCount{Week: w.Week.Format(time.DateOnly), Posts: w.Posts})
	}
	return v, nil
}

func (r *remote) insights(ctx context.Context, circle string) (insightsView, error) {
	var v insightsView
	err := r.call(ctx, request{Cmd: cmdInsights, Circle: circle}, &v)
	return v, err
}

type insightsCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	JSON   bool   `name:"json" help:"One JSON object: posts, active_members, unanswered, median_first_reply_ms, posts_per_week."`
}

func (c *insightsCmd) Validate() error { return checkCircleFlag(c.Circle) }

func (c *insightsCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		v, err := b.insights(ctx, c.Circle)
		if err != nil {
			return err
		}
		if c.JSON {
			return writeJSONLines(e.stdout, []insightsView{v})
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "posts\t%d\n", v.Posts)
		fmt.Fprintf(tw, "active members (30 days)\t%d\n", v.ActiveMembers)
		fmt.Fprintf(tw, "unanswered posts\t%d\n", v.Unanswered)
		fmt.Fprintf(tw, "median time to first reply\t%s\n", time.Duration(v.MedianFirstReplyMs)*time.Millisecond)
		for _, w := range v.PostsPerWeek {
			fmt.Fprintf(tw, "week of %s\t%d posts\n", w.Week, w.Posts)
		}
		return tw.Flush()
	})
}

type wipeCmd struct {
	Yes bool `help:"Really destroy the vault (required)."`
}

// Run destroys the vault without asking for its passphrase: a panic wipe.
func (c *wipeCmd) Run(ctx context.Context, e *env) error {
	if !c.Yes {
		return usageErrorf("wipe destroys every circle in %s for good; run it with --yes", e.home)
	}
	if !app.VaultExists(e.home) {
		return fmt.Errorf("%s: %w", e.home, app.ErrNoVault)
	}
	if err := app.Wipe(e.home); err != nil && !errors.Is(err, app.ErrNoVault) {
		return fmt.Errorf("wipe: %w", err)
	}
	fmt.Fprintf(e.stdout, "wiped the vault in %s\n", e.home)
	return nil
}
