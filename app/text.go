package app

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what is shown of text other members wrote.
const (
	maxShownName = 64
	maxShownText = maxPostText
)

// cleanName makes a pseudonym or circle name safe to show: no control or
// format characters (bidi overrides, zero-width characters), no runs of
// spaces, at most maxShownName bytes. Names come from other members and are
// normalised where they are shown, whatever their author's app did.
func cleanName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r == utf8.RuneError, unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r):
			continue
		}
		need := utf8.RuneLen(r)
		if space {
			need++
		}
		if b.Len()+need > maxShownName {
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cleanText makes a post safe to show: bidi embeddings, overrides and
// isolates and control characters other than newline and tab are dropped
// (zero-width joiners stay: emoji need them), and the text is bounded.
func cleanText(s string) string {
	if len(s) > maxShownText {
		s = s[:maxShownText]
	}
	if plainText(s) {
		return s // most posts: nothing to drop, and no rune cut in two
	}
	return dropUnsafe(s)
}

// plainText reports whether s is printable ASCII, newlines and tabs only,
// which cleanText keeps as they are.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf-1 || c < ' ' && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}

// dropUnsafe is cleanText's work on text of any kind: invalid UTF-8, bidi
// controls and control characters other than newline and tab are dropped.
func dropUnsafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == utf8.RuneError, unicode.Is(unicode.Cc, r), isBidiControl(r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}
