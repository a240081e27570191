//go:build !unix

package main

// watchMemProfile does nothing where there is no SIGUSR1.
func watchMemProfile() {}
