package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/hearth-circles/hearth/app"
)

// look is Hearth's theme: Fyne's default, in the light or dark variant the
// member chose (or the system's), with every size scaled by the member's
// text size so that text, padding and icons grow together.
type look struct {
	base    fyne.Theme
	variant fyne.ThemeVariant
	system  bool // follow the variant the system asks for
	scale   float32
}

var _ fyne.Theme = (*look)(nil)

// newLook is the theme for s.
func newLook(s app.Settings) *look {
	l := &look{base: theme.DefaultTheme(), scale: s.TextScale, system: s.Theme == app.ThemeSystem}
	switch s.Theme {
	case app.ThemeDark:
		l.variant = theme.VariantDark
	case app.ThemeLight:
		l.variant = theme.VariantLight
	}
	if l.scale <= 0 {
		l.scale = 1
	}
	return l
}

// ApplySettings makes the app look as s says. Call it on the UI goroutine.
func ApplySettings(a fyne.App, s app.Settings) {
	a.Settings().SetTheme(newLook(s))
}

func (l *look) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if !l.system {
		v = l.variant
	}
	return l.base.Color(n, v)
}

// Font is Fyne's. Hearth's own text comes in two styles, regular and bold,
// and no italic: Fyne loads every style it is asked for as its bundled face
// and a system face for the locale's language, each parsed whole and kept
// for the rest of the process. Italic alone cost the desktop 3.7 MB of heap
// with Debian's DejaVu fonts (TestNoItalicInChat). Markdown a member wrote
// (guidelines) still shows its emphasis.
func (l *look) Font(s fyne.TextStyle) fyne.Resource { return l.base.Font(s) }

func (l *look) Icon(n fyne.ThemeIconName) fyne.Resource { return l.base.Icon(n) }

func (l *look) Size(n fyne.ThemeSizeName) float32 { return l.base.Size(n) * l.scale }
