package main

import (
	"fmt"
	"maps"
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

// Scenario: consent scopes between real processes. A newcomer's read shows
// exactly the posts from before it joined whose authors let later members
// see them (scope future or resource), with their authors; nothing scoped
// to the circle of the time, nothing withdrawn, nothing narrowed since.
func TestNewcomerReadsOnlyConsentedPosts(t *testing.T) {
	a, b := initHome(t, "a"), initHome(t, "b")
	a.startServe()
	circle := a.mustLine("circle", "create", "--name", "Grief circle", "--nick", "ann")
	code := a.mustLine("invite", "--circle", circle)
	b.startServe()
	b.mustLine("join", "--nick", "bea", code)
	converge(t, circle, a, b)

	a.mustLine("post", "--circle", circle, "only for us tonight")
	a.mustLine("post", "--circle", circle, "--scope", "future", "welcome, whoever comes next")
	a.mustLine("post", "--circle", circle, "--scope", "resource", "the breathing exercise I use")
	b.mustLine("post", "--circle", circle, "--scope", "future", "it gets lighter, slowly")
	narrowed := b.mustLine("post", "--circle", circle, "--scope", "future", "I changed my mind about this one")
	withdrawn := a.mustLine("post", "--circle", circle, "--scope", "resource", "a link I should not share")
	b.mustLine("post", "--circle", circle, "bea, just to the two of you")
	b.must("rescope", "--circle", circle, "--post", narrowed, "--scope", "circle")
	a.must("retract", "--circle", circle, "--post", withdrawn)
	eventually(t, "ann has all of bea's posts and acts", func() (bool, string) {
		return hasAll(posts(a.readMessages(circle, 50)), []string{"it gets lighter, slowly", "bea, just to the two of you"})
	})

	c := initHome(t, "c")
	c.startServe()
	c.mustLine("join", "--nick", "cal", a.mustLine("invite", "--circle", circle))
	want := map[string]string{
		"welcome, whoever comes next":  "ann",
		"the breathing exercise I use": "ann",
		"it gets lighter, slowly":      "bea",
	}
	eventually(t, "cal reads exactly the consented posts", func() (bool, string) {
		got := map[string]string{}
		for _, m := range c.readMessages(circle, 100) {
			if m.Kind == "post" {
				got[m.Text] = m.Author
			}
		}
		return maps.Equal(got, want), fmt.Sprintf("%v", got)
	})
	// Nothing else arrives later: sync has had its chance.
	time.Sleep(3 * time.Second)
	for _, m := range c.readMessages(circle, 100) {
		if m.Kind == "post" && want[m.Text] != m.Author {
			t.Errorf("cal reads %q by %s, which it must not", m.Text, m.Author)
		}
	}
	// After joining, cal reads what is posted to the circle of now.
	a.mustLine("post", "--circle", circle, "hello cal")
	eventually(t, "cal reads a post made after it joined", func() (bool, string) {
		return hasAll(posts(c.readMessages(circle, 100)), []string{"hello cal"})
	})
}
