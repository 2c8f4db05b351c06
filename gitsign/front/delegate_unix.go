//go:build unix

package front

import (
	"fmt"
	"os"
	"syscall"

	"github.com/waxseal/waxseal/internal/clierr"
)

// delegate replaces this process with gitsign-core: git waits for the same
// process, and the status file descriptor it passed stays open.
func delegate(core string, args []string) int {
	argv := append([]string{core}, args[1:]...)
	err := syscall.Exec(core, argv, append(os.Environ(), DelegatedEnv+"=1"))
	return clierr.Report(os.Stderr, "gitsign", fmt.Errorf("running %s: %w", core, err), "")
}
