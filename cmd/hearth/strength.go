package main

import (
	"math"
	"strings"
	"unicode"
)

// Strength names, shown under a new passphrase.
const (
	textStrengthEmpty  = "Strength: type a passphrase"
	textStrengthWeak   = "Strength: weak — a few more words would help"
	textStrengthFair   = "Strength: fair — one or two more words would help"
	textStrengthGood   = "Strength: good"
	textStrengthStrong = "Strength: strong"
)

// strength estimates a passphrase's guessing resistance in bits, roughly:
// three or more words count as picks from a list of about 2,000 words;
// otherwise each character counts by the classes it draws from, repeated
// characters once. It is a guide for the member, not a
// promise.
func strength(pass string) float64 {
	if pass == "" {
		return 0
	}
	if words := strings.Fields(pass); len(words) >= 3 {
		bits := 0.0
		seen := map[string]bool{}
		for _, w := range words {
			if !seen[strings.ToLower(w)] {
				seen[strings.ToLower(w)] = true
				bits += 11 // a word from a list of about 2,000
			}
		}
		return bits
	}
	var lower, upper, digit, other bool
	distinct := map[rune]bool{}
	for _, r := range pass {
		distinct[r] = true
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	pool := 0
	for _, c := range []struct {
		on   bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 33}} {
		if c.on {
			pool += c.size
		}
	}
	// People choose characters in patterns, not at random: count each for
	// a little over half of what a random one would be worth.
	return 0.6 * float64(len(distinct)) * math.Log2(float64(pool))
}

// strengthText is the meter's words and its fill (0 to 1) for pass.
func strengthText(pass string) (string, float64) {
	bits := strength(pass)
	fill := min(bits/80, 1)
	switch {
	case pass == "":
		return textStrengthEmpty, 0
	case bits < 40:
		return textStrengthWeak, fill
	case bits < 52:
		return textStrengthFair, fill
	case bits < 64:
		return textStrengthGood, fill
	}
	return textStrengthStrong, fill
}
