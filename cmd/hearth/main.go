package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/hearth-circles/hearth/assets"
)

// appID is the application id of FyneApp.toml; a test keeps them equal.
const appID = "org.hearth.app"

// The Go runtime's settings, unless $GOMEMLIMIT or $GOGC set others: how
// much garbage may pile up between collections, in percent of the live heap
// (Go's default is 100), and a soft memory limit that follows the live heap.
//
// A desktop app shares the machine, so it collects garbage sooner rather
// than grow. Even idle, Fyne allocates as it redraws the window, about 150
// KB/s; at Go's default the heap of an unlocked Hearth (25-27 MiB live with
// a circle of 10,000 messages) grows by as much again, resident, before
// each collection (see README for the figures). The cost is a collection
// every minute or two when idle, lost in the idle app's own CPU.
//
// Memory the heap no longer uses goes back to the system only slowly at
// these settings: when the key derivation at unlock ran in this process
// (it now runs in a child, kdf.go) it took 64 MiB at once, and minutes
// later a good part of it was still resident, freed but not returned.
// Under a memory limit the runtime returns what lies above it at once.
// The limit is limitFloor, or the live heap and a quarter more plus
// limitOverhead for what is not heap (goroutine stacks, the runtime's own
// data), whichever is more. That is tighter than gcPercent alone: with a
// circle of 10,000 messages the heap sits near the floor, and whenever it
// grows for a while (when the store compacted its tables after opening,
// as it once did) the collector runs several times as often (173
// collections in two idle minutes against 30-34, about 1 s more CPU), a
// price paid for 10 MB less resident memory the rest of the time.
const (
	gcPercent     = 50
	limitFloor    = 48 << 20
	limitOverhead = 14 << 20
	limitEvery    = 10 * time.Second // how often the limit follows the heap
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == kdfChildArg {
		os.Exit(kdfChild(os.Stdin, os.Stdout)) // see kdf.go
	}
	home := flag.String("home", "", "directory that holds the vault (default $XDG_DATA_HOME/hearth or ~/.local/share/hearth)")
	flag.Parse()
	watchMemProfile()
	if tuneRuntime(os.Getenv) {
		go followHeap(time.Tick(limitEvery))
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

// tuneRuntime sets the Go runtime's memory limit and garbage collection
// percentage, each unless the environment (read with getenv) sets it. It
// reports whether the memory limit is Hearth's to follow the heap with.
func tuneRuntime(getenv func(string) string) (ownLimit bool) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") != "" {
		return false
	}
	setLimit()
	return true
}

// followHeap sets the memory limit anew at each tick.
func followHeap(tick <-chan time.Time) {
	for range tick {
		setLimit()
	}
}

// setLimit sets the memory limit for the live heap now.
func setLimit() {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	var n uint64
	if live[0].Value.Kind() == metrics.KindUint64 {
		n = live[0].Value.Uint64()
	}
	debug.SetMemoryLimit(memoryLimitFor(n)) // soft: the heap may pass it when it must
}

// memoryLimitFor is the memory limit for a live heap of live bytes.
func memoryLimitFor(live uint64) int64 {
	return max(limitFloor, int64(live+live/4)+limitOverhead)
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
