package main

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// checkPeer refuses a control connection from a process of another user.
// The socket's mode already keeps others out; this holds even if the mode
// or the home directory's is loosened by hand.
func checkPeer(conn net.Conn) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("peer credentials: %w", cerr)
	}
	if uid := os.Getuid(); cred.Uid != uint32(uid) {
		return fmt.Errorf("peer uid %d is not ours (%d)", cred.Uid, uid)
	}
	return nil
}
