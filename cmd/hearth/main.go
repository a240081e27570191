package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/hearth-circles/hearth/assets"
)

// appID is the application id of FyneApp.toml; a test keeps them equal.
const appID = "org.hearth.app"

// The Go runtime's settings, unless $GOMEMLIMIT or $GOGC set others: a
// soft memory limit, and how much garbage may pile up between collections,
// in percent of the live heap (Go's default is 100).
//
// A desktop app shares the machine, so it collects garbage sooner rather
// than grow. Even idle, Fyne allocates as it redraws the window, about 150
// KB/s; at Go's default the heap of an unlocked Hearth (25-27 MiB live with
// a circle of 10,000 messages) grows by as much again, resident, before
// each collection (see README for the figures). The cost is a collection
// every minute or two when idle, lost in the idle app's own CPU.
const (
	memoryLimit = 96 << 20
	gcPercent   = 50
)

func main() {
	home := flag.String("home", "", "directory that holds the vault (default $XDG_DATA_HOME/hearth or ~/.local/share/hearth)")
	flag.Parse()
	watchMemProfile()
	tuneRuntime(os.Getenv)
	if *home == "" {
		dir, err := defaultHome()
		if err != nil {
			fmt.Fprintln(os.Stderr, "hearth:", err)
			os.Exit(1)
		}
		*home = dir
	}

	if abs, err := filepath.Abs(*home); err == nil {
		*home = abs // the settings show where the data lives
	}

	a := fyneapp.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	w := a.NewWindow("Hearth")
	s := newScreens(w, *home)
	s.start()
	w.Resize(fyne.NewSize(520, 480))
	w.ShowAndRun()
	if err := s.close(); err != nil {
		slog.Error("closing the vault", "err", err)
		os.Exit(1)
	}
}

// tuneRuntime sets the Go runtime's memory limit and garbage collection
// percentage, each unless the environment (read with getenv) sets it.
func tuneRuntime(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit) // soft: the heap may pass it when it must
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// defaultHome is $XDG_DATA_HOME/hearth, or ~/.local/share/hearth when that
// variable is unset or not an absolute path.
func defaultHome() (string, error) {
	if dir := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "hearth"), nil
	}
	userHome, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home directory (use --home): %w", err)
	}
	return filepath.Join(userHome, ".local", "share", "hearth"), nil
}
