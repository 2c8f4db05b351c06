package agent

import "golang.org/x/sys/unix"

// Harden keeps other processes of the same user from reading the agent's
// memory, where the key is: no core dumps, no ptrace, and /proc/PID/mem and
// environ readable by root only (PR_SET_DUMPABLE 0, as ssh-agent does).
func Harden() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
