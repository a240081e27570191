package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/hearth-circles/hearth/app"
)

// Texts the member reads; tests look for them.
const (
	textInsightsTitle = "Insights"
	textInsightsIntro = "Computed on this computer from its own copy of the circle, and never sent anywhere."
	textNoPosts       = "No posts yet."
)

// chartHeight is the height of the tallest bar.
const chartHeight = 160

// chartWeeks is how many of the latest weeks the chart shows.
const chartWeeks = 12

// insightsView shows a facilitator the circle's activity: posts per week
// as bars, and a few figures.
type insightsView struct {
	figures *widget.Label
	bars    []*canvas.Rectangle // one per week on show, oldest first
	weeks   []app.WeekCount
	status  *widget.Label
}

func showInsights(win fyne.Window, core Facilitation, info app.CircleInfo) *insightsView {
	v := &insightsView{figures: widget.NewLabel(""), status: widget.NewLabel("")}
	intro := widget.NewLabel(textInsightsIntro)
	intro.Wrapping = fyne.TextWrapWord
	var chart fyne.CanvasObject = widget.NewLabel(textNoPosts)
	in, err := core.Insights(info.ID)
	if err != nil {
		failText(v.status, "Could not compute the insights: "+err.Error())
	} else {
		v.figures.SetText(insightsText(in))
		if len(in.PostsPerWeek) > 0 {
			chart = v.chart(in.PostsPerWeek)
		}
	}
	body := container.NewVBox(intro, widget.NewLabelWithStyle("Posts per week", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), chart, v.figures, v.status)
	dialog.NewCustom(textInsightsTitle+" — "+info.Name, "Close", sized(body, 560), win).Show()
	return v
}

func insightsText(in app.Insights) string {
	reply := "no replies yet"
	if in.MedianFirstReply > 0 {
		reply = in.MedianFirstReply.Round(time.Minute).String()
	}
	return fmt.Sprintf("Posts: %d\nMembers who posted in the last 30 days: %d\nPosts no one answered: %d\nMedian time to a first reply: %s",
		in.Posts, in.ActiveMembers, in.Unanswered, reply)
}

// chart draws the latest weeks' posts as bars of canvas rectangles, each
// with its count above and its week below.
func (v *insightsView) chart(weeks []app.WeekCount) fyne.CanvasObject {
	if len(weeks) > chartWeeks {
		weeks = weeks[len(weeks)-chartWeeks:]
	}
	v.weeks = weeks
	most := 1
	for _, w := range weeks {
		most = max(most, w.Posts)
	}
	cols := make([]fyne.CanvasObject, 0, len(weeks))
	for _, w := range weeks {
		bar := canvas.NewRectangle(theme.Color(theme.ColorNamePrimary))
		bar.SetMinSize(fyne.NewSize(28, barHeight(w.Posts, most)))
		v.bars = append(v.bars, bar)
		count := canvas.NewText(fmt.Sprint(w.Posts), theme.Color(theme.ColorNameForeground))
		count.Alignment = fyne.TextAlignCenter
		count.TextSize = theme.CaptionTextSize()
		week := canvas.NewText(w.Week.Format("2 Jan"), theme.Color(theme.ColorNameForeground))
		week.Alignment = fyne.TextAlignCenter
		week.TextSize = theme.CaptionTextSize()
		cols = append(cols, container.NewVBox(layout.NewSpacer(), count, container.NewCenter(bar), week))
	}
	frame := canvas.NewRectangle(nil)
	frame.SetMinSize(fyne.NewSize(0, chartHeight+40))
	return container.NewStack(frame, container.NewHBox(cols...))
}

// barHeight is a bar's height for n posts when the busiest week had most.
func barHeight(n, most int) float32 {
	if n == 0 {
		return 1
	}
	return float32(n) / float32(most) * chartHeight
}
