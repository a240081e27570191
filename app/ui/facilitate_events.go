package ui

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// Texts the member reads; tests look for them.
const (
	textEventsTitle   = "Events"
	textNoEvents      = "No sessions are planned."
	textSchedule      = "Schedule a session…"
	textScheduleTitle = "Schedule a session"
	textScheduleOK    = "Schedule"
	textAddCalendar   = "Save to calendar (.ics)…"
	textTitleNeeded   = "Give the session a title."
	textBadDate       = "Write the date as 2026-03-04 and the time as 18:30."
	textBadZone       = "That time zone is not known; choose one from the list, e.g. Europe/Berlin."
	textReminderTitle = "Hearth"
	textReminderBody  = "A session of one of your circles starts at %s."
)

// reminderLead is how long before a session starts the desktop reminder
// comes.
const reminderLead = 15 * time.Minute

// durationChoices are the lengths a session may be given, in the form's
// words.
var durationChoices = []string{"30 minutes", "45 minutes", "1 hour", "1 hour 30 minutes", "2 hours", "3 hours"}

func parseDuration(choice string) time.Duration {
	switch choice {
	case "30 minutes":
		return 30 * time.Minute
	case "45 minutes":
		return 45 * time.Minute
	case "1 hour 30 minutes":
		return 90 * time.Minute
	case "2 hours":
		return 2 * time.Hour
	case "3 hours":
		return 3 * time.Hour
	}
	return time.Hour
}

// zoneChoices are offered in the form; any IANA name can be typed.
var zoneChoices = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens", "Europe/Kyiv",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Toronto",
	"America/Mexico_City", "America/Sao_Paulo", "Africa/Lagos", "Africa/Johannesburg", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
}

// localZone is the IANA name of this computer's time zone, or UTC when it
// cannot be told.
func localZone() string {
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); tz != "" {
		if _, err := time.LoadLocation(tz); err == nil {
			return tz
		}
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(filepath.ToSlash(target), "zoneinfo/"); ok {
			if _, err := time.LoadLocation(name); err == nil {
				return name
			}
		}
	}
	return "UTC"
}

// eventRow is one session in the list.
type eventRow struct {
	event app.EventInfo
	label *widget.Label
	rsvp  *widget.RadioGroup
	ics   *widget.Button
}

// eventsView lists a circle's coming sessions with RSVP and calendar
// export; facilitators also schedule new ones.
type eventsView struct {
	win  fyne.Window
	core Facilitation
	opt  Options
	info app.CircleInfo

	rows     []*eventRow
	box      *fyne.Container
	status   *widget.Label
	schedule *widget.Button // nil for members
	form     *scheduleForm  // the form last opened, kept for tests

	// save writes a file the member chose; tests replace it.
	save func(name string, data []byte)
}

func showEvents(win fyne.Window, core Facilitation, opt Options, info app.CircleInfo) *eventsView {
	v := &eventsView{win: win, core: core, opt: opt, info: info, box: container.NewVBox(), status: widget.NewLabel("")}
	v.status.Wrapping = fyne.TextWrapWord
	v.save = func(name string, data []byte) { saveFile(win, name, data, v.status) }
	v.reload()
	bottom := container.NewVBox(v.status)
	if info.Role == app.RoleFacilitator {
		v.schedule = widget.NewButton(textSchedule, func() { v.form = v.showSchedule() })
		v.schedule.Importance = widget.HighImportance
		bottom.Add(container.NewHBox(v.schedule))
	}
	scroll := container.NewVScroll(v.box)
	scroll.SetMinSize(fyne.NewSize(560, 340))
	dialog.NewCustom(textEventsTitle+" — "+info.Name, "Close", container.NewBorder(nil, bottom, nil, nil, scroll), win).Show()
	return v
}

