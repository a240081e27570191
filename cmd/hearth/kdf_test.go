package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/hearth-circles/hearth/crypto/vault"
)

// TestMain lets the test binary stand in for hearth as the key derivation
// child, as os.Executable names it.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == kdfChildArg {
		os.Exit(kdfChild(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func TestChildKDF(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable to run as the child:", err)
	}
	pass, salt := []byte("a quiet evening, ünïcode too"), bytes.Repeat([]byte{7}, 16)
	want, err := vault.Argon2id(pass, salt, cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	got, err := deriveInChild(exe, pass, salt, cheapParams)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("key from the child: got (%x, %v), want (%x, nil)", got, err, want)
	}
	got, err = childKDF(pass, salt, cheapParams)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("childKDF: got (%x, %v), want (%x, nil)", got, err, want)
	}
	// The child refuses what a header may not hold, and says why.
	small := vault.Params{Time: 1, MemoryKiB: 1024, Threads: 1}
	if _, err := deriveInChild(exe, pass, salt, small); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("child with 1 MiB: got %v, want its error about the parameters", err)
	}
	// A child that is not Hearth's is an error, and the key is then
	// derived in this process.
	for _, bad := range []string{"/nonexistent/hearth", "/bin/true", ""} {
		if _, err := deriveInChild(bad, pass, salt, cheapParams); err == nil {
			t.Errorf("child %q: got a key, want an error", bad)
		}
		got, err := deriveOrFallBack(bad, pass, salt, cheapParams)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("child %q, falling back: got (%x, %v), want (%x, nil)", bad, got, err, want)
		}
	}
}

func TestKDFRequestRoundTrip(t *testing.T) {
	pass, salt := []byte("pass"), []byte("0123456789abcdef")
	p := vault.Params{Time: 3, MemoryKiB: 65536, Threads: 4}
	b, err := encodeKDFRequest(pass, salt, p)
	if err != nil {
		t.Fatal(err)
	}
	gp, gs, gparams, err := decodeKDFRequest(b)
	if err != nil || !bytes.Equal(gp, pass) || !bytes.Equal(gs, salt) || gparams != p {
		t.Fatalf("round trip: got (%q, %q, %+v, %v)", gp, gs, gparams, err)
	}
	for name, bad := range map[string][]byte{
		"empty":          nil,
		"other version":  append([]byte{2}, b[1:]...),
		"truncated":      b[:len(b)-1],
		"trailing bytes": append(bytes.Clone(b), 0),
	} {
		if _, _, _, err := decodeKDFRequest(bad); err == nil {
			t.Errorf("%s: decoded, want errKDFRequest", name)
		}
	}
	if _, err := encodeKDFRequest(make([]byte, maxKDFPassphrase+1), salt, p); err == nil {
		t.Error("oversized passphrase: encoded, want an error")
	}
}

// FuzzKDFRequest: what decodes encodes back to the same bytes, and the
// decoder never reads past its input or panics.
func FuzzKDFRequest(f *testing.F) {
	b, _ := encodeKDFRequest([]byte("pass"), []byte("0123456789abcdef"), vault.DefaultParams)
	f.Add(b)
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 32, 0, 1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pass, salt, p, err := decodeKDFRequest(b)
		if err != nil {
			return
		}
		again, err := encodeKDFRequest(pass, salt, p)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %x, encoded back to (%x, %v)", b, again, err)
		}
	})
}
