package main

import (
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestStrengthText(t *testing.T) {
	for _, tc := range []struct{ pass, want string }{
		{"", textStrengthEmpty},
		{"password", textStrengthWeak},
		{"aaaaaaaaaaaaaaaaaaaa", textStrengthWeak},
		{"Tr0ub4dor&3", textStrengthWeak},
		{"correct horse battery", textStrengthWeak},
		{"correct horse battery staple", textStrengthFair},
		{"a quiet place to talk", textStrengthGood},
		{"correct horse battery staple lantern orchid", textStrengthStrong},
		{"x7#Qm2!vR9$kLp4@zW8&", textStrengthStrong},
	} {
		if got, _ := strengthText(tc.pass); got != tc.want {
			t.Errorf("strengthText(%q): got %q (%.0f bits), want %q", tc.pass, got, strength(tc.pass), tc.want)
		}
	}
}

func TestStrengthMeterFollowsTyping(t *testing.T) {
	h := newHarness(t, filepath.Join(t.TempDir(), "hearth"))
	if got := h.s.meterText.Text; got != textStrengthEmpty {
		t.Fatalf("meter before typing: got %q, want %q", got, textStrengthEmpty)
	}
	test.Type(h.s.pass, "password")
	weak := h.s.meter.Value
	if got := h.s.meterText.Text; got != textStrengthWeak {
		t.Errorf("meter for %q: got %q, want %q", "password", got, textStrengthWeak)
	}
	test.Type(h.s.pass, " quiet place to talk now")
	if got := h.s.meterText.Text; got != textStrengthGood && got != textStrengthStrong {
		t.Errorf("meter for a six-word passphrase: got %q, want good or strong", got)
	}
	if h.s.meter.Value <= weak {
		t.Errorf("meter fill: got %v after more words, want more than %v", h.s.meter.Value, weak)
	}
}
