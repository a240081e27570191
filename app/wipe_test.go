package app

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// After a panic wipe nothing in the home can be decrypted, even with the
// passphrase and even if the store's files linger.
func TestWipe(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	v, err := CreateVaultWithParams(home, []byte(testPass), fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := h.CreateCircle(ctx, "private", "ash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Post(ctx, id, PostOptions{Text: "something only we know"}); err != nil {
		t.Fatal(err)
	}
	h.Close()
	// What an attacker might recover of the store's blocks later.
	lingering := t.TempDir()
	if err := os.CopyFS(lingering, os.DirFS(filepath.Join(home, storeDirName))); err != nil {
		t.Fatal(err)
	}
	if err := v.Wipe(); err != nil {
		t.Fatal(err)
	}
	var left []string
	filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("got files left after the wipe: %v", left)
	}
	if err := os.CopyFS(filepath.Join(home, storeDirName), os.DirFS(lingering)); err != nil {
		t.Fatal(err)
	}
	if _, err := UnlockVault(home, []byte(testPass)); !errors.Is(err, ErrNoVault) {
		t.Fatalf("unlock after the wipe: got %v, want ErrNoVault", err)
	}
}
