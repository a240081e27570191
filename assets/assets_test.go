package assets

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

func TestIcon(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(Icon))
	if err != nil {
		t.Fatalf("decode icon: %v", err)
	}
	if got, want := img.Bounds().Size().X, 512; got != want {
		t.Errorf("icon width: got %d, want %d", got, want)
	}
	if got, want := img.Bounds().Size().Y, 512; got != want {
		t.Errorf("icon height: got %d, want %d", got, want)
	}
	// The corners are outside the rounded square: transparent.
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("icon corner alpha: got %d, want 0", a)
	}
	// The centre is the flame: opaque.
	if _, _, _, a := img.At(256, 300).RGBA(); a != 0xffff {
		t.Errorf("icon centre alpha: got %d, want %d", a, 0xffff)
	}
}

func TestGuidelines(t *testing.T) {
	for _, want := range []string{
		"stays here",
		"your own experience",
		"No advice unless",
		"content warning",
		"No screenshots",
		"pseudonyms",
		"Facilitators may hide posts",
		"emergency",
	} {
		if !strings.Contains(Guidelines, want) {
			t.Errorf("guidelines: got no mention of %q, want one", want)
		}
	}
}
