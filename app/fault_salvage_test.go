package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// failingWriter fails every write, as a full disk would.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no room") }

// Salvage writes every message of the vault, oldest first, with the
// circle's name and the authors' nicknames; a failing writer is an error.
func TestSalvageExportsEveryMessage(t *testing.T) {
	_, v := createTestVault(t)
	h, err := New(v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := h.CreateCircle(ctx, "kept safe", "ash")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := h.Post(ctx, id, PostOptions{Text: fmt.Sprint("post ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	h.Close()
	var out bytes.Buffer
	rep, err := Salvage(v, &out)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for line := range strings.Lines(out.String()) {
		var m SalvagedMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m.Kind == "post" {
			if m.Nick != "ash" || m.CircleName != "kept safe" || m.Circle != id.String() {
				t.Errorf("got %+v, want nick ash in circle %q", m, "kept safe")
			}
			texts = append(texts, m.Text)
		}
	}
	if len(texts) != 10 || texts[0] != "post 0" || texts[9] != "post 9" {
		t.Fatalf("got posts %q, want post 0 to post 9 in order", texts)
	}
	if rep.Circles != 1 || rep.Messages < 10 || rep.Skipped != 0 || len(rep.Failed) != 0 {
		t.Fatalf("got report %+v", rep)
	}
	if _, err := Salvage(v, failingWriter{}); err == nil {
		t.Fatal("a failing writer: got nil error")
	}
}
