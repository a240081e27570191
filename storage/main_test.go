package storage

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// holdEnv, when set to a home directory, makes the test binary a child
// process that opens the store there, says "ready", and holds it until its
// standard input closes (see TestOpenInUseOtherProcess).
const holdEnv = "HEARTH_STORAGE_HOLD_HOME"

func TestMain(m *testing.M) {
	if home := os.Getenv(holdEnv); home != "" {
		os.Exit(hold(home))
	}
	goleak.VerifyTestMain(m)
}

func hold(home string) int {
	s, err := Open(home, testKey, Options{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	if err := s.Close(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

var testKey = func() (k [32]byte) {
	b, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	copy(k[:], b)
	return k
}()
