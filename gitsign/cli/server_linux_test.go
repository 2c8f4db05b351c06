//go:build linux

package cli

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
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

	// The server keeps no environment of the gitsign that started it (its
	// token, say): GODEBUG at most.
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(environ), "\x00") {
		if kv != "" && !strings.HasPrefix(kv, "GODEBUG=") {
			t.Errorf("the verify server's environment holds %.40q", kv)
		}
	}

	// A client under limits the server does not have (a sandbox's
	// no_new_privs), or in other namespaces, is declined: verified here,
	// it would see other files or escape its limits.
	client := filepath.Join(binDir, "verify-client")
	if out, err := exec.Command(client, socks[0]).CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "answered 1") {
		t.Errorf("a request as gitsign makes it: %v\n%s", err, out)
	}
	if out, err := exec.Command("setpriv", "--no-new-privs", client, socks[0]).CombinedOutput(); err != nil ||
		!strings.HasPrefix(string(out), "declined: the client runs under limits") {
		t.Errorf("a client with no_new_privs: %v\n%s", err, out)
	}
	if out, err := exec.Command("setpriv", "--groups", "12345", "true").CombinedOutput(); err != nil {
		t.Logf("not checked: a client with other groups (setpriv --groups: %v: %s)", err, out)
	} else if out, err := exec.Command("setpriv", "--groups", "12345", client, socks[0]).CombinedOutput(); err != nil ||
		!strings.HasPrefix(string(out), "declined: the client runs with other groups") {
		t.Errorf("a client with other groups: %v\n%s", err, out)
	}
	if out, err := exec.Command("unshare", "--mount", "true").CombinedOutput(); err != nil {
		t.Logf("not checked: a client in another mount namespace (unshare --mount: %v: %s)", err, out)
	} else {
		if out, err := exec.Command("unshare", "--mount", client, socks[0]).CombinedOutput(); err != nil ||
			!strings.HasPrefix(string(out), "declined: the client is in other namespaces") {
			t.Errorf("a client in another mount namespace: %v\n%s", err, out)
		}
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

	// A server that is stopped (SIGSTOP, a debugger) costs one check the
	// wait for it, which a gitsign-core of its own then answers, and gives
	// way: its socket is removed, and the next check starts another.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if got := alice.format(aliceHead, "%G?"); got != "G" {
		t.Errorf("with the server stopped: %q", got)
	}
	if _, err := os.Lstat(socks[0]); err == nil {
		t.Error("the stopped server's socket was kept")
	}
	if got := alice.format(aliceHead, "%G?"); got != "G" {
		t.Errorf("after the stopped server: %q", got)
	}
	if s := sockets(t, runtime); len(s) != 1 || serverPID(t, s[0]) == pid {
		t.Errorf("no new server after the stopped one: %v", s)
	}
	syscall.Kill(pid, syscall.SIGCONT) // it ends: its socket is not its own
	pid = serverPID(t, sockets(t, runtime)[0])
	socks = sockets(t, runtime)

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

// verifyClient is the test binary run as "verify-client SOCKET": one
// request as gitsign makes it, for a signature that does not exist; it
// prints "declined: WHY" or "answered CODE".
func verifyClient(args []string) int {
	core, err := front.ExecutableID("/proc/self/exe")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	c, err := net.Dial("unix", args[0])
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer c.Close()
	cwd, _ := os.Getwd()
	c.Write(front.AppendRequest(nil, &front.Request{Core: core, Dir: cwd,
		Args: []string{"--status-fd=1", "--verify", "/nonexistent/sig", "-"}, Env: os.Environ()}))
	resp, err := front.ReadResponse(bufio.NewReader(c))
	switch {
	case err != nil:
		fmt.Println(err)
		return 1
	case resp.Declined:
		fmt.Printf("declined: %s\n", resp.Stderr)
	default:
		fmt.Printf("answered %d\n", resp.Code)
	}
	return 0
}
