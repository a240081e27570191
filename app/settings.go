package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/hearth-circles/hearth/storage"
)

// settingsKey names the member's settings among the store's global values.
var settingsKey = []byte("settings")

// Themes a member can choose.
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// Bounds of the text size factor.
const (
	MinTextScale = 0.8
	MaxTextScale = 2.0
)

// AutoLockChoices are the idle times, in minutes, after which the app may
// lock itself; 0 is never.
var AutoLockChoices = []int{0, 5, 15, 60}

// Settings are how the member wants the desktop app to look and behave.
// They live in the vault, so they are as private as the circles.
type Settings struct {
	Theme     string  `json:"theme"`      // ThemeSystem, ThemeLight or ThemeDark
	TextScale float32 `json:"text_scale"` // 1 is the default text size
	// Notifications: tell the member when a message arrives in a circle
	// not on show. NotifyText also puts the message's text in the
	// notification; without it a notification names the circle only.
	Notifications bool `json:"notifications"`
	NotifyText    bool `json:"notify_text"`
	// AutoLockMinutes locks the app after this long without input; 0 never.
	AutoLockMinutes int `json:"auto_lock_minutes"`
}

// DefaultSettings are the settings of a new vault.
func DefaultSettings() Settings {
	return Settings{Theme: ThemeSystem, TextScale: 1, Notifications: true, AutoLockMinutes: 15}
}

// ParseSettings reads settings as SaveSettings stores them. Fields that are
// missing or out of range take their default; bytes that are not settings
// at all return ErrInvalid with the defaults.
func ParseSettings(b []byte) (Settings, error) {
	s := DefaultSettings()
	if err := json.Unmarshal(b, &s); err != nil {
		return DefaultSettings(), fmt.Errorf("%w: settings: %v", ErrInvalid, err)
	}
	return s.normal(), nil
}

// normal puts every field within its range.
func (s Settings) normal() Settings {
	d := DefaultSettings()
	if s.Theme != ThemeLight && s.Theme != ThemeDark {
		s.Theme = d.Theme
	}
	if !(s.TextScale >= MinTextScale && s.TextScale <= MaxTextScale) { // NaN too
		s.TextScale = d.TextScale
	}
	if !slices.Contains(AutoLockChoices, s.AutoLockMinutes) {
		s.AutoLockMinutes = d.AutoLockMinutes
	}
	if !s.Notifications {
		s.NotifyText = false
	}
	return s
}

// Settings returns the member's settings, or the defaults if none were
// saved yet.
func (v *Vault) Settings() (Settings, error) {
	b, err := v.store.GetGlobal(settingsKey)
	if errors.Is(err, storage.ErrNotFound) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return DefaultSettings(), fmt.Errorf("read settings: %w", err)
	}
	return ParseSettings(b)
}

// SaveSettings stores s (brought within range) in the vault.
func (v *Vault) SaveSettings(s Settings) error {
	b, err := json.Marshal(s.normal())
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	if err := v.store.PutGlobal(settingsKey, b); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// readMarksKey names, among the store's global values, how far the member
// has read in each circle.
var readMarksKey = []byte("read-marks")

// ReadMarks returns, for each circle, the Lamport clock of the latest
// message the member has had on screen; circles never opened are absent.
func (v *Vault) ReadMarks() (map[CircleID]uint64, error) {
	out := map[CircleID]uint64{}
	b, err := v.store.GetGlobal(readMarksKey)
	if errors.Is(err, storage.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("read the read marks: %w", err)
	}
	var raw map[string]uint64
	if err := json.Unmarshal(b, &raw); err != nil {
		return out, fmt.Errorf("%w: read marks: %v", ErrInvalid, err)
	}
	for k, n := range raw {
		if id, err := ParseCircleID(k); err == nil {
			out[id] = n
		}
	}
	return out, nil
}

// SaveReadMarks stores marks as ReadMarks returns them.
func (v *Vault) SaveReadMarks(marks map[CircleID]uint64) error {
	raw := make(map[string]uint64, len(marks))
	for id, n := range marks {
		raw[id.String()] = n
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("save read marks: %w", err)
	}
	if err := v.store.PutGlobal(readMarksKey, b); err != nil {
		return fmt.Errorf("save read marks: %w", err)
	}
	return nil
}
