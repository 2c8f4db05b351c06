//go:build unix

package main

import "syscall"

// detached puts the agent in a session of its own, so that closing the terminal
// does not stop it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
