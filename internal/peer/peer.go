// Package peer finds the real peer tools tests run beside waxseal's own
// (cosign, sigstore's gitsign), which .ci/run installs.
package peer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool returns the path of the program name, on PATH or in $GOPATH/bin.
// Missing, it fails the test under CI (CI=true), where .ci/run must have
// installed it, and skips it elsewhere.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gp)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (bash .ci/run installs it)", name)
	}
	t.Skipf("%s is not installed; bash .ci/run installs it", name)
	return ""
}