func (v *eventsView) reload() {
	evs, err := v.core.Events(v.info.ID)
	if err != nil {
		failText(v.status, "Could not read the events: "+err.Error())
		return
	}
	v.rows = nil
	v.box.Objects = nil
	if len(evs) == 0 {
		v.box.Add(widget.NewLabel(textNoEvents))
	}
	for _, ev := range evs {
		r := &eventRow{event: ev}
		r.label = widget.NewLabel(eventText(ev))
		r.label.Wrapping = fyne.TextWrapWord
		id := ev.ID
		r.rsvp = widget.NewRadioGroup(app.Answers, nil)
		r.rsvp.Horizontal = true
		r.rsvp.SetSelected(ev.MyAnswer)
		r.rsvp.OnChanged = func(answer string) {
			if answer == "" {
				return
			}
			call(v.opt, func(ctx context.Context) error { return v.core.RSVP(ctx, v.info.ID, id, answer) }, func(err error) {
				if err != nil {
					failText(v.status, "Could not answer: "+err.Error())
					return
				}
				infoText(v.status, "Your answer went to the circle.")
			})
		}
		r.ics = widget.NewButton(textAddCalendar, func() {
			data, err := v.core.EventICS(v.info.ID, id)
			if err != nil {
				failText(v.status, "Could not make the calendar file: "+err.Error())
				return
			}
			v.save(calendarName(ev.Title), data)
		})
		v.rows = append(v.rows, r)
		v.box.Add(container.NewVBox(r.label, container.NewHBox(widget.NewLabel("Coming?"), r.rsvp, r.ics), widget.NewSeparator()))
	}
	v.box.Refresh()
}

// eventText is a session as the list shows it: in its own zone, and in
// this computer's when that differs.
func eventText(ev app.EventInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s (%s), %s", ev.Title, ev.Start.Format("Mon 2 Jan 2006, 15:04"), ev.Start.Location(), durationText(ev.Duration))
	if local := ev.Start.Local(); local.Format("15:04 MST") != ev.Start.Format("15:04 MST") {
		fmt.Fprintf(&b, " — %s your time", local.Format("Mon 15:04"))
	}
	if ev.Where != "" {
		b.WriteString("\nWhere: " + ev.Where)
	}
	if ev.Description != "" {
		b.WriteString("\n" + ev.Description)
	}
	fmt.Fprintf(&b, "\nComing: %d yes, %d maybe, %d no", ev.Answers["yes"], ev.Answers["maybe"], ev.Answers["no"])
	return b.String()
}

func durationText(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%d minutes", m)
	case m == 0 && h == 1:
		return "1 hour"
	case m == 0:
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%dh%02d", h, m)
}

// calendarName is a file name for an event's .ics file.
func calendarName(title string) string {
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '-'
		}
		return r
	}, strings.TrimSpace(title))
	if name == "" {
		name = "session"
	}
	return name + ".ics"
}

// scheduleForm is the facilitator's form for a new session.
type scheduleForm struct {
	title, date, clock *widget.Entry
	zone               *widget.SelectEntry
	duration           *widget.Select
	where, desc        *widget.Entry
	ok                 *widget.Button
	status             *widget.Label
}

func (v *eventsView) showSchedule() *scheduleForm {
	f := &scheduleForm{
		title: widget.NewEntry(), date: widget.NewEntry(), clock: widget.NewEntry(),
		zone: widget.NewSelectEntry(zoneChoices), duration: widget.NewSelect(durationChoices, nil),
		where: widget.NewEntry(), desc: widget.NewMultiLineEntry(), status: widget.NewLabel(""),
	}
	f.title.SetPlaceHolder("e.g. Tuesday check-in")
	next := time.Now().Add(24 * time.Hour)
	f.date.SetText(next.Format("2006-01-02"))
	f.clock.SetText("18:30")
	f.zone.SetText(localZone())
	f.duration.SetSelected("1 hour")
	f.where.SetPlaceHolder("A place, or a link to a video call")
	f.desc.SetPlaceHolder("What the session is about (optional)")
	f.desc.SetMinRowsVisible(3)
	f.status.Wrapping = fyne.TextWrapWord
	f.ok = widget.NewButton(textScheduleOK, nil)
	f.ok.Importance = widget.HighImportance
	cancel := widget.NewButton(textCancel, nil)
	form := widget.NewForm(
		widget.NewFormItem("Title", f.title),
		widget.NewFormItem("Date", f.date),
		widget.NewFormItem("Starts at", f.clock),
		widget.NewFormItem("Time zone", f.zone),
		widget.NewFormItem("Length", f.duration),
		widget.NewFormItem("Where", f.where),
		widget.NewFormItem("About", f.desc),
	)
	d := dialog.NewCustomWithoutButtons(textScheduleTitle, sized(container.NewVBox(form, f.status, container.NewHBox(cancel, f.ok)), 480), v.win)
	cancel.OnTapped = d.Hide
	f.ok.OnTapped = func() {
		opt, msg := f.options()
		if msg != "" {
			failText(f.status, msg)
			return
		}
		f.ok.Disable()
		call(v.opt, func(ctx context.Context) error {
			_, err := v.core.ScheduleEvent(ctx, v.info.ID, opt)
			return err
		}, func(err error) {
			if err != nil {
				f.ok.Enable()
				failText(f.status, "Could not schedule: "+err.Error())
				return
			}
			d.Hide()
			v.reload()
		})
	}
	d.Show()
	v.win.Canvas().Focus(f.title)
	return f
}

