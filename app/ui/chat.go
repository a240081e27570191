package ui

import (
	"context"
	"fmt"
	"hash/fnv"
	"image/color"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// pageSize is how many messages one page of history holds.
const pageSize = 50

// Texts the member reads; tests look for them.
const (
	textScopeCircle   = "Only people in the circle now"
	textScopeFuture   = "Also people who join later"
	textScopeResource = "Share as a resource"
	textBadgeFuture   = "later members"
	textBadgeResource = "resource"
	textEarlier       = "Earlier messages"
	textShow          = "Show"
	textHide          = "Hide"
	textSend          = "Send"
	textInvite        = "Invite…"
	textCWToggle      = "Content warning"
	textOffline       = "offline — your posts will go out when you reconnect"
	textAlone         = "no one else is online — your posts will reach the others when they connect"
	textShowMembers   = "Members"
	textReply         = "Reply"
	textReplyingTo    = "Replying to "
	textCancelReply   = "Not a reply"
	textEarlierPost   = "an earlier message"
)

var scopeChoices = []string{textScopeCircle, textScopeFuture, textScopeResource}

func scopeOf(choice string) app.Scope {
	switch choice {
	case textScopeFuture:
		return app.ScopeFuture
	case textScopeResource:
		return app.ScopeResource
	}
	return app.ScopeCircle
}

func scopeBadge(s app.Scope) string {
	switch s {
	case app.ScopeFuture:
		return textBadgeFuture
	case app.ScopeResource:
		return textBadgeResource
	}
	return ""
}

// connectionText is the line that says who is reachable.
func connectionText(c app.CircleInfo) string {
	switch {
	case c.Online == 0:
		return textOffline
	case c.Online == 1 && c.Members > 1:
		return textAlone
	}
	return fmt.Sprintf("%d of %d members online", c.Online, c.Members)
}

// chatView shows one circle's history and the composer.
type chatView struct {
	agree *widget.Button // the guidelines dialog's accept, while shown
	win   fyne.Window
	core  Core
	opt   Options
	id    app.CircleID
	info  app.CircleInfo

	msgs     []app.Message
	maxHeld  int // see maxHeld
	seen     map[string]bool
	revealed map[string]bool
	heights  map[int]float32 // row heights measured at width
	width    float32
	cursor   string // pages further back; "" once the start is reached
	loading  bool
	ready    bool // the first page is on show
	// follow keeps the newest message in view while rows learn their
	// heights, until the member scrolls up.
	follow       bool
	bottomOffset float32
	steady       int // keepBottom calls in a row that found the bottom unmoved

	title *widget.Label
	conn  *widget.Label
	list  *widget.List
	// members is the members panel, shown beside the history on demand.
	members     *membersPanel
	membersBtn  *widget.Button
	membersSide *fyne.Container
	earlier     *widget.Button
	invite      *widget.Button
	tools       *fyne.Container // the header's facilitation entries (facilitate.go)
	facil       chatFacilitation
	// inviting is the invite dialog last opened, kept for tests.
	inviting *inviteDialog

	entry *composer
	// replyTo is the post the next one answers ("" for none), shown above
	// the composer in replyBar.
	replyTo    string
	replyLabel *widget.Label
	replyBar   *fyne.Container
	scope      *widget.Select
	cwCheck    *widget.Check
	cwEntry    *widget.Entry
	send       *widget.Button
	status     *widget.Label

	content fyne.CanvasObject
}

func newChatView(win fyne.Window, core Core, opt Options, info app.CircleInfo) *chatView {
	c := &chatView{
		win: win, core: core, opt: opt, id: info.ID,
		seen: map[string]bool{}, revealed: map[string]bool{}, heights: map[int]float32{},
		maxHeld: maxHeld,
	}
	c.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.conn = widget.NewLabel("")
	c.invite = widget.NewButton(textInvite, func() { c.inviting = showInvite(c.win, c.core, c.opt, c.id) })
	c.earlier = widget.NewButton(textEarlier, c.loadEarlier)
	c.list = widget.NewList(func() int { return len(c.msgs) }, newRow, c.updateRow)
	// Rows are read, not chosen: no selection colour on a tap.
	c.list.OnSelected = func(id widget.ListItemID) { c.list.Unselect(id) }

	c.entry = newComposer(c.submit)
	c.entry.onKey = c.active
	c.entry.SetPlaceHolder("Write to the circle (Enter sends, Shift+Enter starts a new line)")
	c.entry.SetMinRowsVisible(3)
	c.scope = widget.NewSelect(scopeChoices, nil)
	c.scope.SetSelected(textScopeCircle)
	c.cwEntry = widget.NewEntry()
	c.cwEntry.SetPlaceHolder("What the post is about, e.g. self-harm")
	c.cwEntry.Hide()
	c.cwCheck = widget.NewCheck(textCWToggle, func(on bool) {
		if on {
			c.cwEntry.Show()
		} else {
			c.cwEntry.Hide()
		}
	})
	c.send = widget.NewButton(textSend, c.submit)
	c.send.Importance = widget.HighImportance
	c.status = widget.NewLabel("")
	c.status.Wrapping = fyne.TextWrapWord
	c.status.Hide()
	c.replyLabel = widget.NewLabel("")
	c.replyLabel.Truncation = fyne.TextTruncateEllipsis
	c.replyBar = container.NewBorder(nil, nil, nil, widget.NewButton(textCancelReply, func() { c.setReply("") }), c.replyLabel)
	c.replyBar.Hide()

	c.membersBtn = widget.NewButton(textShowMembers, c.toggleMembers)
	c.membersSide = container.NewStack()
	c.membersSide.Hide()

	c.tools = container.NewHBox()
	header := container.NewBorder(nil, nil, nil, container.NewHBox(c.tools, c.membersBtn, c.invite), container.NewVBox(c.title, c.conn))
	options := container.NewBorder(nil, nil, container.NewHBox(sized(c.scope, 290), c.cwCheck), c.send, c.cwEntry)
	bottom := container.NewVBox(c.status, c.replyBar, c.entry, options)
	history := container.NewBorder(c.earlier, nil, nil, nil,
		container.New(&widthWatch{changed: func() { c.opt.Do(c.relayout) }}, c.list))
	c.content = container.NewBorder(header, bottom, nil, c.membersSide, history)
	c.setInfo(info)
	c.loadLatest()
	return c
}

func (c *chatView) setInfo(info app.CircleInfo) {
	c.info = info
	c.title.SetText(info.Name + " — you are " + info.Nick)
	c.conn.SetText(connectionText(info))
	// Plain foreground colour: readable on either theme; offline in bold.
	c.conn.TextStyle.Bold = info.Online == 0 || info.Online == 1 && info.Members > 1
	c.conn.Refresh()
	if c.members != nil && c.membersSide.Visible() {
		c.members.refresh()
	}
}

// toggleMembers shows or hides the members panel.
func (c *chatView) toggleMembers() {
	if c.membersSide.Visible() {
		c.membersSide.Hide()
		c.membersBtn.Importance = widget.MediumImportance
		c.membersBtn.Refresh()
		return
	}
	if c.members == nil {
		c.members = newMembersPanel(c.core, c.id)
		c.membersSide.Objects = []fyne.CanvasObject{sized(c.members.content, 240)}
	} else {
		c.members.refresh()
	}
	c.membersSide.Show()
	c.membersBtn.Importance = widget.HighImportance
	c.membersBtn.Refresh()
}

func (c *chatView) loadLatest() {
	msgs, err := c.core.History(c.id, "", pageSize)
	if err != nil {
		c.fail(fmt.Sprintf("Could not read the history: %v", err))
		return
	}
	c.msgs = nil
	c.cursor = ""
	c.prepend(msgs)
	c.follow = true
	c.scrollBottom()
	c.ready = true
}

// prepend puts an older page in front of what is on show.
func (c *chatView) prepend(page []app.Message) {
	var fresh []app.Message
	for _, msg := range page {
		if !c.seen[msg.ID] {
			c.seen[msg.ID] = true
			fresh = append(fresh, msg)
		}
	}
	c.msgs = append(fresh, c.msgs...)
	c.heights = map[int]float32{}
	if len(page) == pageSize {
		c.cursor = page[0].Cursor
		c.earlier.Enable()
	} else {
		c.cursor = ""
		c.earlier.Disable()
	}
	c.list.Refresh()
}

// loadEarlier fetches the page before the first message on show.
func (c *chatView) loadEarlier() {
	if c.loading || c.cursor == "" {
		return
	}
	c.loading = true
	cursor := c.cursor
	c.opt.Go(func() {
		page, err := c.core.History(c.id, cursor, pageSize)
		c.opt.Do(func() {
			c.loading = false
			if err != nil {
				c.fail(fmt.Sprintf("Could not read the history: %v", err))
				return
			}
			before := len(c.msgs)
			c.prepend(page)
			c.list.ScrollTo(len(c.msgs) - before)
		})
	})
}

// add appends a new message unless it is already on show.
func (c *chatView) add(msg app.Message) {
	if c.seen[msg.ID] {
		return
	}
	c.seen[msg.ID] = true
	follow := c.follow || msg.Mine || c.atBottom()
	c.msgs = append(c.msgs, msg)
	if follow {
		c.trim()
	}
	c.list.Refresh()
	if follow {
		c.follow = true
		c.scrollBottom()
	}
}

// maxHeld bounds the messages on show while the member follows the newest:
// a circle that talks all day does not fill the memory. Older ones come
// back a page at a time with Earlier messages.
const maxHeld = 1000

// trim lets go of the oldest messages beyond c.maxHeld.
func (c *chatView) trim() {
	n := len(c.msgs) - c.maxHeld
	if n <= 0 {
		return
	}
	for _, m := range c.msgs[:n] {
		delete(c.seen, m.ID)
		delete(c.revealed, m.ID)
	}
	c.msgs = append([]app.Message(nil), c.msgs[n:]...)
	c.heights = map[int]float32{}
	c.cursor = c.msgs[0].Cursor
	c.earlier.Enable()
}

// keepBottom scrolls to the newest message again while rows learn their
// heights, and stops following once the bottom no longer moves, so that
// the member's own scrolling is left alone.
func (c *chatView) keepBottom() {
	if !c.follow {
		return
	}
	prev := c.bottomOffset
	c.list.ScrollToBottom()
	c.bottomOffset = c.list.GetScrollOffset()
	if d := c.bottomOffset - prev; d > -1 && d < 1 {
		c.steady++
	} else {
		c.steady = 0
	}
	if c.steady >= 3 {
		c.follow = false
	}
}

// atBottom reports whether the newest messages are in view, give or take
// half a screen.
func (c *chatView) atBottom() bool {
	o := c.list.GetScrollOffset()
	c.list.ScrollToBottom()
	if c.list.GetScrollOffset()-o > c.list.Size().Height/2 {
		c.list.ScrollToOffset(o)
		return false
	}
	return true
}

// scrollBottom shows the newest message, while following.
func (c *chatView) scrollBottom() {
	if !c.follow {
		return
	}
	c.list.ScrollToBottom()
	c.bottomOffset = c.list.GetScrollOffset()
	c.steady = 0
	c.opt.Do(c.keepBottom) // once laid out
}

func (c *chatView) submit() {
	if c.send.Disabled() {
		return
	}
	text := c.entry.Text
	if strings.TrimSpace(text) == "" {
		return
	}
	opt := app.PostOptions{Text: text, Scope: scopeOf(c.scope.Selected), ReplyTo: c.replyTo}
	if c.cwCheck.Checked {
		opt.ContentWarning = strings.TrimSpace(c.cwEntry.Text)
	}
	c.send.Disable()
	id := c.id
	c.opt.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), coreTimeout)
		msg, err := c.core.Post(ctx, id, opt)
		cancel()
		c.opt.Do(func() {
			c.send.Enable()
			if needsGuidelines(err) {
				c.agree = showGuidelines(c.win, c.core, c.opt, id, func(ok bool) {
					if ok {
						c.submit()
					}
				})
				return
			}
			if err != nil {
				c.fail(fmt.Sprintf("Could not post: %v", err))
				return
			}
			c.status.Hide()
			c.entry.SetText("")
			c.cwCheck.SetChecked(false)
			// Consent is given post by post: back to the narrowest scope.
			c.scope.SetSelected(textScopeCircle)
			c.cwEntry.SetText("")
			c.setReply("")
			c.add(msg)
		})
	})
}

