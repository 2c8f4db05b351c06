package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/waxseal/waxseal/server/servertest"
)

// TestSigningStopsWithItsParent: git killed on its own, while gitsign waits
// on the log, leaves no gitsign behind to record a signature for an object
// that will never exist: the upload is abandoned.
func TestSigningStopsWithItsParent(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	arrived, abandoned := make(chan struct{}, 1), make(chan struct{}, 1)
	slowLog := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body) // the server hears a client leave only once the body is read
		arrived <- struct{}{}
		select {
		case <-req.Context().Done():
			abandoned <- struct{}{}
		case <-time.After(time.Minute):
			http.Error(w, "too slow", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(slowLog.Close)
	r.git("config", "gitsign.rekor", slowLog.URL)
	payload := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(payload, []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A shell stands for git: gitsign is its child, not exec'd in its place.
	parent := exec.Command("sh", "-c", `"$0" --status-fd=2 -bsau key <"$1" >/dev/null 2>&1; echo unreachable`, filepath.Join(binDir, "gitsign"), payload)
	parent.Dir, parent.Env = r.dir, r.env
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(time.Minute): // a hang guard, not a measurement
		parent.Process.Kill()
		t.Fatal("gitsign never reached the log")
	}
	parent.Process.Signal(syscall.SIGKILL)
	parent.Wait()
	select {
	case <-abandoned:
	case <-time.After(30 * time.Second): // the log waits a minute
		t.Error("gitsign kept uploading after its parent was killed")
	}
}

// TestSigningOutlivesItsParentsThread: the kernel's parent-death signal
// comes when the thread that started gitsign exits, which in a threaded
// parent is no reason to stop: the parent still waits for the signature.
func TestSigningOutlivesItsParentsThread(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	stdin, feed := io.Pipe()
	cmd := exec.Command(filepath.Join(binDir, "gitsign"), "--status-fd=2", "-bsau", "key")
	var stdout, stderr bytes.Buffer
	cmd.Dir, cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = r.dir, r.env, stdin, &stdout, &stderr
	started := make(chan error, 1)
	go func() {
		// Locked to its thread, which the runtime ends with the goroutine:
		// gitsign's parent thread exits, its parent process does not.
		// It ends once gitsign waits for its input, watching its parent.
		runtime.LockOSThread()
		err := cmd.Start()
		time.Sleep(500 * time.Millisecond)
		started <- err
	}()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the thread gone, and gitsign told so
	feed.Write([]byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"))
	feed.Close()
	if err := cmd.Wait(); err != nil || !strings.Contains(stdout.String(), "-----BEGIN SIGNED MESSAGE-----") {
		t.Errorf("signing after the parent's thread exited: %v\n%s", err, stderr.String())
	}
}
