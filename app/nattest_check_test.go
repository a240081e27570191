//go:build nattest

package app

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestNATMailboxStoreClean is run by scripts/nattest.sh once its mailbox has
// stopped: it opens the mailbox's store with its passphrase and reads every
// value it holds of each circle, decrypted, looking for the sentences,
// pseudonyms and circle name the scenario used (HEARTH_NATTEST_SECRETS, one
// a line).
func TestNATMailboxStoreClean(t *testing.T) {
	home, pass := os.Getenv("HEARTH_NATTEST_HOME"), os.Getenv("HEARTH_PASSPHRASE")
	if home == "" || pass == "" {
		t.Skip("set HEARTH_NATTEST_HOME, HEARTH_PASSPHRASE and HEARTH_NATTEST_SECRETS (scripts/nattest.sh does)")
	}
	var secrets []string
	for _, s := range strings.Split(os.Getenv("HEARTH_NATTEST_SECRETS"), "\n") {
		if s = strings.TrimSpace(s); s != "" {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		t.Fatal("no secrets to look for")
	}
	v, err := UnlockVault(home, []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ids, err := v.Store().Circles()
	if err != nil || len(ids) == 0 {
		t.Fatalf("the mailbox's store holds %d circles (%v)", len(ids), err)
	}
	values := 0
	for _, id := range ids {
		for _, value := range mailboxStoreValues(t, v, CircleID(id)) {
			values++
			for _, s := range secrets {
				if bytes.Contains(value, []byte(s)) {
					t.Errorf("the mailbox's store holds %q", s)
				}
			}
		}
	}
	t.Logf("read %d values of %d circles: none holds any of %d secrets", values, len(ids), len(secrets))
}
