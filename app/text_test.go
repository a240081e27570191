package app

import (
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ash", "ash"},
		{"\u202Eevil\u202C", "evil"},
		{"zero\u200Bwidth", "zerowidth"},
		{"  lots   of\tspace ", "lots of space"},
		{"bell\a", "bell"},
		{strings.Repeat("x", 1<<20), strings.Repeat("x", maxShownName)},
		{"bad\xffutf8", "badutf8"},
	}
	for _, tt := range tests {
		if got := cleanName(tt.in); got != tt.want {
			t.Errorf("cleanName(%q): got %q, want %q", tt.in[:min(len(tt.in), 20)], got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"line one\nline two", "line one\nline two"},
		{"abc\u202Edef", "abcdef"},
		{"family \U0001F468\u200D\U0001F469", "family \U0001F468\u200D\U0001F469"},
		{"nul\x00here", "nulhere"},
	}
	for _, tt := range tests {
		if got := cleanText(tt.in); got != tt.want {
			t.Errorf("cleanText(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := cleanText(strings.Repeat("y", 1<<20)); len(got) != maxShownText {
		t.Errorf("a 1 MB line: got %d bytes, want %d", len(got), maxShownText)
	}
}

func FuzzCleanText(f *testing.F) {
	f.Add("a\u202Eb\n")
	f.Add("plain words,\ttabs and\nlines ~")
	f.Add("del\x7f")
	f.Add("nul\x00")
	f.Fuzz(func(t *testing.T, s string) {
		out := cleanText(s)
		if want := dropUnsafe(s[:min(len(s), maxShownText)]); out != want {
			t.Fatalf("cleanText(%q) = %q, the full check gives %q", s, out, want)
		}
		if len(out) > maxShownText {
			t.Fatalf("got %d bytes", len(out))
		}
		for _, r := range out {
			if isBidiControl(r) || r < 0x20 && r != '\n' && r != '\t' {
				t.Fatalf("kept %U", r)
			}
		}
		n := cleanName(s)
		if len(n) > maxShownName || strings.ContainsAny(n, "\u202E\u200B") {
			t.Fatalf("name %q", n)
		}
	})
}
