package app

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hearth-circles/hearth/crypto/vault"
	"github.com/hearth-circles/hearth/storage"
	"go.uber.org/goleak"
)

// testParams are the cheapest key derivation settings crypto/vault accepts,
// so tests spend their time on behaviour rather than on Argon2id.
var testParams = vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

var testPassphrase = []byte("a quiet place to talk")

// createTestVault creates a vault in a fresh directory and returns it open.
func createTestVault(t *testing.T) (string, *Vault) {
	t.Helper()
	home := filepath.Join(t.TempDir(), "hearth")
	v, err := CreateVaultWithParams(home, testPassphrase, testParams)
	if err != nil {
		t.Fatalf("CreateVaultWithParams: got error %v, want nil", err)
	}
	t.Cleanup(func() { v.Close() })
	return home, v
}

// hashTree returns a digest of every file name, mode and content under
// root, to show that an operation changed nothing on disk.
func hashTree(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		io.WriteString(h, rel+"\x00"+info.Mode().String()+"\x00")
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		h.Write([]byte{0})
		return nil
	})
	if err != nil {
		t.Fatalf("hash %s: %v", root, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestCreateThenUnlock(t *testing.T) {
	// A closed vault leaves no goroutine of its store running.
	defer goleak.VerifyNone(t)
	home, v := createTestVault(t)
	if got, want := v.Home(), home; got != want {
		t.Errorf("Home() = %q, want %q", got, want)
	}
	if !VaultExists(home) {
		t.Errorf("VaultExists after create: got false, want true")
	}
	if err := v.Store().PutGlobal([]byte("greeting"), []byte("welcome")); err != nil {
		t.Fatalf("PutGlobal: %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	if runtime.GOOS != "windows" {
		for _, c := range []struct {
			path string
			want fs.FileMode
		}{
			{home, 0o700},
			{filepath.Join(home, headerFileName), 0o600},
		} {
			fi, err := os.Stat(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != c.want {
				t.Errorf("mode of %s: got %v, want %v", filepath.Base(c.path), got, c.want)
			}
		}
	}

	v2, err := UnlockVault(home, testPassphrase)
	if err != nil {
		t.Fatalf("UnlockVault: got error %v, want nil", err)
	}
	defer v2.Close()
	got, err := v2.Store().GetGlobal([]byte("greeting"))
	if err != nil {
		t.Fatalf("GetGlobal: %v", err)
	}
	if string(got) != "welcome" {
		t.Errorf("GetGlobal after unlock: got %q, want %q", got, "welcome")
	}
}

func TestUnlockWrongPassphraseChangesNothing(t *testing.T) {
	home, v := createTestVault(t)
	if err := v.Store().PutGlobal([]byte("k"), []byte("v")); err != nil {
		t.Fatalf("PutGlobal: %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	before := hashTree(t, home)

	for _, tc := range []struct {
		name       string
		passphrase string
	}{
		{"empty", ""},
		{"prefix", string(testPassphrase[:len(testPassphrase)-1])},
		{"longer", string(testPassphrase) + " "},
		{"other case", strings.ToUpper(string(testPassphrase))},
		{"unrelated", "hunter22"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := UnlockVault(home, []byte(tc.passphrase))
			if v != nil {
				v.Close()
				t.Fatalf("UnlockVault returned a vault for a wrong passphrase")
			}
			if !errors.Is(err, ErrWrongPassphrase) || !errors.Is(err, vault.ErrWrongPassphrase) {
				t.Errorf("UnlockVault: got error %v, want ErrWrongPassphrase", err)
			}
			if after := hashTree(t, home); after != before {
				t.Errorf("tree hash after wrong passphrase: got %s, want %s", after, before)
			}
		})
	}

	// The failed attempts released the lock: the right passphrase works.
	v2, err := UnlockVault(home, testPassphrase)
	if err != nil {
		t.Fatalf("UnlockVault with the right passphrase: got %v, want nil", err)
	}
	v2.Close()
}

func TestUnlockWhileOpenIsInUse(t *testing.T) {
	home, v := createTestVault(t)

	for _, tc := range []struct {
		name string
		open func() (*Vault, error)
	}{
		{"unlock", func() (*Vault, error) { return UnlockVault(home, testPassphrase) }},
		{"unlock wrong passphrase", func() (*Vault, error) { return UnlockVault(home, []byte("nope")) }},
		{"create", func() (*Vault, error) { return CreateVaultWithParams(home, testPassphrase, testParams) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v2, err := tc.open()
			if v2 != nil {
				v2.Close()
				t.Fatalf("%s returned a second open vault", tc.name)
			}
			if !errors.Is(err, ErrInUse) {
				t.Errorf("got error %v, want ErrInUse", err)
			}
			if !errors.Is(err, storage.ErrInUse) {
				t.Errorf("errors.Is(%v, storage.ErrInUse): got false, want true", err)
			}
		})
	}

	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	v3, err := UnlockVault(home, testPassphrase)
	if err != nil {
		t.Fatalf("UnlockVault after Close: got %v, want nil", err)
	}
	v3.Close()
}

// Environment variables that turn the test binary into a child process
// holding a vault open, for TestUnlockInUseByAnotherProcess.
const (
	childHomeEnv  = "HEARTH_TEST_CHILD_VAULT_HOME"
	childReadyMsg = "hearth-test-child-holds-vault"
)

func TestUnlockInUseByAnotherProcess(t *testing.T) {
	if home := os.Getenv(childHomeEnv); home != "" {
		holdVaultUntilStdinCloses(home)
		return
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skipf("no second process on %s", runtime.GOOS)
	}
	home, v := createTestVault(t)
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestUnlockInUseByAnotherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childHomeEnv+"="+home)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()

	// Wait (on the pipe, not a clock) until the child says it holds the vault.
	var childOut strings.Builder
	ready := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		childOut.WriteString(sc.Text() + "\n")
		if strings.TrimSpace(sc.Text()) == childReadyMsg {
			ready = true
			break
		}
	}
	if !ready {
		cmd.Wait()
		t.Fatalf("child never held the vault; stdout:\n%s\nstderr:\n%s", childOut.String(), stderr.String())
	}

	// With the right passphrase, and with a wrong one: the lock is checked
	// before the passphrase, so both learn the vault is in use.
	for _, pass := range [][]byte{testPassphrase, []byte("not the passphrase")} {
		v2, err := UnlockVault(home, pass)
		if v2 != nil {
			v2.Close()
			t.Fatalf("UnlockVault returned a vault the child holds")
		}
		if !errors.Is(err, ErrInUse) {
			t.Errorf("UnlockVault while another process holds it: got error %v, want ErrInUse", err)
		}
	}

	// Let the child close the vault and exit; then the vault is free.
	stdin.Close()
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\nstderr:\n%s", err, stderr.String())
	}
	v3, err := UnlockVault(home, testPassphrase)
	if err != nil {
		t.Fatalf("UnlockVault after the child exited: got %v, want nil", err)
	}
	v3.Close()
}

// holdVaultUntilStdinCloses is the child's side: unlock, announce, wait.
func holdVaultUntilStdinCloses(home string) {
	v, err := UnlockVault(home, testPassphrase)
	if err != nil {
		os.Stderr.WriteString("child: unlock: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Stdout.WriteString(childReadyMsg + "\n")
	io.Copy(io.Discard, os.Stdin)
	if err := v.Close(); err != nil {
		os.Stderr.WriteString("child: close: " + err.Error() + "\n")
		os.Exit(2)
	}
}

func TestChangePassphrase(t *testing.T) {
	home, v := createTestVault(t)
	newPassphrase := []byte("a new and longer passphrase")
	if err := v.Store().PutGlobal([]byte("kept"), []byte("through the change")); err != nil {
		t.Fatalf("PutGlobal: %v", err)
	}

	headerPath := filepath.Join(home, headerFileName)
	before, err := os.ReadFile(headerPath)
	if err != nil {
		t.Fatal(err)
	}
	err = v.ChangePassphrase([]byte("not the passphrase"), newPassphrase)
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("ChangePassphrase with a wrong old passphrase: got %v, want ErrWrongPassphrase", err)
	}
	if after, _ := os.ReadFile(headerPath); !bytes.Equal(after, before) {
		t.Errorf("header after a refused change: got %x, want %x", after, before)
	}

	if err := v.ChangePassphrase(testPassphrase, newPassphrase); err != nil {
		t.Fatalf("ChangePassphrase: got %v, want nil", err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in the vault", e.Name())
		}
	}

	for _, tc := range []struct {
		name       string
		passphrase []byte
		wantErr    error
	}{
		{"old passphrase", testPassphrase, ErrWrongPassphrase},
		{"new passphrase", newPassphrase, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := UnlockVault(home, tc.passphrase)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("UnlockVault: got error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			defer v.Close()
			got, err := v.Store().GetGlobal([]byte("kept"))
			if err != nil {
				t.Fatalf("GetGlobal: %v", err)
			}
			if string(got) != "through the change" {
				t.Errorf("GetGlobal: got %q, want %q", got, "through the change")
			}
		})
	}
}

func TestUnlockWithoutVault(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, home string)
	}{
		{"missing directory", func(*testing.T, string) {}},
		{"empty directory", func(t *testing.T, home string) {
			if err := os.Mkdir(home, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"header is a directory", func(t *testing.T, home string) {
			if err := os.MkdirAll(filepath.Join(home, headerFileName), 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "hearth")
			tc.setup(t, home)
			if VaultExists(home) {
				t.Errorf("VaultExists: got true, want false")
			}
			v, err := UnlockVault(home, testPassphrase)
			if v != nil {
				v.Close()
			}
			if !errors.Is(err, ErrNoVault) {
				t.Errorf("UnlockVault: got error %v, want ErrNoVault", err)
			}
			if _, err := os.Stat(filepath.Join(home, lockFileName)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("lock file after unlocking no vault: got stat error %v, want not exist", err)
			}
		})
	}
}

func TestUnlockDamagedHeader(t *testing.T) {
	home, v := createTestVault(t)
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	headerPath := filepath.Join(home, headerFileName)
	good, err := os.ReadFile(headerPath)
	if err != nil {
		t.Fatal(err)
	}

	newer := bytes.Clone(good)
	newer[7]++ // the format version, just after the magic

	tests := []struct {
		name    string
		header  []byte
		wantErr error
	}{
		{"empty", nil, vault.ErrMalformed},
		{"one byte", good[:1], vault.ErrMalformed},
		{"half", good[:len(good)/2], vault.ErrMalformed},
		{"last byte missing", good[:len(good)-1], vault.ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), vault.ErrMalformed},
		{"oversize", bytes.Repeat([]byte{0xAA}, maxHeaderSize+10), vault.ErrMalformed},
		{"newer version", newer, vault.ErrVersion},
	}
	// Every truncation, so that no offset can make the parser panic.
	for n := 2; n < len(good)-1; n++ {
		if n != len(good)/2 {
			tests = append(tests, struct {
				name    string
				header  []byte
				wantErr error
			}{fmt.Sprintf("truncated to %d", n), good[:n], vault.ErrMalformed})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(headerPath, tc.header, 0o600); err != nil {
				t.Fatal(err)
			}
			v, err := UnlockVault(home, testPassphrase)
			if v != nil {
				v.Close()
				t.Fatalf("UnlockVault opened a vault with a damaged header")
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("UnlockVault (%d-byte header): got error %v, want %v", len(tc.header), err, tc.wantErr)
			}
			if errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("UnlockVault: got %v, want an error other than ErrWrongPassphrase", err)
			}
		})
	}

	// The failures released the lock and left the store alone.
	if err := os.WriteFile(headerPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	v2, err := UnlockVault(home, testPassphrase)
	if err != nil {
		t.Fatalf("UnlockVault with the header restored: got %v, want nil", err)
	}
	v2.Close()
}

func TestCreateRefusesExisting(t *testing.T) {
	t.Run("vault", func(t *testing.T) {
		home, v := createTestVault(t)
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
		before := hashTree(t, home)
		v2, err := CreateVaultWithParams(home, []byte("another passphrase"), testParams)
		if v2 != nil {
			v2.Close()
		}
		if !errors.Is(err, ErrVaultExists) {
			t.Errorf("CreateVault over a vault: got error %v, want ErrVaultExists", err)
		}
		if after := hashTree(t, home); after != before {
			t.Errorf("tree hash after refused create: got %s, want %s", after, before)
		}
	})
	for _, leftover := range []string{filepath.Join(storeDirName, "MANIFEST"), keyringFileName} {
		t.Run(leftover+" without header", func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "hearth")
			path := filepath.Join(home, leftover)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := hashTree(t, home)
			v, err := CreateVaultWithParams(home, testPassphrase, testParams)
			if v != nil {
				v.Close()
			}
			if !errors.Is(err, ErrVaultExists) {
				t.Errorf("CreateVault over a store: got error %v, want ErrVaultExists", err)
			}
			if VaultExists(home) {
				t.Errorf("VaultExists after refused create: got true, want false")
			}
			os.Remove(filepath.Join(home, lockFileName))
			if after := hashTree(t, home); after != before {
				t.Errorf("tree hash after refused create: got %s, want %s", after, before)
			}
		})
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	_, v := createTestVault(t)
	for i := range 3 {
		if err := v.Close(); err != nil {
			t.Errorf("Close #%d: got %v, want nil", i+1, err)
		}
	}
	if err := v.ChangePassphrase(testPassphrase, []byte("something else")); !errors.Is(err, ErrVaultClosed) {
		t.Errorf("ChangePassphrase after Close: got %v, want ErrVaultClosed", err)
	}
}

