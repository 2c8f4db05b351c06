package clierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		want string
	}{
		{errors.New("boom"), ExitFail, "tool: error: boom\n"},
		{Usagef("no files"), ExitUsage, "tool: error: no files\ntool: hint: see --help\n"},
		{WithHint(Usagef("no issuer"), "pass --dev-oidc"), ExitUsage, "tool: error: no issuer\ntool: hint: pass --dev-oidc\n"},
		{fmt.Errorf("x: %w", WithHint(errors.New("down"), "start it")), ExitFail, "tool: error: x: down\ntool: hint: start it\n"},
		{errors.New("flag provided but not defined: -z"), ExitUsage, "tool: error: flag provided but not defined: -z\ntool: hint: see --help\n"},
		{fmt.Errorf("wrapped: %w", ExitCode(ExitFail)), ExitFail, ""},
		{fmt.Errorf("no token: %w", errors.Join(errors.New("agent: not running"), errors.New("device: no terminal"))), ExitFail,
			"tool: error: no token: agent: not running\ntool:   device: no terminal\n"},
		{WithHint(errors.New("down"), "start it\nor wait"), ExitFail, "tool: error: down\ntool: hint: start it\ntool:   or wait\n"},
	} {
		var b strings.Builder
		if code := Report(&b, "tool", tc.err, "see --help"); code != tc.code || b.String() != tc.want {
			t.Errorf("Report(%v) = %d %q, want %d %q", tc.err, code, b.String(), tc.code, tc.want)
		}
	}
}
