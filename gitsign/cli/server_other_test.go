//go:build !linux

package cli

import (
	"testing"

	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/gitsign/gpg"
)

// As cmd/gitsign does where there is no verify server (verify_other.go):
// the test binary, run as gitsign, verifies in-process.
func init() { front.VerifyHere = gpg.VerifyHere }

// stopVerifyServers: the verify server runs on Linux only.
func stopVerifyServers(t *testing.T, runtime string) {}

func verifyClient(args []string) int { return 2 }
