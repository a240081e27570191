package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/hearth-circles/hearth/app"
)

// TestContrastBothThemes checks the colours Hearth picks itself against
// the background of each theme: pseudonyms, and the text of the labels.
func TestContrastBothThemes(t *testing.T) {
	a := test.NewTempApp(t)
	for _, name := range []string{app.ThemeLight, app.ThemeDark} {
		s := app.DefaultSettings()
		s.Theme = name
		ApplySettings(a, s)
		bg := theme.Color(theme.ColorNameBackground)
		worst := 21.0
		for i := range 300 {
			id := app.MemberID{byte(i), byte(i >> 8), 7}
			worst = min(worst, contrastRatio(memberColor(id), bg))
		}
		if worst < 4.5 {
			t.Errorf("%s theme: pseudonym colours reach down to %.2f:1 against the background, want at least 4.5:1", name, worst)
		}
		for _, c := range []fyne.ThemeColorName{theme.ColorNameForeground, theme.ColorNamePrimary} {
			if got := contrastRatio(theme.Color(c), bg); got < 3 {
				t.Errorf("%s theme: %s at %.2f:1 against the background, want at least 3:1", name, c, got)
			}
		}
	}
}
