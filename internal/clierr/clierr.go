// Package clierr is the one error voice of every waxseal binary: errors on
// stderr as "<tool>: error: ...", an optional "<tool>: hint: ..." line, and
// documented exit codes — 0 success, 1 failure (a signature that does not
// verify included), 2 usage error.
package clierr

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// UsageError marks errors in how a command was called.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, a ...any) error { return UsageError{fmt.Sprintf(format, a...)} }

type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// WithHint attaches a hint for the user to err.
func WithHint(err error, format string, a ...any) error {
	return hinted{err, fmt.Sprintf(format, a...)}
}

// HasHint reports whether err carries a hint of its own.
func HasHint(err error) bool {
	var h hinted
	return errors.As(err, &h)
}

// ExitCode ends a command with a code after it reported for itself.
type ExitCode int

func (c ExitCode) Error() string { return fmt.Sprintf("exit %d", int(c)) }

// Report writes err to w in the tool's voice and returns the exit code.
// Flag-parsing errors of package flag and urfave/cli count as usage errors;
// a usage error without a hint of its own gets helpHint.
func Report(w io.Writer, tool string, err error, helpHint string) int {
	var ec ExitCode
	if errors.As(err, &ec) {
		return int(ec)
	}
	code := ExitFail
	var ue UsageError
	msg := err.Error()
	if errors.As(err, &ue) || strings.HasPrefix(msg, "flag provided but not defined") || strings.HasPrefix(msg, "Required flag") ||
		strings.HasPrefix(msg, "invalid value") || strings.HasPrefix(msg, "No help topic") {
		code = ExitUsage
	}
	// Each line of a message of several (errors.Join's) is the tool's,
	// also where lines are read one at a time (git hands a signer's
	// stderr on by line, and gitsign.logPath keeps it).
	fmt.Fprintf(w, "%s: error: %s\n", tool, continued(tool, msg))
	var h hinted
	if errors.As(err, &h) {
		fmt.Fprintf(w, "%s: hint: %s\n", tool, continued(tool, h.hint))
	} else if code == ExitUsage {
		fmt.Fprintf(w, "%s: hint: %s\n", tool, helpHint)
	}
	return code
}

// continued is s with each line after its first indented under the tool's
// name, so that every line is the tool's.
func continued(tool, s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+tool+":   ")
}