// active tells Options.Activity that the member did something.
func (c *chatView) active() {
	if c.opt.Activity != nil {
		c.opt.Activity()
	}
}

func (c *chatView) fail(text string) {
	failText(c.status, text)
	c.status.Show()
}

// A row: header (pseudonym, time, scope badge) with the reactions and Reply
// at its right, the first line of the post it answers, content warning with
// its Show button, then the text.
func newRow() fyne.CanvasObject {
	nick := canvas.NewText("", color.Black)
	nick.TextStyle.Bold = true
	when := widget.NewLabel("")
	badge := widget.NewLabel("")
	badge.Importance = widget.HighImportance
	header := container.NewHBox(container.New(layout.NewCustomPaddedLayout(0, 0, theme.InnerPadding()/2, 0), container.NewCenter(nick)), when, badge)
	quote := widget.NewLabel("")
	quote.Truncation = fyne.TextTruncateEllipsis
	cw := widget.NewLabel("")
	cw.Wrapping = fyne.TextWrapWord
	show := widget.NewButton(textShow, nil)
	cwRow := container.NewBorder(nil, nil, nil, show, cw)
	text := widget.NewLabel("")
	text.Wrapping = fyne.TextWrapWord
	actions := container.NewHBox()
	for range app.Reactions {
		b := widget.NewButton("", nil)
		b.Importance = widget.LowImportance
		actions.Add(b)
	}
	reply := widget.NewButton(textReply, nil)
	reply.Importance = widget.LowImportance
	actions.Add(reply)
	more := widget.NewButton(textPostActions, nil) // the post's actions (facilitate.go)
	more.Importance = widget.LowImportance
	actions.Add(more)
	// The actions sit at the header's right when the row is wide enough,
	// else on a line of their own under the text (see placeActions).
	right, below := container.NewStack(actions), container.NewStack()
	below.Hide()
	return container.NewVBox(container.NewBorder(nil, nil, header, right), quote, cwRow, text, below)
}

