package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxNameRunes bounds a nick or circle name in plain output.
const maxNameRunes = 64

// writeJSONLines writes each item as one JSON object on its own line.
func writeJSONLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

// writeCircles writes circles as a table for people.
func writeCircles(w io.Writer, cs []circleView) error {
	if len(cs) == 0 {
		_, err := fmt.Fprintln(w, "no circles yet (create one with: hearthd circle create, or join one)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tNICK\tROLE\tMEMBERS\tONLINE")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n",
			c.ID, safeName(c.Name), safeName(c.Nick), c.Role, c.Members, c.Online)
	}
	return tw.Flush()
}

// writeMembers writes a circle's members as a table for people.
func writeMembers(w io.Writer, ms []memberView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NICK\tID\tROLE\tONLINE\t")
	for _, m := range ms {
		online := "no"
		if m.Online {
			online = "yes"
		}
		self := ""
		if m.Self {
			self = "(you)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", safeName(m.Nick), m.ID, m.Role, online, self)
	}
	return tw.Flush()
}

// writeMessages writes messages for people, one per line (a post's own
// line breaks become indented lines), in local time.
func writeMessages(w io.Writer, ms []messageView) error {
	for _, m := range ms {
		if _, err := io.WriteString(w, formatMessage(m)); err != nil {
			return err
		}
	}
	return nil
}

// formatMessage renders one message as it appears in read's plain output.
func formatMessage(m messageView) string {
	var b strings.Builder
	when := m.SentAt
	if t, err := time.Parse(time.RFC3339Nano, m.SentAt); err == nil {
		when = t.Local().Format("2006-01-02 15:04")
	}
	b.WriteString(when)
	b.WriteString("  ")
	nick := safeName(m.Author)
	if m.Kind == "joined" && m.Text != "" {
		// The record is the admitting member's; its text is the newcomer.
		fmt.Fprintf(&b, "* %s joined\n", safeName(m.Text))
		return b.String()
	}
	if m.Kind != "post" {
		fmt.Fprintf(&b, "* %s %s", nick, safeName(m.Kind))
		if m.Text != "" {
			b.WriteString(": ")
			b.WriteString(indentLines(safeText(m.Text)))
		}
		b.WriteString("\n")
		return b.String()
	}
	b.WriteString(nick)
	if m.Scope != "" && m.Scope != "circle" {
		fmt.Fprintf(&b, " [%s]", m.Scope)
	}
	b.WriteString(": ")
	if m.CW != "" {
		fmt.Fprintf(&b, "[cw: %s] ", safeName(m.CW))
	}
	b.WriteString(indentLines(safeText(m.Text)))
	b.WriteString("\n")
	return b.String()
}

func indentLines(s string) string {
	return strings.ReplaceAll(s, "\n", "\n    ")
}

// safeName renders a name on one line for a terminal: controls and
// invisible characters shown as escapes, at most maxNameRunes runes.
func safeName(s string) string {
	s = safeText(strings.ReplaceAll(s, "\n", " "))
	if utf8.RuneCountInString(s) > maxNameRunes {
		r := []rune(s)
		s = string(r[:maxNameRunes-1]) + "…"
	}
	return s
}

// safeText renders text for a terminal. A terminal obeys escape sequences
// and bidirectional overrides written to it, so a post could otherwise
// rewrite the screen or disguise what it says: every control, format
// (bidi, zero-width) and invalid character except the line break is shown
// as a visible escape such as \x1b or \u202e.
func safeText(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || (r != '\n' && shown(r) != "") {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteRune(r)
		case shown(r) != "":
			b.WriteString(shown(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// shown is the escape for a rune a terminal must not receive raw, or "".
func shown(r rune) string {
	switch {
	case r == '\t':
		return " "
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf(`\x%02x`, r)
	case r >= 0x80 && r < 0xa0:
		return fmt.Sprintf(`\u%04x`, r)
	case unicode.Is(unicode.Cf, r), r == 0x2028, r == 0x2029:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return ""
}
