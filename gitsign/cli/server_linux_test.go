//go:build linux

package cli

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/server/servertest"
)

// sockets lists the verify servers' sockets in a runtime directory.
func sockets(t *testing.T, runtime string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(runtime, "waxseal", "gitsign-*.sock"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serverPID is the process that listens on sock.
func serverPID(t *testing.T, sock string) int {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(cred.Pid)
}

// TestVerifyServer: git's checks go to one gitsign-core kept running,
// started by the first of them; it answers each as a gitsign-core of its
// own would, in that repository, with that environment, whatever it
// answered before; and when it is gone, switched off or its directory is
// not private, signatures are still verified, by gitsign-core itself.
func TestVerifyServer(t *testing.T) {
	stack := servertest.Start(t)
	runtime := t.TempDir()
	alice := newRepo(t, stack, "alice@example.com")
	alice.setenv("XDG_RUNTIME_DIR=" + runtime)
	alice.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	aliceHead := alice.commit("alice's", "-S")
	// Another repository, another home, another allowed-signers file, the
	// same server: bob is not allowed there.
	bob := newRepo(t, stack, "bob@example.com")
	bob.setenv("XDG_RUNTIME_DIR=" + runtime)
	bob.allow("bob@example.com carol@example.com " + issuerPlaceholder)
	bobHead := bob.commit("bob's", "-S")

	if s := sockets(t, runtime); len(s) != 0 {
		t.Fatalf("a verify server before anything was verified: %v", s)
	}
	if got := alice.format(aliceHead, "%G? %GS"); got != "G alice@example.com" {
		t.Fatalf("%%G? %%GS = %q", got)
	}
	socks := sockets(t, runtime)
	if len(socks) != 1 {
		t.Fatalf("verify servers after one check: %v", socks)
	}
	fi, err := os.Stat(filepath.Join(runtime, "waxseal"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory: %v %v", fi.Mode(), err)
	}
	pid := serverPID(t, socks[0])
	for range 2 {
		if got := bob.format(bobHead, "%G? %GS"); got != "U bob@example.com" {
			t.Errorf("bob's commit in bob's repository: %q", got)
		}
		if got := alice.format(aliceHead, "%G?"); got != "G" {
			t.Errorf("alice's commit after bob's: %q", got)
		}
		// The same repository, another environment: the allowed signers
		// named by GITSIGN_ALLOWED_SIGNERS for this call only.
		other := filepath.Join(t.TempDir(), "signers")
		os.WriteFile(other, []byte("alice@example.com dave@example.com "+stack.Issuer()+"\n"), 0o644)
		cmd := alice.cmd("log", "-1", "--format=%G?", aliceHead)
		cmd.Env = append(cmd.Env, "GITSIGN_ALLOWED_SIGNERS="+other)
		if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "U" {
			t.Errorf("with GITSIGN_ALLOWED_SIGNERS naming another identity: %q %v", out, err)
		}
	}
	if got := serverPID(t, sockets(t, runtime)[0]); got != pid {
		t.Errorf("another server (%d) took over from %d", got, pid)
	}

	// A request made for another gitsign-core is declined, for the client
	// to verify elsewhere.
	c, err := net.Dial("unix", socks[0])
	if err != nil {
		t.Fatal(err)
	}
	c.Write(front.AppendRequest(nil, &front.Request{Core: "another", Dir: alice.dir,
		Args: []string{"--status-fd=1", "--verify", "sig", "-"}, Env: alice.env}))
	resp, err := front.ReadResponse(bufio.NewReader(c))
	c.Close()
	if err != nil || !resp.Declined {
		t.Errorf("a request for another gitsign-core: %+v, %v", resp, err)
	}

	// The server killed: the next check starts another.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Gone when its socket refuses connections (a zombie still answers
	// kill -0 where nothing reaps it).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("unix", socks[0])
		if err != nil {
			break
		}
		c.Close()
	}
	if got := alice.format(aliceHead, "%G?"); got != "G" {
		t.Errorf("after the server was killed: %q", got)
	}
	if s := sockets(t, runtime); len(s) != 1 || serverPID(t, s[0]) == pid {
		t.Errorf("no new server after the old one was killed: %v", s)
	}

	// Switched off, or a socket directory others may enter: verified all
	// the same, and no server is started.
	for _, tc := range []struct {
		name  string
		setup func(r *repo, runtime string)
	}{
		{"gitsign.verifyServer false", func(r *repo, _ string) { r.git("config", "gitsign.verifyServer", "false") }},
		{"GITSIGN_VERIFY_SERVER=0", func(r *repo, _ string) { r.setenv("GITSIGN_VERIFY_SERVER=0") }},
		{"a directory others may enter", func(r *repo, runtime string) {
			os.Mkdir(filepath.Join(runtime, "waxseal"), 0o755)
			os.Chmod(filepath.Join(runtime, "waxseal"), 0o755)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t, stack, "alice@example.com")
			rt := t.TempDir()
			r.setenv("XDG_RUNTIME_DIR=" + rt)
			r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
			head := r.commit("signed", "-S")
			tc.setup(r, rt)
			if got := r.format(head, "%G? %GS"); got != "G alice@example.com" {
				t.Errorf("%%G? %%GS = %q", got)
			}
			if _, stderr, err := r.try("verify-commit", head); err != nil || !strings.Contains(stderr, "Good signature from alice@example.com") {
				t.Errorf("verify-commit: %v\n%s", err, stderr)
			}
			if s := sockets(t, rt); len(s) != 0 {
				t.Errorf("a verify server was started: %v", s)
			}
		})
	}
}

// stopVerifyServers kills the verify servers listening in runtime (an
// XDG_RUNTIME_DIR) and waits until their sockets refuse connections, so
// that their executables may be rewritten.
func stopVerifyServers(t *testing.T, runtime string) {
	t.Helper()
	for _, sock := range sockets(t, runtime) {
		if err := syscall.Kill(serverPID(t, sock), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			c, err := net.Dial("unix", sock)
			if err != nil {
				break
			}
			c.Close()
		}
	}
}
