package oidc

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// An opener that fails says why in the error; one still running after the
// grace period, as a browser run directly does, opened the URL.
func TestStartOpener(t *testing.T) {
	err := startOpener(exec.Command("sh", "-c", "echo 'no method available for opening' >&2; exit 3"), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3: no method available for opening") {
		t.Errorf("failing opener: %v", err)
	}
	if err := startOpener(exec.Command("sh", "-c", "exit 0"), 10*time.Second); err != nil {
		t.Errorf("opener done: %v", err)
	}
	if err := startOpener(exec.Command("sleep", "5"), 100*time.Millisecond); err != nil {
		t.Errorf("browser still running: %v", err)
	}
}
