package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// defaultHome is where the vault lives when --home is not given:
// $HEARTH_HOME, else $XDG_DATA_HOME/hearth, else ~/.local/share/hearth.
// A relative XDG_DATA_HOME is ignored, as the XDG base directory
// specification asks.
func defaultHome(getenv func(string) string) (string, error) {
	if h := getenv("HEARTH_HOME"); h != "" {
		return filepath.Abs(h)
	}
	if x := getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "hearth"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		home, err = os.UserHomeDir()
		if err != nil {
			return "", usageErrorf("no home directory to keep the vault in: give --home DIR or set HEARTH_HOME")
		}
	}
	if !filepath.IsAbs(home) {
		return "", usageErrorf("HOME %q is not an absolute path: give --home DIR or set HEARTH_HOME", home)
	}
	return filepath.Join(home, ".local", "share", "hearth"), nil
}

// resolveHome returns the home to use: the flag's value, or the default.
func resolveHome(flag string, getenv func(string) string) (string, error) {
	if flag != "" {
		abs, err := filepath.Abs(flag)
		if err != nil {
			return "", fmt.Errorf("home: %w", err)
		}
		return abs, nil
	}
	return defaultHome(getenv)
}
