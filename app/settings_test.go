package app

import (
	"errors"
	"math"
	"testing"
)

func TestSettingsPersist(t *testing.T) {
	home, v := createTestVault(t)
	got, err := v.Settings()
	if err != nil {
		t.Fatalf("Settings on a new vault: got error %v, want nil", err)
	}
	if got != DefaultSettings() {
		t.Fatalf("Settings on a new vault: got %+v, want the defaults %+v", got, DefaultSettings())
	}
	want := Settings{Theme: ThemeDark, TextScale: 1.5, Notifications: true, NotifyText: true, AutoLockMinutes: 5}
	if err := v.SaveSettings(want); err != nil {
		t.Fatalf("SaveSettings: got error %v, want nil", err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	v, err = UnlockVault(home, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got, err := v.Settings(); err != nil || got != want {
		t.Errorf("Settings after unlocking again: got %+v, %v; want %+v", got, err, want)
	}
}

func TestParseSettings(t *testing.T) {
	d := DefaultSettings()
	for _, tc := range []struct {
		name    string
		in      string
		want    Settings
		invalid bool
	}{
		{"empty object", `{}`, d, false},
		{"light", `{"theme":"light"}`, Settings{Theme: ThemeLight, TextScale: 1, Notifications: true, AutoLockMinutes: 15}, false},
		{"unknown theme", `{"theme":"neon"}`, d, false},
		{"text too small", `{"text_scale":0.1}`, d, false},
		{"text too large", `{"text_scale":9}`, d, false},
		{"odd auto-lock", `{"auto_lock_minutes":7}`, d, false},
		{"text without notifications", `{"notifications":false,"notify_text":true}`, Settings{Theme: ThemeSystem, TextScale: 1, AutoLockMinutes: 15}, false},
		{"not json", `theme=dark`, d, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSettings([]byte(tc.in))
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if gotInvalid := errors.Is(err, ErrInvalid); gotInvalid != tc.invalid {
				t.Errorf("error: got %v, want ErrInvalid: %v", err, tc.invalid)
			}
		})
	}
}

func FuzzParseSettings(f *testing.F) {
	f.Add([]byte(`{"theme":"dark","text_scale":1.25,"notifications":true,"auto_lock_minutes":5}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _ := ParseSettings(b)
		if s.Theme != ThemeSystem && s.Theme != ThemeLight && s.Theme != ThemeDark {
			t.Fatalf("theme out of range: %q", s.Theme)
		}
		if math.IsNaN(float64(s.TextScale)) || s.TextScale < MinTextScale || s.TextScale > MaxTextScale {
			t.Fatalf("text scale out of range: %v", s.TextScale)
		}
		if s.NotifyText && !s.Notifications {
			t.Fatal("message text in notifications that are off")
		}
		if s.normal() != s {
			t.Fatalf("parsed settings not in range: %+v", s)
		}
	})
}

func TestReadMarksPersist(t *testing.T) {
	home, v := createTestVault(t)
	got, err := v.ReadMarks()
	if err != nil || len(got) != 0 {
		t.Fatalf("ReadMarks of a new vault: got %v, %v; want none", got, err)
	}
	a, b := CircleID{1}, CircleID{2}
	if err := v.SaveReadMarks(map[CircleID]uint64{a: 7, b: 12}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	v, err = UnlockVault(home, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got, err = v.ReadMarks()
	if err != nil || len(got) != 2 || got[a] != 7 || got[b] != 12 {
		t.Errorf("ReadMarks after unlocking again: got %v, %v; want %v: 7, %v: 12", got, err, a, b)
	}
}
