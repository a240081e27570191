package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hearth-circles/hearth/app"
)

const description = `Hearth's headless node and command line.

Hearth keeps a support circle's history encrypted on each member's own
computer, and members exchange end-to-end encrypted messages directly. While
"hearthd serve" runs in a home, the other commands talk to it over the local
socket DIR/hearthd.sock; otherwise they open the vault themselves, do their
work offline (a post is sent when the node is next online), and close it.

The passphrase comes from $HEARTH_PASSPHRASE, or else is asked for on the
terminal. Exit status: 0 success, 1 usage error, 2 failure.`

// defaultListen is serve's default: loopback only, random ports.
const defaultListen = "/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0/quic-v1"

// cli is the command line.
type cli struct {
	Home    string `help:"Vault directory (default: $HEARTH_HOME, else $XDG_DATA_HOME/hearth, else ~/.local/share/hearth)." placeholder:"DIR"`
	Verbose bool   `short:"v" help:"Log to stderr."`

	Init       initCmd       `cmd:"" help:"Create the vault in the home directory."`
	Serve      serveCmd      `cmd:"" help:"Stay online for all circles until interrupted; prints \"ready\" once listening."`
	Circle     circleCmd     `cmd:"" help:"Create or list circles."`
	Invite     inviteCmd     `cmd:"" help:"Make an invite code for a circle and print it."`
	Join       joinCmd       `cmd:"" help:"Join a circle with an invite code (accepting its guidelines); prints the circle id once admitted."`
	Post       postCmd       `cmd:"" help:"Post to a circle."`
	Read       readCmd       `cmd:"" help:"Show a circle's latest messages, oldest first."`
	Members    membersCmd    `cmd:"" help:"List a circle's members."`
	Remove     removeCmd     `cmd:"" help:"Remove a member from a circle (facilitators only); prints nothing on success."`
	Leave      leaveCmd      `cmd:"" help:"Leave a circle and forget it in this vault; prints nothing on success."`
	Insights   insightsCmd   `cmd:"" help:"A circle's local insights for facilitators (posts per week, active members, unanswered posts, median time to first reply), computed here and sent nowhere."`
	Wipe       wipeCmd       `cmd:"" help:"Panic wipe: destroy this vault at once, without its passphrase (needs --yes)."`
	Guidelines guidelinesCmd `cmd:"" help:"A circle's guidelines: show, accept, set (facilitators)."`
	Retention  retentionCmd  `cmd:"" help:"Set how long a circle's messages are kept (facilitators)."`
	Promote    promoteCmd    `cmd:"" help:"Make a member a co-facilitator (facilitators)."`
	Role       roleCmd       `cmd:"" help:"Make a member a co-facilitator, or a member again (facilitators)."`
	Hide       hideCmd       `cmd:"" help:"Hide a post for everyone, with a reason (facilitators)."`
	Retract    retractCmd    `cmd:"" help:"Withdraw one of your posts for everyone."`
	Rescope    rescopeCmd    `cmd:"" help:"Narrow who may see one of your posts (consent can be withdrawn, never widened)."`
	Report     reportCmd     `cmd:"" help:"Tell the facilitators, and only them, that a post troubles you."`
	Reports    reportsCmd    `cmd:"" help:"The reports sent to you as a facilitator, one JSON object a line."`
	React      reactCmd      `cmd:"" help:"React to a post gently (I hear you, Thank you, Sending strength)."`
	Event      eventCmd      `cmd:"" help:"Scheduled sessions: schedule, list, rsvp, ics."`
	Resource   resourceCmd   `cmd:"" help:"The circle's resource library: add, list."`
	Pack       packCmd       `cmd:"" help:"Welcome packs: export (facilitators), open."`
	Mailbox    mailboxCmd    `cmd:"" help:"Run a blind mailbox peer for circles: serve, join, list."`
	Salvage    salvageCmd    `cmd:"" help:"Export every message that still reads from this vault (for a damaged store) to a plain-text file."`
	Bench      benchCmd      `cmd:"" help:"Measure delivery latency, burst delivery, CPU, memory and cold open against raw gossipsub, in one process on loopback; prints one JSON object."`
}

type initCmd struct{}

func (c *initCmd) Run(ctx context.Context, e *env) error {
	pass, err := e.passphrase(true)
	if err != nil {
		return err
	}
	defer clear(pass)
	v, err := app.CreateVault(e.home, pass)
	if err != nil {
		return fmt.Errorf("create vault in %s: %w", e.home, err)
	}
	if err := v.Close(); err != nil {
		return fmt.Errorf("close vault: %w", err)
	}
	fmt.Fprintf(e.stdout, "created a vault in %s\n", e.home)
	return nil
}

type circleCmd struct {
	Create circleCreateCmd `cmd:"" help:"Create a circle, with you as its facilitator; prints its id."`
	List   circleListCmd   `cmd:"" help:"List the circles in this vault."`
}

type circleCreateCmd struct {
	Name string `required:"" help:"The circle's name, seen by its members."`
	Nick string `required:"" help:"Your pseudonym in this circle."`
}

func (c *circleCreateCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		id, err := b.createCircle(ctx, c.Name, c.Nick)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, id)
		return err
	})
}

type circleListCmd struct {
	JSON bool `name:"json" help:"One JSON object a line: id, name, nick, role, epoch, members, online, addrs."`
}

func (c *circleListCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		cs, err := b.circles(ctx)
		if err != nil {
			return err
		}
		if c.JSON {
			return writeJSONLines(e.stdout, cs)
		}
		return writeCircles(e.stdout, cs)
	})
}