// reactionText is a reaction button's label: the words, and how many gave
// them.
func reactionText(r string, n int) string {
	if n == 0 {
		return r
	}
	return fmt.Sprintf("%s · %d", r, n)
}

// firstLine is the start of a text, for a quote.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i]) + " …"
	}
	return s
}

// quoteOf is the line that shows which post a reply answers.
func (c *chatView) quoteOf(id string) string {
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if m := c.msgs[i]; m.ID == id {
			if m.ContentWarning != "" {
				return textReplyingTo + m.AuthorNick + " (content warning: " + m.ContentWarning + ")"
			}
			return textReplyingTo + m.AuthorNick + ": " + firstLine(m.Text)
		}
	}
	return textReplyingTo + textEarlierPost
}

func (c *chatView) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(c.msgs) {
		return
	}
	if c.ready && !c.follow {
		c.active() // rows come into view as the member scrolls
	}
	msg := c.msgs[id]
	row := o.(*fyne.Container)
	top := row.Objects[0].(*fyne.Container)
	header := top.Objects[0].(*fyne.Container)
	nick := header.Objects[0].(*fyne.Container).Objects[0].(*fyne.Container).Objects[0].(*canvas.Text)
	when := header.Objects[1].(*widget.Label)
	badge := header.Objects[2].(*widget.Label)
	quote := row.Objects[1].(*widget.Label)
	cwRow := row.Objects[2].(*fyne.Container)
	cw := cwRow.Objects[0].(*widget.Label)
	show := cwRow.Objects[1].(*widget.Button)
	text := row.Objects[3].(*widget.Label)
	right := top.Objects[1].(*fyne.Container)
	below := row.Objects[4].(*fyne.Container)
	actions := placeActions(header, right, below, c.list.Size().Width)
	c.bindPostActions(actions.Objects[len(app.Reactions)+1].(*widget.Button), msg)

	nick.Text = msg.AuthorNick
	nick.Color = memberColor(msg.Author)
	nick.TextSize = theme.TextSize()
	nick.Refresh()
	when.SetText(msg.SentAt.Local().Format("Jan 2 15:04"))
	if b := scopeBadge(msg.Scope); b != "" {
		badge.SetText(b)
		badge.Show()
	} else {
		badge.Hide()
	}
	if msg.ReplyTo != "" {
		quote.SetText(c.quoteOf(msg.ReplyTo))
		quote.Show()
	} else {
		quote.Hide()
	}

	body := msg.Text
	if msg.Kind != "post" {
		body = kindText(msg)
	}
	if msg.ContentWarning != "" {
		cw.SetText("Content warning: " + msg.ContentWarning)
		cwRow.Show()
		open := c.revealed[msg.ID]
		show.SetText(textShow)
		if open {
			show.SetText(textHide)
		}
		show.OnTapped = func() {
			c.active()
			c.revealed[msg.ID] = !c.revealed[msg.ID]
			c.list.RefreshItem(id)
			c.list.ScrollTo(id)
		}
		text.Hidden = !open
	} else {
		cwRow.Hide()
		text.Hidden = false
	}
	text.SetText(body)

	if msg.Kind == "post" || msg.Kind == "resource" {
		for i, r := range app.Reactions {
			b := actions.Objects[i].(*widget.Button)
			b.SetText(reactionText(r, msg.Reactions[r]))
			b.Importance = widget.LowImportance
			if msg.MyReaction == r {
				b.Importance = widget.HighImportance
			}
			b.OnTapped = func() { c.react(msg.ID, r) }
			b.Refresh()
		}
		reply := actions.Objects[len(app.Reactions)].(*widget.Button)
		reply.OnTapped = func() { c.setReply(msg.ID) }
		actions.Show()
	} else {
		actions.Hide()
	}
	row.Refresh()

	// Wrapped text is as tall as the width it is given: measure at the
	// list's width.
	if w := c.list.Size().Width; w > 0 {
		if w != c.width {
			c.width, c.heights = w, map[int]float32{}
		}
		row.Resize(fyne.NewSize(w, row.Size().Height))
	}
	if h := row.MinSize().Height; c.heights[id] != h {
		c.heights[id] = h
		c.list.SetItemHeight(id, h)
		if c.follow {
			c.opt.Do(c.keepBottom)
		}
	}
	// Scrolling up to the first row pages further back.
	if id == 0 && c.ready && !c.follow && c.cursor != "" && !c.loading {
		c.opt.Do(c.loadEarlier)
	}
}

