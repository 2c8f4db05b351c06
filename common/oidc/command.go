package oidc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// CommandEnv names the environment variable holding a token command (see Command).
const CommandEnv = "WAXSEAL_OIDC_TOKEN_COMMAND"

// commandTimeout bounds a token command that hangs (waiting on a terminal, say).
const commandTimeout = 2 * time.Minute

// Command runs a shell command whose standard output is an ID token: the generic
// provider for any platform that can mint one (`gcloud auth print-identity-token
// --audiences=sigstore`, a vault read, a script). It runs with `sh -c` (`cmd /c` on
// Windows) on every call, so that each call may get a fresh token. Its standard error
// is kept for the message if it fails.
type Command string

// Token runs the command.
func (c Command) Token(ctx context.Context) (string, error) {
	line := strings.TrimSpace(string(c))
	if line == "" {
		return "", fmt.Errorf("%w: empty token command", ErrNoToken)
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if runtime.GOOS == "windows" {
		cmd = exec.CommandContext(ctx, "cmd", "/c", line)
	} else {
		cmd = exec.CommandContext(ctx, "sh", "-c", line)
	}
	return runTokenCommand(cmd, fmt.Sprintf("token command %q", line))
}

func runTokenCommand(cmd *exec.Cmd, what string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		if msg != "" {
			return "", fmt.Errorf("%s: %w: %s", what, err, msg)
		}
		return "", fmt.Errorf("%s: %w", what, err)
	}
	tok := strings.TrimSpace(stdout.String())
	if tok == "" {
		return "", fmt.Errorf("%s printed no token", what)
	}
	if strings.ContainsAny(tok, " \n\t") {
		return "", fmt.Errorf("%s printed more than a token (%d bytes with whitespace inside)", what, len(tok))
	}
	return tok, nil
}

// Buildkite obtains a job's identity token from the Buildkite agent:
// `buildkite-agent oidc request-token --audience AUD`.
type Buildkite struct {
	// Audience is the requested `aud`. Default "sigstore".
	Audience string
	// Agent is the buildkite-agent program. Default "buildkite-agent" from $PATH.
	Agent string
}

// BuildkiteAvailable reports whether this is a Buildkite job that can ask its agent
// for a token.
func BuildkiteAvailable() bool {
	return os.Getenv("BUILDKITE") == "true" && os.Getenv("BUILDKITE_AGENT_ACCESS_TOKEN") != ""
}

// Token asks the agent for a token.
func (b Buildkite) Token(ctx context.Context) (string, error) {
	aud := b.Audience
	if aud == "" {
		aud = "sigstore"
	}
	agent := b.Agent
	if agent == "" {
		agent = "buildkite-agent"
	}
	path, err := exec.LookPath(agent)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("%w: buildkite: %s is not in PATH", ErrNoToken, agent)
		}
		return "", fmt.Errorf("buildkite: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "oidc", "request-token", "--audience", aud)
	return runTokenCommand(cmd, "buildkite: "+agent+" oidc request-token")
}