type inviteCmd struct {
	Circle  string        `required:"" help:"Circle id." placeholder:"ID"`
	Expires time.Duration `default:"24h" help:"How long the code stays valid."`
	Uses    int           `default:"1" help:"How many people may join with the code."`
	Mailbox bool          `help:"An invite that admits a mailbox peer (facilitators only); use it with: hearthd mailbox join CODE."`
}

func (c *inviteCmd) Validate() error {
	if c.Expires <= 0 {
		return fmt.Errorf("--expires must be positive")
	}
	if c.Uses < 1 {
		return fmt.Errorf("--uses must be at least 1")
	}
	return checkCircleFlag(c.Circle)
}

func (c *inviteCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		code, err := b.invite(ctx, c.Circle, c.Expires, c.Uses, c.Mailbox)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, code)
		return err
	})
}

type joinCmd struct {
	Nick string `required:"" help:"Your pseudonym in the circle."`
	Code string `arg:"" help:"The invite code."`
}

func (c *joinCmd) Help() string {
	return "If serve is not running in this home, join brings it online for the " +
		"duration of the join. It returns once admitted, or fails within 60 s. " +
		"A mistyped, expired or malformed code fails at once, without network traffic."
}

func (c *joinCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		id, err := b.join(ctx, strings.TrimSpace(c.Code), c.Nick)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, id)
		return err
	})
}

type postCmd struct {
	Circle  string `required:"" help:"Circle id." placeholder:"ID"`
	Scope   string `default:"circle" enum:"circle,future,resource" help:"Who may ever see the post: circle (members now), future (also later members), resource (may go into the resource library)."`
	CW      string `name:"cw" help:"A content warning shown before the text." placeholder:"WARNING"`
	ReplyTo string `name:"reply-to" help:"Id of the message this replies to." placeholder:"MSGID"`
	Repeat  int    `default:"1" help:"Post TEXT this many times, each with a counter suffix (for load tests)."`
	Text    string `arg:"" help:"The text to post."`
}

func (c *postCmd) Validate() error {
	if c.Repeat < 1 {
		return fmt.Errorf("--repeat must be at least 1")
	}
	return checkCircleFlag(c.Circle)
}

func (c *postCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		p := postParams{Text: c.Text, Scope: c.Scope, CW: c.CW, ReplyTo: c.ReplyTo}
		for i := 1; i <= c.Repeat; i++ {
			if c.Repeat > 1 {
				p.Text = fmt.Sprintf("%s %d", c.Text, i)
			}
			m, err := b.post(ctx, c.Circle, p)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintln(e.stdout, m.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

type readCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	JSON   bool   `name:"json" help:"One JSON object a line: id, author, author_id, scope, kind, text, cw, reply_to, sent_at (RFC 3339), lamport, mine, cursor."`
	Limit  int    `default:"50" help:"Show the last N messages." placeholder:"N"`
}

func (c *readCmd) Validate() error {
	if c.Limit < 1 || c.Limit > maxReadLimit {
		return fmt.Errorf("--limit must be between 1 and %d", maxReadLimit)
	}
	return checkCircleFlag(c.Circle)
}

func (c *readCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		ms, err := b.read(ctx, c.Circle, c.Limit)
		if err != nil {
			return err
		}
		if c.JSON {
			return writeJSONLines(e.stdout, ms)
		}
		return writeMessages(e.stdout, ms)
	})
}

type membersCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	JSON   bool   `name:"json" help:"One JSON object a line: nick, id, role, online, self, route (direct or relayed, while online)."`
}

func (c *membersCmd) Validate() error { return checkCircleFlag(c.Circle) }

func (c *membersCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		ms, err := b.members(ctx, c.Circle)
		if err != nil {
			return err
		}
		if c.JSON {
			return writeJSONLines(e.stdout, ms)
		}
		return writeMembers(e.stdout, ms)
	})
}

type removeCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	Member string `required:"" help:"The member to remove: its id (32 hex characters, as members --json shows it) or its pseudonym." placeholder:"NICK_OR_ID"`
	Reason string `help:"Why, for the circle's record (at most 500 bytes)." placeholder:"TEXT"`
}

func (c *removeCmd) Help() string {
	return "The removed member reads nothing posted afterwards. If serve is not " +
		"running in this home, remove brings it online for a few seconds so that " +
		"the others hear of the removal; those it does not reach hear of it when " +
		"this home is next online."
}

func (c *removeCmd) Validate() error { return checkCircleAndMember(c.Circle, c.Member) }

// checkCircleAndMember checks a --circle flag and that --member names
// someone: a pseudonym or a member id, resolved against the roster later.
func checkCircleAndMember(circle, member string) error {
	if err := checkCircleFlag(circle); err != nil {
		return err
	}
	if strings.TrimSpace(member) == "" {
		return usageErrorf("--member: give the member's pseudonym or id (members --json lists them)")
	}
	return nil
}

func (c *removeCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		return b.remove(ctx, c.Circle, c.Member, c.Reason)
	})
}

type leaveCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
}

func (c *leaveCmd) Help() string {
	return "The circle's keys and history are deleted from this vault. If serve is " +
		"not running in this home, leave brings it online for a few seconds so that " +
		"the others hear the goodbye; if none of them is reachable, the circle is " +
		"forgotten all the same."
}

func (c *leaveCmd) Validate() error { return checkCircleFlag(c.Circle) }

func (c *leaveCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		return b.leave(ctx, c.Circle)
	})
}

// checkCircleFlag refuses a --circle that is not a circle id at all, before
// anything is opened.
func checkCircleFlag(s string) error {
	if s == "" {
		return nil // kong reports the missing flag
	}
	if _, err := app.ParseCircleID(s); err != nil {
		return fmt.Errorf("--circle: %q is not a circle id", s)
	}
	return nil
}
