package main

import (
	"slices"
	"testing"
	"time"
)

// Scenario: the small acts of a circle between real processes. A member
// withdraws a post and it is gone from everyone's read; a member reports a
// post and only the facilitator sees the report; a facilitator promotes a
// member by pseudonym, and the new co-facilitator hides a post for
// everyone; a plain member's attempt to remove someone is refused.
func TestModerationAcrossMembers(t *testing.T) {
	a, b, c, circle := circleOfThree(t)
	everyone := []*testHome{a, b, c}

	gone := c.mustLine("post", "--circle", circle, "I should not have said that")
	kept := c.mustLine("post", "--circle", circle, "a hard week, but here")
	for _, h := range everyone {
		eventually(t, h.name+" reads cal's posts", func() (bool, string) {
			return hasAll(posts(h.readMessages(circle, 50)), []string{"I should not have said that", "a hard week, but here"})
		})
	}

	start := time.Now()
	c.must("retract", "--circle", circle, "--post", gone)
	for _, h := range everyone {
		eventually(t, h.name+" no longer shows the withdrawn post", func() (bool, string) {
			texts := posts(h.readMessages(circle, 50))
			return !slices.Contains(texts, "I should not have said that"), "still there"
		})
	}
	t.Logf("the withdrawn post was gone from every member's read after %v", time.Since(start).Round(time.Millisecond))

	b.must("report", "--circle", circle, "--post", kept, "--reason", "worried about cal")
	eventually(t, "ann, the facilitator, has bea's report", func() (bool, string) {
		rs := decodeLines[reportView](t, a.must("reports", "--circle", circle))
		return len(rs) == 1 && rs[0].Post == kept && rs[0].FromNick == "bea" && rs[0].Reason == "worried about cal", a.must("reports", "--circle", circle)
	})
	wantFailure(t, "cal, not a facilitator, lists reports", c.run("reports", "--circle", circle), exitFailure, "only a facilitator")

	wantFailure(t, "cal, not a facilitator, removes ann", c.run("remove", "--circle", circle, "--member", "ann"),
		exitFailure, "only a facilitator can do this")
	wantFailure(t, "cal, not a facilitator, promotes itself", c.run("promote", "--circle", circle, "--member", "cal"),
		exitFailure, "only a facilitator can do this")

	a.must("promote", "--circle", circle, "--member", "bea")
	for _, h := range everyone {
		eventually(t, h.name+" sees bea as a facilitator", func() (bool, string) {
			for _, m := range h.members(circle) {
				if m.Nick == "bea" {
					return m.Role == "facilitator", m.Role
				}
			}
			return false, "no bea"
		})
	}
	b.must("hide", "--circle", circle, "--post", kept, "--reason", "moved to a private talk")
	for _, h := range everyone {
		eventually(t, h.name+" shows the post as hidden", func() (bool, string) {
			for _, m := range h.readMessages(circle, 50) {
				if m.ID == kept {
					return m.Kind == "hidden", m.Kind + ": " + m.Text
				}
			}
			return false, "post missing"
		})
	}
}
