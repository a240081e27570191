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

// memoryLimit is the Go runtime's soft memory limit, unless $GOMEMLIMIT
// sets another.
const memoryLimit = 96 << 20

func main() {
	home := flag.String("home", "", "directory that holds the vault (default $XDG_DATA_HOME/hearth or ~/.local/share/hearth)")
	flag.Parse()
	watchMemProfile()
	if os.Getenv("GOMEMLIMIT") == "" {
		// Collect garbage sooner rather than grow: a desktop app shares the
		// machine. A soft limit; the heap may pass it when it must.
		debug.SetMemoryLimit(memoryLimit)
	}
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