// placeActions puts a row's reaction buttons beside its header if both fit
// in width, else under the text, and returns them.
func placeActions(header, right, below *fyne.Container, width float32) *fyne.Container {
	var actions *fyne.Container
	if len(right.Objects) > 0 {
		actions = right.Objects[0].(*fyne.Container)
	} else {
		actions = below.Objects[0].(*fyne.Container)
	}
	fits := width <= 0 || header.MinSize().Width+actions.MinSize().Width+2*theme.Padding() <= width
	if fits && len(right.Objects) == 0 {
		below.Objects = nil
		below.Hide()
		right.Objects = []fyne.CanvasObject{actions}
		right.Refresh()
	} else if !fits && len(below.Objects) == 0 {
		right.Objects = nil
		right.Refresh()
		below.Objects = []fyne.CanvasObject{actions}
		below.Show()
	}
	return actions
}

// widthWatch lays out one object over all its space and calls changed
// when its width changes, since wrapped rows then change height.
type widthWatch struct {
	width   float32
	changed func()
}

func (w *widthWatch) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objects {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
	if size.Width != w.width {
		first := w.width == 0
		w.width = size.Width
		if !first {
			w.changed()
		}
	}
}

func (w *widthWatch) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objects {
		s = s.Max(o.MinSize())
	}
	return s
}