func TestErrInUseMatchesStorage(t *testing.T) {
	// Past this package's own lock, the store's directory lock is the one
	// that notices a second opener; openStore reports it as ErrInUse.
	home, _ := createTestVault(t)
	header, err := os.ReadFile(filepath.Join(home, headerFileName))
	if err != nil {
		t.Fatal(err)
	}
	key, err := vault.Open(header, testPassphrase)
	if err != nil {
		t.Fatal(err)
	}
	store, err := openStore(home, key, VaultOptions{})
	if store != nil {
		store.Close()
		t.Fatalf("openStore opened a store that is already open")
	}

	for _, tc := range []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"sentinel matches storage's", ErrInUse, storage.ErrInUse, true},
		{"store locked is app's in use", err, ErrInUse, true},
		{"store locked is storage's in use", err, storage.ErrInUse, true},
		{"wrong passphrase is not in use", ErrWrongPassphrase, ErrInUse, false},
		{"no vault is not storage's in use", ErrNoVault, storage.ErrInUse, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Errorf("errors.Is(%v, %v): got %v, want %v", tc.err, tc.target, got, tc.want)
			}
		})
	}
}

func BenchmarkUnlockVault(b *testing.B) {
	home := filepath.Join(b.TempDir(), "hearth")
	v, err := CreateVault(home, testPassphrase)
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		v, err := UnlockVault(home, testPassphrase)
		if err != nil {
			b.Fatal(err)
		}
		v.Close()
	}
}

