package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// serveMemory runs bin (this program when empty) as a real "hearthd
// serve" on a throwaway home with one circle (the default key derivation
// included), waits until it is ready and has idled, and returns its
// resident memory then and its peak, in MiB. It needs /proc (Linux);
// elsewhere it returns errNoProc and the figures are left out.
func serveMemory(ctx context.Context, dir, bin string, idle time.Duration) (idleMB, peakMB float64, err error) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		return 0, 0, errNoProc
	}
	self := bin
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return 0, 0, err
		}
	}
	home := filepath.Join(dir, "serve")
	env := append(os.Environ(), passphraseEnv+"="+benchPass)
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, self, append([]string{"--home", home}, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("init"); err != nil {
		return 0, 0, err
	}
	if err := run("circle", "create", "--name", "idle", "--nick", "m0"); err != nil {
		return 0, 0, err
	}
	cmd := exec.CommandContext(ctx, self, "--home", home, "serve")
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "ready" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			return 0, 0, errors.New("serve ended before it was ready")
		}
	case <-time.After(60 * time.Second):
		return 0, 0, errors.New("serve was not ready within 60 s")
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	rss, err1 := statusKiB(string(status), "VmRSS")
	hwm, err2 := statusKiB(string(status), "VmHWM")
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, err
	}
	return round(float64(rss) / 1024), round(float64(hwm) / 1024), nil
}

var errNoProc = errors.New("no /proc to read a process's memory from")

// statusKiB reads a "Name:   123 kB" line of /proc/PID/status.
func statusKiB(status, name string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s in the process status", name)
}