// relayout measures every row again, after the history's width changed.
func (c *chatView) relayout() {
	if c.atBottom() {
		c.follow = true
	}
	c.heights = map[int]float32{}
	c.list.Refresh()
	c.scrollBottom()
}

// setReply makes the next post answer the post id ("" for none).
func (c *chatView) setReply(id string) {
	c.active()
	c.replyTo = id
	if id == "" {
		c.replyBar.Hide()
		return
	}
	c.replyLabel.SetText(c.quoteOf(id))
	c.replyBar.Show()
	c.win.Canvas().Focus(c.entry)
}

// react gives the post id the reaction r, or takes this member's back if
// it is already r.
func (c *chatView) react(id, r string) {
	c.active()
	for _, m := range c.msgs {
		if m.ID == id && m.MyReaction == r {
			r = ""
		}
	}
	circle := c.id
	c.opt.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), coreTimeout)
		err := c.core.React(ctx, circle, id, r)
		cancel()
		c.opt.Do(func() {
			if err != nil {
				c.fail(fmt.Sprintf("Could not react: %v", err))
				return
			}
			c.update(id)
		})
	})
}

// update reads the post id again (its reactions changed, or it was hidden
// or withdrawn) if it is on show.
func (c *chatView) update(id string) {
	i := -1
	for j, m := range c.msgs {
		if m.ID == id {
			i = j
		}
	}
	if i < 0 {
		return
	}
	next := ""
	if i+1 < len(c.msgs) {
		next = c.msgs[i+1].Cursor
	}
	page, err := c.core.History(c.id, next, 1)
	if err != nil {
		c.fail(fmt.Sprintf("Could not read the history: %v", err))
		return
	}
	if len(page) == 1 && page[0].ID == id {
		c.msgs[i] = page[0]
		c.list.RefreshItem(i)
		return
	}
	// Withdrawn by its author: gone from the history.
	c.msgs = append(c.msgs[:i], c.msgs[i+1:]...)
	c.heights = map[int]float32{}
	c.list.Refresh()
}

