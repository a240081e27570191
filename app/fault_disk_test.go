//go:build linux

package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// diskFullHomeEnv, when set, makes TestFaultDiskFull the child that fills
// the disk holding that home.
const diskFullHomeEnv = "HEARTH_TEST_DISK_FULL_HOME"

// A disk that fills up: posting fails with a clear error naming the full
// disk, and once there is room again every post that was acknowledged is
// there and the vault opens. The filling runs in a child process, so that a
// crash (Badger maps its files, and a write to a mapped page of a full
// tmpfs is a SIGBUS) is seen as a failure rather than ending the test run.
func TestFaultDiskFull(t *testing.T) {
	if home := os.Getenv(diskFullHomeEnv); home != "" {
		fillDisk(home)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a small tmpfs needs root")
	}
	// The store refuses writes with less than 64 MiB free (see
	// storage.ErrDiskFull): 88 MiB leaves room for a few hundred posts.
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=88m,mode=0700"); err != nil {
		t.Skipf("skipped: cannot mount a tmpfs: %v", err)
	}
	mounted := true
	t.Cleanup(func() {
		if mounted {
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	home := filepath.Join(dir, "home")

	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultDiskFull$", "-test.count=1")
	cmd.Env = append(os.Environ(), diskFullHomeEnv+"="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var acked []string
	var postErr string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "acked "):
			acked = append(acked, strings.TrimPrefix(line, "acked "))
		case strings.HasPrefix(line, "error "):
			postErr = strings.TrimPrefix(line, "error ")
		}
	}
	if runErr != nil {
		t.Fatalf("the child filling the disk failed (%v) after %d posts; last error %q; stderr:\n%s",
			runErr, len(acked), postErr, tail(stderr.String(), 2000))
	}
	t.Logf("%d posts acknowledged; then: %s", len(acked), postErr)
	if len(acked) == 0 {
		t.Fatal("no post was stored before the disk filled")
	}
	if !strings.Contains(postErr, "ENOSPC") || !strings.Contains(postErr, "disk is full") {
		t.Errorf("the error when the disk filled: got %q, want one that says the disk is full (and wraps ENOSPC)", postErr)
	}

	// Room again: a bigger mount of the same tmpfs keeps its files.
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=256m,mode=0700"); err != nil {
		t.Fatalf("remount bigger: %v", err)
	}
	v, err := UnlockVault(home, []byte(testPass))
	if err != nil {
		t.Fatalf("unlock after the disk filled: %v", err)
	}
	defer v.Close()
	h, err := New(v, Options{})
	if err != nil {
		t.Fatalf("load after the disk filled: %v", err)
	}
	defer h.Close()
	cs := h.Circles()
	if len(cs) != 1 {
		t.Fatalf("got %d circles, want 1", len(cs))
	}
	msgs, err := h.History(cs[0].ID, "", 10_000)
	if err != nil {
		t.Fatalf("history after the disk filled: %v", err)
	}
	have := map[string]bool{}
	for _, m := range msgs {
		have[m.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Fatalf("acknowledged post %s lost (%d of %d in the history)", id, len(msgs), len(acked))
		}
	}
	if _, err := h.Post(context.Background(), cs[0].ID, PostOptions{Text: "room again"}); err != nil {
		t.Fatalf("post once there is room: %v", err)
	}
	h.Close()
	v.Close()
	if err := syscall.Unmount(dir, 0); err != nil {
		t.Fatalf("unmount: %v", err)
	}
	mounted = false
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// fillDisk is the child's side: a vault and a circle in home, then posts of
// 16 KiB until one fails. It prints "acked ID" for each stored post and
// "error ..." for the failure, with the error's words and whether it wraps
// ENOSPC.
func fillDisk(home string) {
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "child: %s: %v\n", what, err)
		os.Exit(2)
	}
	v, err := CreateVaultWithParams(home, []byte(testPass), fastKDF)
	if err != nil {
		fail("create vault", err)
	}
	h, err := New(v, Options{})
	if err != nil {
		fail("new", err)
	}
	ctx := context.Background()
	id, err := h.CreateCircle(ctx, "full disk", "ash")
	if err != nil {
		fail("create circle", err)
	}
	text := strings.Repeat("words that fill the disk ", 16<<10/25)
	for i := range 100_000 {
		m, err := h.Post(ctx, id, PostOptions{Text: fmt.Sprint(i, text)})
		if err != nil {
			tag := ""
			if errors.Is(err, syscall.ENOSPC) {
				tag = " [ENOSPC]"
			}
			fmt.Printf("error %v%s\n", err, tag)
			break
		}
		fmt.Printf("acked %s\n", m.ID)
	}
	h.Close()
	v.Close()
}
