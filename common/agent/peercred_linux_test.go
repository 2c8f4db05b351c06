package agent

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestPeerCredentials connects as another user (a child process running as uid 65534)
// to an agent whose socket permissions were opened up: the agent itself refuses it.
func TestPeerCredentials(t *testing.T) {
	if os.Getenv("WAXSEAL_AGENT_PEER_TEST") != "" {
		// The child: send a status request and report what comes back.
		c, err := net.Dial("unix", os.Getenv("WAXSEAL_AGENT_PEER_TEST"))
		if err != nil {
			os.Stdout.WriteString("dial: " + err.Error())
			return
		}
		writeMessage(c, &request{Op: "status"})
		var resp response
		if err := readMessage(c, &resp); err != nil {
			os.Stdout.WriteString("refused: " + err.Error())
			return
		}
		os.Stdout.WriteString("answered")
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	dir := shortDir(t)
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "open.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777)
	var logged []string
	var mu sync.Mutex
	a := &Agent{Logf: func(f string, args ...any) {
		mu.Lock()
		logged = append(logged, f)
		mu.Unlock()
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	// A copy of the test binary that the other user may run.
	exe := filepath.Join(dir, "agent.test")
	self, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	cp, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(cp, self); err != nil {
		t.Fatal(err)
	}
	cp.Close()
	run := func(uid uint32) string {
		cmd := exec.Command(exe, "-test.run=^TestPeerCredentials$")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "WAXSEAL_AGENT_PEER_TEST="+path)
		if uid != 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		}
		out, _ := cmd.Output()
		return string(out)
	}
	if out := run(0); !strings.Contains(out, "answered") {
		t.Fatalf("same user: %q", out)
	}
	if out := run(65534); !strings.Contains(out, "refused") {
		t.Errorf("other user: %q", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) == 0 || !strings.Contains(logged[0], "refused") {
		t.Errorf("log %q", logged)
	}
}
