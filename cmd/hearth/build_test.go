package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Makefile builds and runs the app without Fyne's bundled emoji font,
// whose parsed copies (one per text style) would cost about 20 MB of
// resident memory.
func TestMakefileBuildsTheAppWithoutBundledEmoji(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	tags := regexp.MustCompile(`(?m)^APP_TAGS\s*:?=\s*(.*)$`).FindStringSubmatch(string(raw))
	if tags == nil || !strings.Contains(" "+tags[1]+" ", " no_emoji ") {
		t.Fatalf("the Makefile's APP_TAGS do not include no_emoji: %q", tags)
	}
	// Every go build or go run of the app passes them.
	app := regexp.MustCompile(`\./cmd/hearth(\s|$)`)
	goCmd := regexp.MustCompile(`\$\(GO\) (build|run)\b`)
	n := 0
	for i, line := range strings.Split(string(raw), "\n") {
		if !app.MatchString(line) || !goCmd.MatchString(line) {
			continue
		}
		n++
		if !strings.Contains(line, "-tags '$(APP_TAGS)'") {
			t.Errorf("Makefile line %d builds the app without $(APP_TAGS): %s", i+1, strings.TrimSpace(line))
		}
	}
	if n < 3 { // build, run, package
		t.Errorf("found %d builds of the app in the Makefile, want build, run and package", n)
	}
}
