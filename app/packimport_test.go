package app

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/envelope"
	"github.com/hearth-circles/hearth/storage"
)

const packPass = "told in person"

func packTexts(t *testing.T, h *Hearth, id CircleID) map[string]bool {
	t.Helper()
	p, err := h.PackLibrary(id)
	if err != nil {
		t.Fatalf("PackLibrary: %v", err)
	}
	got := map[string]bool{}
	for _, r := range p.Items {
		got[r.Text] = true
	}
	return got
}

func TestImportPack(t *testing.T) {
	ctx := context.Background()
	a, newcomer := newMember(t), newMember(t)
	id, err := a.h.CreateCircle(ctx, "Tuesday evening", "ash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.h.AddResource(ctx, id, ResourceOptions{Title: "Crisis lines", Text: "Call your local number."}); err != nil {
		t.Fatal(err)
	}
	later, err := a.h.Post(ctx, id, PostOptions{Text: "for later members", Scope: ScopeFuture})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.h.Post(ctx, id, PostOptions{Text: "just us"}); err != nil {
		t.Fatal(err)
	}
	file, err := a.h.ExportPack(id, []byte(packPass))
	if err != nil {
		t.Fatal(err)
	}

	if _, err := newcomer.h.ImportPack(file, []byte("a wrong guess")); !errors.Is(err, ErrPackPassphrase) {
		t.Fatalf("wrong passphrase: got %v, want ErrPackPassphrase", err)
	}
	if packs, _ := newcomer.h.Packs(); len(packs) != 0 {
		t.Fatalf("packs after a failed import: got %d, want 0", len(packs))
	}
	res, err := newcomer.h.ImportPack(file, []byte(packPass))
	if err != nil {
		t.Fatal(err)
	}
	if res.Circle != id || res.Name != "Tuesday evening" || res.Added != 2 || res.Stale {
		t.Fatalf("first import: got %+v, want 2 items added of %s", res, id)
	}
	got := packTexts(t, newcomer.h, id)
	if !got["Call your local number."] || !got["for later members"] || got["just us"] {
		t.Fatalf("kept pack: got %v, want the consented items only", got)
	}

	// The same file again changes nothing.
	again, err := newcomer.h.ImportPack(file, []byte(packPass))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Stale || again.Added != 0 || again.Items != 2 {
		t.Errorf("re-import: got %+v, want stale with 2 items", again)
	}
	packs, err := newcomer.h.Packs()
	if err != nil || len(packs) != 1 || packs[0].Items != 2 {
		t.Fatalf("packs after re-import: got %+v, %v; want one of 2 items", packs, err)
	}

	// The pack survives locking and unlocking the vault.
	newcomer.stop()
	newcomer.restart()
	if got := packTexts(t, newcomer.h, id); len(got) != 2 {
		t.Fatalf("after unlock: got %v, want 2 items", got)
	}

	// A pack exported after its author withdrew a post replaces the kept
	// one; importing the older file afterwards changes nothing.
	if err := a.h.Retract(ctx, id, later.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // a later export time, to the millisecond
	newer, err := a.h.ExportPack(id, []byte(packPass))
	if err != nil {
		t.Fatal(err)
	}
	res, err = newcomer.h.ImportPack(newer, []byte(packPass))
	if err != nil {
		t.Fatal(err)
	}
	if res.Withdrawn != 1 || res.Added != 0 || res.Items != 1 {
		t.Fatalf("newer pack: got %+v, want 1 withdrawn, 1 kept", res)
	}
	if res, err := newcomer.h.ImportPack(file, []byte(packPass)); err != nil || !res.Stale {
		t.Fatalf("older pack after a newer one: got %+v, %v; want stale", res, err)
	}
	if got := packTexts(t, newcomer.h, id); got["for later members"] || !got["Call your local number."] {
		t.Fatalf("after the newer pack: got %v, want the withdrawn post gone", got)
	}

	if err := newcomer.h.ForgetPack(id); err != nil {
		t.Fatal(err)
	}
	if _, err := newcomer.h.PackLibrary(id); !errors.Is(err, ErrNoPack) {
		t.Errorf("after ForgetPack: got %v, want ErrNoPack", err)
	}
	if packs, _ := newcomer.h.Packs(); len(packs) != 0 {
		t.Errorf("packs after ForgetPack: got %d, want 0", len(packs))
	}
}

// A pack whose file holds a forged item and one its author kept to the
// circle: only the honest, consented item is stored.
func TestImportPackKeepsOnlyVerifiedConsented(t *testing.T) {
	ctx := context.Background()
	a, newcomer := newMember(t), newMember(t)
	id, err := a.h.CreateCircle(ctx, "Tuesday evening", "ash")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []PostOptions{
		{Text: "for later members", Scope: ScopeFuture},
		{Text: "just us"},
		{Text: "forged later", Scope: ScopeResource},
	} {
		if _, err := a.h.Post(ctx, id, p); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := a.h.circle(id)
	c.mu.Lock()
	items, err := c.consentedLocked(envelope.Scope_SCOPE_CIRCLE) // everything, unconsented too
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	pf := &record.PackFile{Circle: id[:], Name: "Tuesday evening", ExportedMs: time.Now().UnixMilli()}
	for _, it := range items {
		s := &envelope.Signed{Record: it.Record}
		rec, _ := s.Decode()
		if rec.Kind != envelope.Kind_KIND_POST {
			continue
		}
		if rec.Scope == envelope.Scope_SCOPE_RESOURCE {
			it.Signature[0] ^= 1 // forged
		}
		pf.Items = append(pf.Items, it, it) // twice: kept once
	}
	file, err := sealPack(pf, []byte(packPass))
	if err != nil {
		t.Fatal(err)
	}
	res, err := newcomer.h.ImportPack(file, []byte(packPass))
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != 1 {
		t.Fatalf("import: got %d items kept, want 1", res.Items)
	}
	if got := packTexts(t, newcomer.h, id); len(got) != 1 || !got["for later members"] {
		t.Fatalf("kept pack: got %v, want only the honest consented post", got)
	}
}

// TestPackChunksStayInTree: a pack is kept in chunks below the value size
// from which the store would put them in its value log, where a withdrawn
// item would stay on disk; and it reads back whole, also when its items
// are as large as records may be, one to a chunk.
func TestPackChunksStayInTree(t *testing.T) {
	m := newMember(t)
	limit := storage.ValueThreshold(storage.SmallMemTableSize)
	for _, tc := range []struct {
		name  string
		items int
		size  func(i int) int
	}{
		{"small items", 300, func(i int) int { return 4000 + i*20 }},
		{"largest items", 200, func(int) int { return envelope.MaxRecordSize }},
	} {
		id := CircleID{1, 2, byte(tc.items)}
		items := make([]*record.WelcomeItem, tc.items)
		for i := range items {
			items[i] = &record.WelcomeItem{Epoch: 1, Author: id[:], Seq: uint64(i + 1), Record: bytes.Repeat([]byte{byte(i)}, tc.size(i)),
				Signature: make([]byte, 64), SignKey: make([]byte, 32)}
		}
		if err := m.h.savePack(&record.PackFile{Circle: id[:], Name: "big", ExportedMs: 1}, items, nil); err != nil {
			t.Fatal(err)
		}
		chunks := 0
		for n := 0; ; n++ {
			b, err := m.h.store.GetGlobal(packChunkKey(id, n))
			if errors.Is(err, storage.ErrNotFound) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			chunks++
			// A global is stored behind one byte of its own.
			if int64(len(b))+1 >= limit {
				t.Errorf("%s: chunk %d: %d bytes stored, want under the value threshold %d", tc.name, n, len(b)+1, limit)
			}
		}
		_, got, err := m.h.loadPack(id)
		if err != nil || len(got) != len(items) || chunks < 2 {
			t.Fatalf("%s: pack read back: %d items in %d chunks (%v), want %d in several", tc.name, len(got), chunks, err, len(items))
		}
	}
}