// options reads the form; msg says what is wrong with it.
func (f *scheduleForm) options() (opt app.EventOptions, msg string) {
	title := strings.TrimSpace(f.title.Text)
	if title == "" {
		return opt, textTitleNeeded
	}
	loc, err := time.LoadLocation(strings.TrimSpace(f.zone.Text))
	if err != nil || strings.TrimSpace(f.zone.Text) == "" || strings.EqualFold(strings.TrimSpace(f.zone.Text), "local") {
		return opt, textBadZone
	}
	start, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(f.date.Text)+" "+strings.TrimSpace(f.clock.Text), loc)
	if err != nil {
		return opt, textBadDate
	}
	return app.EventOptions{
		Title: title, Start: start, Duration: parseDuration(f.duration.Selected),
		Where: strings.TrimSpace(f.where.Text), Description: strings.TrimSpace(f.desc.Text),
	}, ""
}

// reminders sends one desktop reminder per session shortly before it
// starts. Its clock is injected so that tests can move it.
type reminders struct {
	now    func() time.Time
	notify func(*fyne.Notification)
	sent   map[string]bool
}

func newReminders(now func() time.Time, notify func(*fyne.Notification)) *reminders {
	return &reminders{now: now, notify: notify, sent: map[string]bool{}}
}

// due are the sessions that start within reminderLead from now and have
// had no reminder yet.
func (r *reminders) due(evs []app.EventInfo) []app.EventInfo {
	now := r.now()
	var out []app.EventInfo
	for _, ev := range evs {
		if r.sent[ev.ID] || ev.MyAnswer == "no" {
			continue
		}
		if until := ev.Start.Sub(now); until > 0 && until <= reminderLead {
			out = append(out, ev)
		}
	}
	return out
}

// check sends the reminders now due. The notification says when, not what:
// a session's title can tell an onlooker which circle this is.
func (r *reminders) check(evs []app.EventInfo) {
	for _, ev := range r.due(evs) {
		r.sent[ev.ID] = true
		r.notify(fyne.NewNotification(textReminderTitle, fmt.Sprintf(textReminderBody, ev.Start.Local().Format("15:04"))))
	}
}

// sendNotification shows a desktop notification.
func sendNotification(n *fyne.Notification) {
	if a := fyne.CurrentApp(); a != nil {
		a.SendNotification(n)
	}
}

// saveFile asks where to save data, proposing name, and writes it there.
func saveFile(win fyne.Window, name string, data []byte, status *widget.Label) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			if err != nil {
				failText(status, "Could not save: "+err.Error())
			}
			return
		}
		_, err = w.Write(data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			failText(status, "Could not save: "+err.Error())
			return
		}
		infoText(status, "Saved "+w.URI().Name()+".")
	}, win)
	d.SetFileName(name)
	d.Show()
}

// openFile asks for a file and hands its bytes (at most limit) to use.
func openFile(win fyne.Window, limit int64, status *widget.Label, use func(name string, data []byte)) {
	dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			if err != nil {
				failText(status, "Could not open: "+err.Error())
			}
			return
		}
		defer r.Close()
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			failText(status, "Could not read the file: "+err.Error())
			return
		}
		if int64(len(data)) > limit {
			failText(status, "This file is too large to be a welcome pack.")
			return
		}
		use(r.URI().Name(), data)
	}, win).Show()
}
