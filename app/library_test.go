package app

import (
	"context"
	"errors"
	"testing"
)

func TestLibraryAndPackExport(t *testing.T) {
	ctx := context.Background()
	id, a, b, _ := circleOfThree(t)
	if _, err := b.h.AddResource(ctx, id, ResourceOptions{Title: "x"}); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member adds a resource: got %v, want ErrNotFacilitator", err)
	}
	if _, err := a.h.AddResource(ctx, id, ResourceOptions{Title: "Crisis lines", Text: "Call your local number.", Link: "https://example.org/help"}); err != nil {
		t.Fatal(err)
	}
	shared, err := b.h.Post(ctx, id, PostOptions{Text: "What helped me sleep\nwarm milk", Scope: ScopeResource})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.Post(ctx, id, PostOptions{Text: "for later members", Scope: ScopeFuture}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.Post(ctx, id, PostOptions{Text: "just us"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the library at A", func() bool {
		lib, err := a.h.Library(id)
		return err == nil && len(lib) == 2
	})
	lib, _ := a.h.Library(id)
	titles := map[string]bool{}
	for _, r := range lib {
		titles[r.Title] = true
	}
	if !titles["Crisis lines"] || !titles["What helped me sleep"] {
		t.Fatalf("got library %+v, want the resource and the shared post", lib)
	}

	waitFor(t, "B's posts at A", func() bool { return findPost(t, a, id, "just us") != nil })
	file, err := a.h.ExportPack(id, []byte("told in person"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.h.ExportPack(id, []byte("told in person")); !errors.Is(err, ErrNotFacilitator) {
		t.Fatalf("member exports: got %v, want ErrNotFacilitator", err)
	}
	if _, err := OpenPack(file, []byte("a wrong guess")); !errors.Is(err, ErrPackPassphrase) {
		t.Fatalf("wrong passphrase: got %v, want ErrPackPassphrase", err)
	}
	bad := append([]byte(nil), file...)
	bad[len(bad)-20] ^= 1
	if _, err := OpenPack(bad, []byte("told in person")); err == nil {
		t.Fatal("a tampered pack opened")
	}
	p, err := OpenPack(file, []byte("told in person"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, it := range p.Items {
		got[it.Text] = true
	}
	if p.Circle != id || !got["Call your local number."] || !got["What helped me sleep\nwarm milk"] || !got["for later members"] || got["just us"] {
		t.Fatalf("got pack %+v; want the consented items only", p)
	}
	// Withdrawing a shared post takes it out of the library.
	if err := b.h.Retract(ctx, id, shared.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the library without the withdrawn post", func() bool {
		lib, _ := a.h.Library(id)
		return len(lib) == 1
	})
}

func FuzzOpenPack(f *testing.F) {
	f.Add([]byte(packMagic))
	f.Add(append([]byte(packMagic), make([]byte, 200)...))
	f.Add([]byte("not a pack"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := OpenPack(b, []byte("a passphrase"))
		if err == nil && p == nil {
			t.Fatal("no pack and no error")
		}
	})
}
