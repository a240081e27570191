package main

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// idleCheckEvery is how often the auto-lock looks at the idle time.
const idleCheckEvery = 15 * time.Second

// watch wraps the main window's content and notes the pointer moving over
// it: a sign the member is at the screen. Widgets that follow the pointer
// themselves (buttons, list rows) keep their own hover; the views report
// typing, tapping and scrolling through ui.Options.Activity.
type watch struct {
	widget.BaseWidget
	content fyne.CanvasObject
	touch   func()
}

var _ desktop.Hoverable = (*watch)(nil)

func newWatch(content fyne.CanvasObject, touch func()) *watch {
	w := &watch{content: content, touch: touch}
	w.ExtendBaseWidget(w)
	return w
}

func (w *watch) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(w.content) }

func (w *watch) MouseIn(*desktop.MouseEvent)    { w.touch() }
func (w *watch) MouseMoved(*desktop.MouseEvent) { w.touch() }
func (w *watch) MouseOut()                      {}

// touch notes that the member is active now.
func (s *screens) touch() { s.lastActive = s.now() }

// setAutoLock arms the auto-lock for minutes of idleness; 0 disarms it.
func (s *screens) setAutoLock(minutes int) {
	s.autoLock = time.Duration(minutes) * time.Minute
	s.touch()
}

// watchIdle checks, every idleCheckEvery while session is the open one,
// whether the member has been away longer than the auto-lock allows.
func (s *screens) watchIdle(session int) {
	s.after(idleCheckEvery, func() {
		if s.session != session || s.main == nil {
			return
		}
		if s.checkIdle() {
			return
		}
		s.watchIdle(session)
	})
}

// checkIdle locks the vault if the member has been idle for the auto-lock
// time, and reports whether it did.
func (s *screens) checkIdle() bool {
	if s.main == nil || s.autoLock <= 0 || s.now().Sub(s.lastActive) < s.autoLock {
		return false
	}
	s.lock()
	return true
}
