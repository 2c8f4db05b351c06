package agent

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHarden: after Harden, the process is not dumpable, so that other
// processes of the user cannot read the key from its memory. Run in a
// child, since it cannot be undone.
func TestHarden(t *testing.T) {
	if os.Getenv("WAXSEAL_TEST_HARDEN") == "1" {
		before, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		if err := Harden(); err != nil {
			t.Fatal(err)
		}
		after, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		if before != 1 || after != 0 {
			t.Fatalf("dumpable %d before Harden, %d after", before, after)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHarden$", "-test.v")
	cmd.Env = append(os.Environ(), "WAXSEAL_TEST_HARDEN=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestHarden") {
		t.Errorf("child: %v\n%s", err, out)
	}
}
