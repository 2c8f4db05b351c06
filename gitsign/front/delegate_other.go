//go:build !unix

package front

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/waxseal/waxseal/internal/clierr"
)

// delegate runs gitsign-core as a child with this process's standard
// streams (git passes its status descriptor as one of them here) and exits
// with its status.
func delegate(core string, args []string) int {
	cmd := exec.Command(core, args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), DelegatedEnv+"=1")
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return clierr.Report(os.Stderr, "gitsign", fmt.Errorf("running %s: %w", core, err), "")
	}
	return 0
}