// kindText describes a record that is not a post.
func kindText(msg app.Message) string {
	switch msg.Kind {
	case "joined":
		return msg.Text + " joined the circle"
	case "left":
		return "left the circle"
	case "removed":
		return msg.Text + " was removed from the circle"
	case "hidden":
		return hiddenText(msg)
	case "guidelines":
		return guidelinesSummary(msg.Text)
	}
	if msg.Text != "" {
		return msg.Text
	}
	return msg.Kind
}

// guidelinesSummary stands for the guidelines in the history: their first
// line as plain words (the guidelines are markdown, and read in full in
// their own dialog).
func guidelinesSummary(text string) string {
	first := ""
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#>*-+ "))
		line = strings.NewReplacer("**", "", "__", "", "`", "").Replace(line)
		if line != "" {
			first = line
			break
		}
	}
	if first == "" {
		return "set the circle's guidelines"
	}
	return "set the circle's guidelines: “" + first + "”"
}

// memberColor is a stable colour for a member, from their id, dark enough
// to read on a light background and light enough on a dark one.
func memberColor(id app.MemberID) color.Color {
	h := fnv.New32a()
	h.Write(id[:])
	hue := float64(h.Sum32()%360) / 360
	// Start from a middle lightness and move away from the background's
	// until the pseudonym reads at 4.5:1 (WCAG AA) or better.
	bg := theme.Color(theme.ColorNameBackground)
	light, step := 0.45, -0.03
	if darkBackground() {
		light, step = 0.62, 0.03
	}
	for {
		r, g, b := hslToRGB(hue, 0.65, light)
		c := color.NRGBA{R: r, G: g, B: b, A: 0xff}
		if contrastRatio(c, bg) >= 4.5 || light <= 0.05 || light >= 0.95 {
			return c
		}
		light += step
	}
}

// contrastRatio is the WCAG 2 contrast ratio of two colours.
func contrastRatio(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is a colour's relative luminance, as WCAG 2 defines it.
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	ch := func(v uint32) float64 {
		x := float64(v) / 0xffff
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(r) + 0.7152*ch(g) + 0.0722*ch(b)
}

// darkBackground reports whether the theme in use has a dark background.
func darkBackground() bool {
	return luminance(theme.Color(theme.ColorNameBackground)) < 0.2
}

func hslToRGB(h, s, l float64) (r, g, b uint8) {
	q := l * (1 + s)
	if l >= 0.5 {
		q = l + s - l*s
	}
	p := 2*l - q
	conv := func(t float64) uint8 {
		switch {
		case t < 0:
			t++
		case t > 1:
			t--
		}
		var v float64
		switch {
		case t < 1.0/6:
			v = p + (q-p)*6*t
		case t < 0.5:
			v = q
		case t < 2.0/3:
			v = p + (q-p)*(2.0/3-t)*6
		default:
			v = p
		}
		return uint8(v*255 + 0.5)
	}
	return conv(h + 1.0/3), conv(h), conv(h - 1.0/3)
}

// composer is a multi-line entry where Enter sends and Shift+Enter starts a
// new line.
type composer struct {
	widget.Entry
	shift  bool
	onSend func()
	onKey  func() // any key: the member is here
}

func newComposer(onSend func()) *composer {
	c := &composer{onSend: onSend}
	c.MultiLine = true
	c.Wrapping = fyne.TextWrapWord
	c.ExtendBaseWidget(c)
	return c
}

// KeyDown notes the Shift key.
func (c *composer) KeyDown(key *fyne.KeyEvent) {
	if c.onKey != nil {
		c.onKey()
	}
	if key.Name == desktop.KeyShiftLeft || key.Name == desktop.KeyShiftRight {
		c.shift = true
	}
	c.Entry.KeyDown(key)
}

// KeyUp notes the Shift key.
func (c *composer) KeyUp(key *fyne.KeyEvent) {
	if key.Name == desktop.KeyShiftLeft || key.Name == desktop.KeyShiftRight {
		c.shift = false
	}
	c.Entry.KeyUp(key)
}

// TypedKey sends on Enter and breaks the line on Shift+Enter.
func (c *composer) TypedKey(key *fyne.KeyEvent) {
	if (key.Name == fyne.KeyReturn || key.Name == fyne.KeyEnter) && !c.shift {
		if c.onSend != nil {
			c.onSend()
		}
		return
	}
	c.Entry.TypedKey(key)
}
