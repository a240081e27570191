package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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

// guidelinesView is a circle's guidelines as the command line shows them.
type guidelinesView struct {
	Text     string `json:"text"`
	Version  uint32 `json:"version"`
	Accepted bool   `json:"accepted"`
}

func (l *local) guidelines(ctx context.Context, circle string, accept bool, set string) (guidelinesView, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return guidelinesView{}, err
	}
	switch {
	case set != "":
		err = l.h.SetGuidelines(ctx, id, set)
	case accept:
		err = l.h.AcceptGuidelines(ctx, id)
	}
	if err != nil {
		return guidelinesView{}, fmt.Errorf("guidelines: %w", err)
	}
	g, err := l.h.Guidelines(id)
	if err != nil {
		return guidelinesView{}, fmt.Errorf("guidelines: %w", err)
	}
	return guidelinesView{Text: g.Text, Version: g.Version, Accepted: g.Accepted}, nil
}

func (r *remote) guidelines(ctx context.Context, circle string, accept bool, set string) (guidelinesView, error) {
	var v guidelinesView
	err := r.call(ctx, request{Cmd: cmdGuidelines, Circle: circle, Accept: accept, Text: set}, &v)
	return v, err
}

// moderate carries the small signed acts of a circle: a facilitator's
// retention, role and hiding, and any member's reaction or retraction.
type moderation struct {
	Action   string `json:"action"` // retention, role, hide, retract, react, rescope, report
	Days     int    `json:"days,omitempty"`
	Member   string `json:"member,omitempty"`
	Role     string `json:"role,omitempty"`
	Message  string `json:"message,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Reaction string `json:"reaction,omitempty"`
	Scope    string `json:"scope,omitempty"`
}

func (l *local) moderate(ctx context.Context, circle string, m moderation) error {
	id, err := parseCircle(circle)
	if err != nil {
		return err
	}
	switch m.Action {
	case "retention":
		err = l.h.SetRetention(ctx, id, m.Days)
	case "role":
		member, perr := l.resolveMember(id, m.Member)
		if perr != nil {
			return fmt.Errorf("role: %w", perr)
		}
		role := app.RoleMember
		switch m.Role {
		case "facilitator":
			role = app.RoleFacilitator
		case "member":
		default:
			return usageErrorf("role %q: want facilitator or member", m.Role)
		}
		err = l.h.SetRole(ctx, id, member, role)
	case "hide":
		err = l.h.Hide(ctx, id, m.Message, m.Reason)
	case "retract":
		err = l.h.Retract(ctx, id, m.Message)
	case "react":
		err = l.h.React(ctx, id, m.Message, m.Reaction)
	case "rescope":
		scope, perr := app.ParseScope(m.Scope)
		if perr != nil {
			return usageErrorf("scope %q: want circle, future or resource", m.Scope)
		}
		err = l.h.NarrowScope(ctx, id, m.Message, scope)
	case "report":
		err = l.h.Report(ctx, id, m.Message, m.Reason)
	default:
		return usageErrorf("unknown action %q", m.Action)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", m.Action, err)
	}
	return nil
}

func (r *remote) moderate(ctx context.Context, circle string, m moderation) error {
	return r.call(ctx, request{Cmd: cmdModerate, Circle: circle, Moderation: &m}, nil)
}

type guidelinesCmd struct {
	Show   guidelinesShowCmd   `cmd:"" help:"Show the circle's guidelines and whether you accepted them."`
	Accept guidelinesAcceptCmd `cmd:"" help:"Accept the current guidelines (needed before posting)."`
	Set    guidelinesSetCmd    `cmd:"" help:"Replace the guidelines (facilitators); every member accepts the new version before posting again."`
}

type guidelinesShowCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	JSON   bool   `name:"json" help:"One JSON object: text, version, accepted."`
}

func (c *guidelinesShowCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *guidelinesShowCmd) Run(ctx context.Context, e *env) error {
	return e.guidelines(ctx, c.Circle, false, "", c.JSON)
}

type guidelinesAcceptCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	JSON   bool   `name:"json" help:"One JSON object: text, version, accepted."`
}

func (c *guidelinesAcceptCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *guidelinesAcceptCmd) Run(ctx context.Context, e *env) error {
	return e.guidelines(ctx, c.Circle, true, "", c.JSON)
}

type guidelinesSetCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	File   string `help:"Read the new guidelines from this file (at most 64 KiB); without --file or --text, from standard input." type:"existingfile" placeholder:"FILE" xor:"source"`
	Text   string `help:"The new guidelines as one argument." xor:"source"`
	JSON   bool   `name:"json" help:"One JSON object: text, version, accepted."`
}

func (c *guidelinesSetCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *guidelinesSetCmd) Run(ctx context.Context, e *env) error {
	const limit = 64 << 10
	text := c.Text
	switch {
	case c.File != "":
		b, err := readSmallFile(c.File, limit)
		if err != nil {
			return usageErrorf("%v", err)
		}
		text = string(b)
	case c.Text == "":
		b, err := io.ReadAll(io.LimitReader(e.stdin, limit+1))
		if err != nil {
			return err
		}
		if len(b) > limit {
			return usageErrorf("the guidelines are longer than %d bytes", limit)
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return usageErrorf("the new guidelines are empty")
	}
	return e.guidelines(ctx, c.Circle, false, text, c.JSON)
}

// guidelines shows a circle's guidelines after accepting or replacing them.
func (e *env) guidelines(ctx context.Context, circle string, accept bool, set string, asJSON bool) error {
	return e.withBackend(ctx, func(b backend) error {
		g, err := b.guidelines(ctx, circle, accept, set)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSONLines(e.stdout, []guidelinesView{g})
		}
		state := "not yet accepted: run guidelines accept"
		if g.Accepted {
			state = "accepted"
		}
		fmt.Fprintf(e.stdout, "%s\n\n(version %d, %s)\n", safeText(g.Text), g.Version, state)
		return nil
	})
}

type retentionCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	Days   int    `required:"" help:"Keep messages this many days after they arrive: 0 (keep), 1, 7, 30 or 90. Facilitators only."`
}

func (c *retentionCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *retentionCmd) Run(ctx context.Context, e *env) error {
	return e.moderate(ctx, c.Circle, moderation{Action: "retention", Days: c.Days})
}

type roleCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	Member string `required:"" help:"Member id (as members --json shows it) or pseudonym." placeholder:"NICK_OR_ID"`
	Role   string `required:"" enum:"facilitator,member" help:"facilitator or member. Facilitators only."`
}

func (c *roleCmd) Validate() error { return checkCircleAndMember(c.Circle, c.Member) }
func (c *roleCmd) Run(ctx context.Context, e *env) error {
	return e.moderate(ctx, c.Circle, moderation{Action: "role", Member: c.Member, Role: c.Role})
}

type promoteCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	Member string `required:"" help:"Member id (as members --json shows it) or pseudonym." placeholder:"NICK_OR_ID"`
}

func (c *promoteCmd) Validate() error { return checkCircleAndMember(c.Circle, c.Member) }
func (c *promoteCmd) Run(ctx context.Context, e *env) error {
	return e.moderate(ctx, c.Circle, moderation{Action: "role", Member: c.Member, Role: "facilitator"})
}

type hideCmd struct {
	Circle  string `required:"" help:"Circle id." placeholder:"ID"`
	Message string `name:"post" aliases:"message" required:"" help:"Post id, as read --json shows it." placeholder:"POST_ID"`
	Reason  string `help:"Shown in the post's place."`
}

func (c *hideCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *hideCmd) Run(ctx context.Context, e *env) error {
	return e.moderate(ctx, c.Circle, moderation{Action: "hide", Message: c.Message, Reason: c.Reason})
}

type retractCmd struct {
	Circle  string `required:"" help:"Circle id." placeholder:"ID"`
	Message string `name:"post" aliases:"message" required:"" help:"Id of one of your own posts." placeholder:"POST_ID"`
}

func (c *retractCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *retractCmd) Run(ctx context.Context, e *env) error {
	return e.moderate(ctx, c.Circle, moderation{Action: "retract", Message: c.Message})
}

type rescopeCmd struct {
	Circle  string `required:"" help:"Circle id." placeholder:"ID"`
	Message string `name:"post" aliases:"message" required:"" help:"Id of one of your own posts." placeholder:"POST_ID"`
	Scope   string `required:"" enum:"circle,future,resource" help:"The narrower scope: circle (members at the time only) or future (no longer a resource)."`
}

func (c *rescopeCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *rescopeCmd) Run(ctx context.Context, e *env) error {
	return e.moderate(ctx, c.Circle, moderation{Action: "rescope", Message: c.Message, Scope: c.Scope})
}

type reportCmd struct {
	Circle  string `required:"" help:"Circle id." placeholder:"ID"`
	Message string `name:"post" aliases:"message" required:"" help:"Id of the post." placeholder:"POST_ID"`
	Reason  string `required:"" help:"What troubles you; sealed to the facilitators alone."`
}

func (c *reportCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *reportCmd) Run(ctx context.Context, e *env) error {
	return e.moderate(ctx, c.Circle, moderation{Action: "report", Message: c.Message, Reason: c.Reason})
}

// reportView is a report a facilitator received.
type reportView struct {
	Post     string `json:"post"`
	From     string `json:"from"`
	FromNick string `json:"from_nick"`
	Reason   string `json:"reason"`
	SentAt   string `json:"sent_at"` // RFC 3339
}

func (l *local) reports(ctx context.Context, circle string) ([]reportView, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return nil, err
	}
	rs, err := l.h.Reports(id)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	out := []reportView{}
	for _, r := range rs {
		out = append(out, reportView{Post: r.Target, From: r.From.String(), FromNick: r.FromNick,
			Reason: r.Text, SentAt: r.SentAt.UTC().Format(time.RFC3339)})
	}
	return out, nil
}

func (r *remote) reports(ctx context.Context, circle string) ([]reportView, error) {
	var out []reportView
	err := r.call(ctx, request{Cmd: cmdReports, Circle: circle}, &out)
	return out, err
}

type reportsCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
}

func (c *reportsCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *reportsCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		rs, err := b.reports(ctx, c.Circle)
		if err != nil {
			return err
		}
		return writeJSONLines(e.stdout, rs)
	})
}

type reactCmd struct {
	Circle   string `required:"" help:"Circle id." placeholder:"ID"`
	Message  string `name:"post" aliases:"message" required:"" help:"Post id." placeholder:"POST_ID"`
	Reaction string `help:"One of: I hear you; Thank you; Sending strength. Empty withdraws yours."`
}

func (c *reactCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *reactCmd) Run(ctx context.Context, e *env) error {
	return e.moderate(ctx, c.Circle, moderation{Action: "react", Message: c.Message, Reaction: c.Reaction})
}

// moderate runs one signed act through whichever backend reaches the vault.
func (e *env) moderate(ctx context.Context, circle string, m moderation) error {
	return e.withBackend(ctx, func(b backend) error { return b.moderate(ctx, circle, m) })
}

// readSmallFile reads a file of at most limit bytes.
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// eventView is a scheduled session as the command line shows it.
type eventView struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Start       string         `json:"start"` // RFC 3339 in the event's zone
	Zone        string         `json:"zone"`
	DurationMin int            `json:"duration_min"`
	Where       string         `json:"where,omitempty"`
	Description string         `json:"description,omitempty"`
	Answers     map[string]int `json:"answers"`
	MyAnswer    string         `json:"my_answer,omitempty"`
}

// eventAct is one event operation: schedule, list, answer or export.
type eventAct struct {
	Action      string `json:"action"` // schedule, list, rsvp, ics
	Event       string `json:"event,omitempty"`
	Title       string `json:"title,omitempty"`
	Start       string `json:"start,omitempty"` // RFC 3339
	Zone        string `json:"zone,omitempty"`
	DurationMin int    `json:"duration_min,omitempty"`
	Where       string `json:"where,omitempty"`
	Description string `json:"description,omitempty"`
	Answer      string `json:"answer,omitempty"`
}

// eventResult is what an event operation returns: an id, a list or a file.
type eventResult struct {
	ID     string      `json:"id,omitempty"`
	Events []eventView `json:"events,omitempty"`
	ICS    string      `json:"ics,omitempty"`
}

func (l *local) events(ctx context.Context, circle string, a eventAct) (eventResult, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return eventResult{}, err
	}
	switch a.Action {
	case "schedule":
		loc := time.Local
		if a.Zone != "" {
			if loc, err = time.LoadLocation(a.Zone); err != nil {
				return eventResult{}, usageErrorf("time zone %q: %v", a.Zone, err)
			}
		}
		start, err := time.ParseInLocation("2006-01-02T15:04", a.Start, loc)
		if err != nil {
			return eventResult{}, usageErrorf("start %q: want YYYY-MM-DDTHH:MM", a.Start)
		}
		eid, err := l.h.ScheduleEvent(ctx, id, app.EventOptions{
			Title: a.Title, Start: start, Duration: time.Duration(a.DurationMin) * time.Minute,
			Where: a.Where, Description: a.Description,
		})
		return eventResult{ID: eid}, err
	case "rsvp":
		return eventResult{}, l.h.RSVP(ctx, id, a.Event, a.Answer)
	case "ics":
		b, err := l.h.EventICS(id, a.Event)
		return eventResult{ICS: string(b)}, err
	case "list":
		es, err := l.h.Events(id)
		if err != nil {
			return eventResult{}, err
		}
		out := eventResult{Events: []eventView{}}
		for _, e := range es {
			out.Events = append(out.Events, eventView{
				ID: e.ID, Title: e.Title, Start: e.Start.Format(time.RFC3339), Zone: e.Start.Location().String(),
				DurationMin: int(e.Duration / time.Minute), Where: e.Where, Description: e.Description,
				Answers: e.Answers, MyAnswer: e.MyAnswer,
			})
		}
		return out, nil
	}
	return eventResult{}, usageErrorf("unknown event action %q", a.Action)
}

func (r *remote) events(ctx context.Context, circle string, a eventAct) (eventResult, error) {
	var out eventResult
	err := r.call(ctx, request{Cmd: cmdEvents, Circle: circle, Event: &a}, &out)
	return out, err
}

type eventCmd struct {
	Add  eventScheduleCmd `cmd:"" aliases:"schedule" help:"Schedule a session (facilitators); prints its id."`
	List eventListCmd     `cmd:"" help:"List the sessions that have not ended."`
	RSVP eventRSVPCmd     `cmd:"" name:"rsvp" help:"Answer a session: yes, maybe or no."`
	ICS  eventICSCmd      `cmd:"" name:"ics" help:"Print a session as an iCalendar (.ics) file for a calendar app."`
}

type eventScheduleCmd struct {
	Circle      string `required:"" help:"Circle id." placeholder:"ID"`
	Title       string `required:"" help:"What the session is."`
	Start       string `required:"" help:"When it starts, YYYY-MM-DDTHH:MM in --zone." placeholder:"TIME"`
	Zone        string `help:"IANA time zone of --start, e.g. Europe/Berlin (default: this machine's)."`
	Duration    int    `default:"60" help:"Minutes."`
	Where       string `help:"A place or a link."`
	Description string `help:"A few words about it."`
}

func (c *eventScheduleCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *eventScheduleCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		r, err := b.events(ctx, c.Circle, eventAct{Action: "schedule", Title: c.Title, Start: c.Start, Zone: c.Zone,
			DurationMin: c.Duration, Where: c.Where, Description: c.Description})
		if err == nil {
			fmt.Fprintln(e.stdout, r.ID)
		}
		return err
	})
}

type eventListCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
}

func (c *eventListCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *eventListCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		r, err := b.events(ctx, c.Circle, eventAct{Action: "list"})
		if err != nil {
			return err
		}
		return writeJSONLines(e.stdout, r.Events)
	})
}

type eventRSVPCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	Event  string `required:"" help:"Event id." placeholder:"EVENT_ID"`
	Answer string `required:"" enum:"yes,maybe,no" help:"yes, maybe or no."`
}

func (c *eventRSVPCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *eventRSVPCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		_, err := b.events(ctx, c.Circle, eventAct{Action: "rsvp", Event: c.Event, Answer: c.Answer})
		return err
	})
}

type eventICSCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	Event  string `required:"" help:"Event id." placeholder:"EVENT_ID"`
}

func (c *eventICSCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *eventICSCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		r, err := b.events(ctx, c.Circle, eventAct{Action: "ics", Event: c.Event})
		if err == nil {
			fmt.Fprint(e.stdout, r.ICS)
		}
		return err
	})
}

// packPassphraseEnv holds the passphrase of an exported welcome pack, which
// the facilitator passes on to the newcomer separately.
const packPassphraseEnv = "HEARTH_PACK_PASSPHRASE"

// libraryAct is one resource-library operation: add, list or export.
type libraryAct struct {
	Action     string `json:"action"`
	Title      string `json:"title,omitempty"`
	Text       string `json:"text,omitempty"`
	Link       string `json:"link,omitempty"`
	Passphrase string `json:"passphrase,omitempty"` // export only; never logged
}

// resourceView is a library entry as the command line shows it.
type resourceView struct {
	ID     string `json:"id,omitempty"`
	Title  string `json:"title"`
	Text   string `json:"text,omitempty"`
	Link   string `json:"link,omitempty"`
	Author string `json:"author,omitempty"`
}

type libraryResult struct {
	ID        string         `json:"id,omitempty"`
	Resources []resourceView `json:"resources,omitempty"`
	Pack      []byte         `json:"pack,omitempty"`
}

func viewResources(rs []app.Resource) []resourceView {
	out := []resourceView{}
	for _, r := range rs {
		out = append(out, resourceView{ID: r.ID, Title: r.Title, Text: r.Text, Link: r.Link, Author: r.AuthorNick})
	}
	return out
}

func (l *local) library(ctx context.Context, circle string, a libraryAct) (libraryResult, error) {
	id, err := parseCircle(circle)
	if err != nil {
		return libraryResult{}, err
	}
	switch a.Action {
	case "add":
		rid, err := l.h.AddResource(ctx, id, app.ResourceOptions{Title: a.Title, Text: a.Text, Link: a.Link})
		return libraryResult{ID: rid}, err
	case "list":
		rs, err := l.h.Library(id)
		return libraryResult{Resources: viewResources(rs)}, err
	case "export":
		b, err := l.h.ExportPack(id, []byte(a.Passphrase))
		return libraryResult{Pack: b}, err
	}
	return libraryResult{}, usageErrorf("unknown library action %q", a.Action)
}

func (r *remote) library(ctx context.Context, circle string, a libraryAct) (libraryResult, error) {
	var out libraryResult
	err := r.call(ctx, request{Cmd: cmdLibrary, Circle: circle, Library: &a}, &out)
	return out, err
}

type resourceCmd struct {
	Add  resourceAddCmd  `cmd:"" help:"Add a resource to the circle's library (facilitators); prints its id."`
	List resourceListCmd `cmd:"" help:"List the circle's library, one JSON object a line."`
}

type resourceAddCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	Title  string `required:"" help:"Title."`
	Text   string `help:"A few lines about it."`
	Link   string `help:"Where to find it."`
}

func (c *resourceAddCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *resourceAddCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		r, err := b.library(ctx, c.Circle, libraryAct{Action: "add", Title: c.Title, Text: c.Text, Link: c.Link})
		if err == nil {
			fmt.Fprintln(e.stdout, r.ID)
		}
		return err
	})
}

type resourceListCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
}

func (c *resourceListCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *resourceListCmd) Run(ctx context.Context, e *env) error {
	return e.withBackend(ctx, func(b backend) error {
		r, err := b.library(ctx, c.Circle, libraryAct{Action: "list"})
		if err != nil {
			return err
		}
		return writeJSONLines(e.stdout, r.Resources)
	})
}

type packCmd struct {
	Export packExportCmd `cmd:"" help:"Export the circle's welcome pack (consented posts, resources, upcoming events, with their signatures), encrypted under $HEARTH_PACK_PASSPHRASE (facilitators)."`
	Open   packOpenCmd   `cmd:"" help:"Open a welcome pack with $HEARTH_PACK_PASSPHRASE; checks every signature; prints one JSON object a line."`
	Import packImportCmd `cmd:"" help:"Keep a welcome pack in this vault as a read-only library of its circle ($HEARTH_PACK_PASSPHRASE, else a prompt); checks every signature; prints one JSON object."`
}

type packExportCmd struct {
	Circle string `required:"" help:"Circle id." placeholder:"ID"`
	Out    string `required:"" help:"File to write (created, mode 0600)." type:"path" placeholder:"FILE"`
}

func (c *packExportCmd) Validate() error { return checkCircleFlag(c.Circle) }
func (c *packExportCmd) Run(ctx context.Context, e *env) error {
	pass, ok := e.lookupEnv(packPassphraseEnv)
	if !ok || len(pass) < 8 {
		return usageErrorf("set %s to the pack's passphrase (at least 8 characters) and pass it on separately", packPassphraseEnv)
	}
	return e.withBackend(ctx, func(b backend) error {
		r, err := b.library(ctx, c.Circle, libraryAct{Action: "export", Passphrase: pass})
		if err != nil {
			return err
		}
		return os.WriteFile(c.Out, r.Pack, 0o600)
	})
}

type packOpenCmd struct {
	File string `arg:"" help:"The pack file." type:"existingfile"`
}

func (c *packOpenCmd) Run(ctx context.Context, e *env) error {
	pass, ok := e.lookupEnv(packPassphraseEnv)
	if !ok {
		return usageErrorf("set %s to the pack's passphrase", packPassphraseEnv)
	}
	b, err := readSmallFile(c.File, 16<<20)
	if err != nil {
		return usageErrorf("%v", err)
	}
	p, err := app.OpenPack(b, []byte(pass))
	if err != nil {
		return err
	}
	return writeJSONLines(e.stdout, viewResources(p.Items))
}