// TestVaultOptionsKDF: a vault created, unlocked and given a new
// passphrase with a KDF derives through it, with the vault's parameters;
// a failing KDF is its own error, not a wrong passphrase.
func TestVaultOptionsKDF(t *testing.T) {
	home := filepath.Join(t.TempDir(), "hearth")
	var got []vault.Params
	kdf := func(passphrase, salt []byte, p vault.Params) ([]byte, error) {
		got = append(got, p)
		return vault.Argon2id(passphrase, salt, p)
	}
	opt := VaultOptions{Params: testParams, KDF: kdf, MemTableSize: storage.SmallMemTableSize}
	v, err := CreateVaultWith(home, testPassphrase, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	v, err = UnlockVaultWith(home, testPassphrase, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ChangePassphrase(testPassphrase, []byte("new words")); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("KDF calls: got %d, want 6 (create and its check, unlock, the change's two and its check)", len(got))
	}
	for i, p := range got {
		if p != testParams {
			t.Errorf("KDF call %d: params %+v, want %+v", i, p, testParams)
		}
	}
	failing := VaultOptions{KDF: func([]byte, []byte, vault.Params) ([]byte, error) { return nil, errors.New("no child") }}
	if _, err := UnlockVaultWith(home, []byte("new words"), failing); err == nil || errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), "no child") {
		t.Errorf("unlock with a failing KDF: got %v, want its error", err)
	}
	v, err = UnlockVaultWith(home, []byte("new words"), VaultOptions{})
	if err != nil {
		t.Fatalf("unlock in this process after the KDF's change: %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := UnlockVaultWith(home, []byte("new words"), VaultOptions{MemTableSize: 1}); err == nil {
		t.Error("unlock with 1-byte memtables: got a vault, want the store's error")
	}

	// A KDF that once returns a wrong key when a header is sealed: that
	// header is not kept, at creation or at a change of passphrase.
	calls, wrongAt := 0, 1
	flaky := func(passphrase, salt []byte, p vault.Params) ([]byte, error) {
		calls++
		k, err := vault.Argon2id(passphrase, salt, p)
		if calls == wrongAt && err == nil {
			k[0] ^= 1
		}
		return k, err
	}
	other := filepath.Join(t.TempDir(), "hearth")
	if _, err := CreateVaultWith(other, testPassphrase, VaultOptions{Params: testParams, KDF: flaky}); !errors.Is(err, errKeyCheck) {
		t.Errorf("create with a wrong first key: got %v, want errKeyCheck", err)
	}
	if VaultExists(other) {
		t.Error("create with a wrong first key left a vault header")
	}
	v, err = UnlockVaultWith(home, []byte("new words"), VaultOptions{Params: testParams, KDF: flaky})
	if err != nil {
		t.Fatal(err) // calls is 2 by now: unlock derives right
	}
	calls, wrongAt = 0, 2 // the change first opens the old header
	if err := v.ChangePassphrase([]byte("new words"), []byte("newer words")); !errors.Is(err, errKeyCheck) {
		t.Errorf("change with a wrong first key: got %v, want errKeyCheck", err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := UnlockVault(home, []byte("new words")); err != nil {
		t.Errorf("unlock after the refused change, old passphrase: %v", err)
	} else if err := v.Close(); err != nil {
		t.Fatal(err)
	}
}
