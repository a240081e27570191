package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"

	"github.com/hearth-circles/hearth/crypto/vault"
)

// The passphrase key derivation (Argon2id, 64 MiB) runs in a child
// process: this binary again, started with kdfChildArg, which reads one
// request on its standard input, writes the key on its standard output and
// exits.
//
// Run in the app's own process, those 64 MiB made the app's peak resident
// memory 209 MB against about 175 at rest, and the Go runtime kept 98 MiB
// from the system, giving the freed part back only slowly (the memory
// limit in main.go and a forced release after each derivation were there
// for it). A child's memory goes back to the system whole when it exits:
// the app's peak is now its steady state (README, the desktop's memory).
// The child starts in 10-20 ms; the default derivation took 249-266 ms
// in it, and 245-263 ms in a fresh process of its own, most of the rest
// being the kernel handing over 64 MiB of new pages either way.
//
// The passphrase travels only through the pipe to the child, never in its
// arguments or environment. On Linux the child is the image this process
// runs (/proc/self/exe), so an upgrade while the app runs does not change
// it; elsewhere it is the file the app was started from. If the child
// cannot run (say that file was removed), the derivation runs here, as
// before. There is no deadline: the derivation here would take as long.
// What the child returns is checked where it matters, when a header is
// written (app: a new header must open before it is kept).
//
// Request (integers big-endian), and response:
//
//	version 1 | time u32 | memory KiB u32 | threads u8 |
//	    salt length u8 | salt | passphrase length u32 | passphrase
//	version 1 | key (32)
const (
	kdfChildArg      = "--derive-vault-key"
	kdfVersion       = 1
	maxKDFSalt       = 64
	maxKDFPassphrase = 64 << 10
	kdfFixed         = 1 + 4 + 4 + 1 + 1 + 4 // the request's fixed fields
	maxKDFRequest    = kdfFixed + maxKDFSalt + maxKDFPassphrase
)

var errKDFRequest = errors.New("malformed key derivation request")

// encodeKDFRequest builds the child's request; the caller clears it.
func encodeKDFRequest(passphrase, salt []byte, p vault.Params) ([]byte, error) {
	if len(salt) > maxKDFSalt || len(passphrase) > maxKDFPassphrase {
		return nil, fmt.Errorf("%w: salt of %d bytes or passphrase of %d", errKDFRequest, len(salt), len(passphrase))
	}
	b := make([]byte, 0, kdfFixed+len(salt)+len(passphrase))
	b = append(b, kdfVersion)
	b = binary.BigEndian.AppendUint32(b, p.Time)
	b = binary.BigEndian.AppendUint32(b, p.MemoryKiB)
	b = append(b, p.Threads, byte(len(salt)))
	b = append(b, salt...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(passphrase)))
	return append(b, passphrase...), nil
}

// decodeKDFRequest parses a request; salt and passphrase alias b.
func decodeKDFRequest(b []byte) (passphrase, salt []byte, p vault.Params, err error) {
	if len(b) < kdfFixed || b[0] != kdfVersion {
		return nil, nil, p, errKDFRequest
	}
	p = vault.Params{
		Time:      binary.BigEndian.Uint32(b[1:]),
		MemoryKiB: binary.BigEndian.Uint32(b[5:]),
		Threads:   b[9],
	}
	n := int(b[10])
	rest := b[11:]
	if n > maxKDFSalt || len(rest) < n+4 {
		return nil, nil, p, errKDFRequest
	}
	salt, rest = rest[:n], rest[n:]
	m := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if m > maxKDFPassphrase || uint64(len(rest)) != uint64(m) {
		return nil, nil, p, errKDFRequest
	}
	return rest, salt, p, nil
}

// kdfChild is the child's side: one request in, one key out. It returns
// the process's exit status.
func kdfChild(in io.Reader, out io.Writer) int {
	b, err := io.ReadAll(io.LimitReader(in, maxKDFRequest+1))
	defer clear(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hearth: read key derivation request:", err)
		return 2
	}
	passphrase, salt, p, err := decodeKDFRequest(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hearth:", err)
		return 2
	}
	key, err := vault.Argon2id(passphrase, salt, p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hearth:", err)
		return 2
	}
	defer clear(key)
	resp := append([]byte{kdfVersion}, key...)
	defer clear(resp)
	if _, err := out.Write(resp); err != nil {
		fmt.Fprintln(os.Stderr, "hearth: write derived key:", err)
		return 2
	}
	return 0
}

// childKDF is the desktop's vault.KDF: the derivation in a child process,
// or in this one when the child cannot run.
func childKDF(passphrase, salt []byte, p vault.Params) ([]byte, error) {
	return deriveOrFallBack(selfExecutable(), passphrase, salt, p)
}

// selfExecutable is the program to start as the child: on Linux the very
// image this process runs (/proc/self/exe, even if its file was replaced
// or removed since), elsewhere the file it was started from.
func selfExecutable() string {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe"
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe
}

// deriveOrFallBack derives in a child running exe, or here if that fails.
func deriveOrFallBack(exe string, passphrase, salt []byte, p vault.Params) ([]byte, error) {
	key, err := deriveInChild(exe, passphrase, salt, p)
	if err == nil {
		return key, nil
	}
	slog.Warn("key derivation in a child process failed; deriving in this one", "err", err)
	key, err = vault.Argon2id(passphrase, salt, p)
	debug.FreeOSMemory() // the 64 MiB of Argon2id state, at once
	return key, err
}

// deriveInChild runs exe as the key derivation child.
func deriveInChild(exe string, passphrase, salt []byte, p vault.Params) ([]byte, error) {
	if exe == "" {
		return nil, errors.New("no executable to start")
	}
	req, err := encodeKDFRequest(passphrase, salt, p)
	if err != nil {
		return nil, err
	}
	defer clear(req)
	cmd := exec.Command(exe, kdfChildArg)
	cmd.Stdin = bytes.NewReader(req)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		clear(out.Bytes())
		// The child's last line says why; libraries' start-up notes may
		// come before it.
		msg := bytes.TrimSpace(stderr.Bytes())
		if msg = msg[bytes.LastIndexByte(msg, '\n')+1:]; len(msg) > 0 {
			return nil, fmt.Errorf("%s %s: %w (%.200s)", exe, kdfChildArg, err, msg)
		}
		return nil, fmt.Errorf("%s %s: %w", exe, kdfChildArg, err)
	}
	resp := out.Bytes()
	defer clear(resp)
	if len(resp) != 1+vault.KeySize || resp[0] != kdfVersion {
		return nil, fmt.Errorf("%s %s: got %d bytes back, want a version %d key", exe, kdfChildArg, len(resp), kdfVersion)
	}
	return bytes.Clone(resp[1:]), nil
}
