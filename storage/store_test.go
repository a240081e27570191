package storage

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReopenKeepsEverything(t *testing.T) {
	home := t.TempDir()
	s := openStore(t, home)
	must(t, s.AddCircle(circleA))
	must(t, s.AddCircle(circleB))
	must(t, s.AddEpoch(circleA, 1, key32(1), key32(101)))
	must(t, s.AddEpoch(circleA, 2, key32(2), key32(102)))
	for seq := uint64(1); seq <= 5; seq++ {
		appendOK(t, s, circleA, entry(alice, seq))
	}
	mailbox := Entry{Author: bob, Seq: 1, Epoch: 2, Envelope: env(bob, 1, 0)} // no record
	appendOK(t, s, circleA, mailbox)
	appendOK(t, s, circleA, Entry{Author: bob, Seq: 3, Epoch: 2, Envelope: env(bob, 3, 0), Record: rec(bob, 3), Lamport: 7, Durable: true})
	if _, err := s.Append(circleA, Entry{Author: alice, Seq: 2, Epoch: 1, Envelope: env(alice, 2, 1)}); !errors.Is(err, ErrEquivocation) {
		t.Fatalf("equivocating Append: got %v, want ErrEquivocation", err)
	}
	must(t, s.Put(circleA, "roster", []byte("m1"), []byte("member one"), true))
	must(t, s.Put(circleB, "settings", []byte("name"), []byte("circle b"), false))
	must(t, s.PutGlobal([]byte("theme"), []byte("dark")))
	must(t, s.Close())

	s = openStore(t, home)
	defer s.Close()

	circles, err := s.Circles()
	must(t, err)
	if want := [][16]byte{circleA, circleB}; !slices.Equal(circles, want) {
		t.Errorf("Circles: got %x, want %x", circles, want)
	}
	epochs, err := s.Epochs(circleA)
	must(t, err)
	if want := []uint64{1, 2}; !slices.Equal(epochs, want) {
		t.Errorf("Epochs: got %v, want %v", epochs, want)
	}
	sec, err := s.Epoch(circleA, 2)
	must(t, err)
	if sec != key32(2) {
		t.Errorf("Epoch(2): got %x, want %x", sec, key32(2))
	}
	hw, err := s.HighWater(circleA)
	must(t, err)
	if hw[alice] != 5 || hw[bob] != 1 || len(hw) != 2 {
		t.Errorf("HighWater: got %v, want alice 5, bob 1", hw)
	}
	envs, err := s.Envelopes(circleA, alice, 0, 100)
	must(t, err)
	if len(envs) != 5 {
		t.Fatalf("Envelopes: got %d, want 5", len(envs))
	}
	for i, e := range envs {
		if want := env(alice, uint64(i+1), 0); !bytes.Equal(e, want) {
			t.Errorf("envelope %d: got %q, want %q", i+1, e, want)
		}
	}
	items, err := s.Latest(circleA, nil, 100)
	must(t, err)
	if len(items) != 6 {
		t.Fatalf("Latest: got %d items, want 6", len(items))
	}
	if got, want := items[0].Record, rec(alice, 5); !bytes.Equal(got, want) {
		t.Errorf("newest record: got %q, want %q", got, want)
	}
	if got := items[len(items)-1]; got.Author != bob || got.Seq != 3 || got.Epoch != 2 || got.Lamport != 7 {
		t.Errorf("oldest item: got %+v, want bob seq 3 epoch 2 lamport 7", got)
	}
	eqs, err := s.Equivocations(circleA)
	must(t, err)
	if len(eqs) != 1 || eqs[0].Seq != 2 || !bytes.Equal(eqs[0].Kept, env(alice, 2, 0)) || !bytes.Equal(eqs[0].Conflicting, env(alice, 2, 1)) {
		t.Errorf("Equivocations: got %+v, want one for alice seq 2", eqs)
	}
	v, err := s.Get(circleA, "roster", []byte("m1"))
	must(t, err)
	if string(v) != "member one" {
		t.Errorf("Get roster: got %q, want %q", v, "member one")
	}
	v, err = s.Get(circleB, "settings", []byte("name"))
	must(t, err)
	if string(v) != "circle b" {
		t.Errorf("Get settings: got %q, want %q", v, "circle b")
	}
	v, err = s.GetGlobal([]byte("theme"))
	must(t, err)
	if string(v) != "dark" {
		t.Errorf("GetGlobal: got %q, want %q", v, "dark")
	}
	n, err := s.Count(circleA)
	must(t, err)
	if n != 7 {
		t.Errorf("Count: got %d, want 7", n)
	}
}

func TestCloseIdempotentAndErrClosed(t *testing.T) {
	s, _ := newStore(t)
	must(t, s.Close())
	must(t, s.Close())
	calls := map[string]func() error{
		"Append":    func() error { _, err := s.Append(circleA, entry(alice, 1)); return err },
		"Latest":    func() error { _, err := s.Latest(circleA, nil, 1); return err },
		"HighWater": func() error { _, err := s.HighWater(circleA); return err },
		"AddCircle": func() error { return s.AddCircle(circleB) },
		"Circles":   func() error { _, err := s.Circles(); return err },
		"Get":       func() error { _, err := s.Get(circleA, "b", []byte("k")); return err },
		"PutGlobal": func() error { return s.PutGlobal([]byte("k"), nil) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
}

func TestOpenWrongKey(t *testing.T) {
	home := t.TempDir()
	s := openStore(t, home)
	must(t, s.AddCircle(circleA))
	must(t, s.Close())
	other := testKey
	other[0] ^= 1
	s2, err := Open(home, other, Options{})
	if !errors.Is(err, ErrWrongKey) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open with another key: got %v, want ErrWrongKey", err)
	}
	// The right key still opens it afterwards.
	s = openStore(t, home)
	must(t, s.Close())
}

func TestOpenInUseSameProcess(t *testing.T) {
	s, home := newStore(t)
	s2, err := Open(home, testKey, Options{})
	if !errors.Is(err, ErrInUse) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("second Open: got %v, want ErrInUse", err)
	}
	if got := err.Error(); !strings.Contains(got, "this vault is open in another Hearth") {
		t.Errorf("message: got %q, want it to say the vault is open in another Hearth", got)
	}
	// The first store is unaffected, and after it closes the home opens again.
	appendOK(t, s, circleA, entry(alice, 1))
	must(t, s.Close())
	s3 := openStore(t, home)
	must(t, s3.Close())
}

func TestOpenInUseOtherProcess(t *testing.T) {
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+home)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child process: got %v, want clean exit", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("child process said %q (%v), want \"ready\"", line, err)
	}
	s, err := Open(home, testKey, Options{})
	if !errors.Is(err, ErrInUse) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open while another process holds it: got %v, want ErrInUse", err)
	}
}

func TestKeyringFileIsSealed(t *testing.T) {
	s, home := newStore(t)
	must(t, s.Close())
	b, err := os.ReadFile(filepath.Join(home, keyringName))
	must(t, err)
	for _, secret := range [][32]byte{key32(1), key32(2), key32(101), key32(102)} {
		if bytes.Contains(b, secret[:8]) {
			t.Errorf("keyring file contains epoch key material in the clear")
		}
	}
	if !bytes.HasPrefix(b, []byte(keyringMagic)) {
		t.Errorf("keyring file starts with %q, want magic %q", b[:8], keyringMagic)
	}
}
