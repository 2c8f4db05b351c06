package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/internal/clierr"
)

func (e *env) agentCommand() *cli.Command {
	return &cli.Command{
		Name:      "agent",
		Usage:     "run the per-user credential cache: one login for many signatures",
		UsageText: "waxseal agent [--socket PATH] [--foreground]\n   waxseal agent status [--json]\n   waxseal agent stop",
		Description: `Starts the agent in the background and prints its socket path. The agent
keeps the ephemeral key and certificate of a 'waxseal login' in memory only,
signs for 'waxseal sign' (and gitsign) without handing the key out, and
forgets the key when the certificate expires (logging in again by itself, with a
new key, when the login used a token file, a token command or CI credentials).

The socket is private to you (directory 0700, socket 0600, peers checked by uid):
$WAXSEAL_AGENT_SOCK, else $XDG_RUNTIME_DIR/waxseal/agent.sock, else
waxseal-UID/agent.sock in TMPDIR if it is private to you (macOS), else
waxseal/agent/agent-MACHINE.sock in your cache directory (~/.cache) if it is
yours, else a waxseal-UID directory in the shared temporary directory.

With --foreground the agent runs in this process until SIGINT or SIGTERM, and
removes its socket on the way out.`,
		Flags: []cli.Flag{
			agentSocketFlag,
			&cli.BoolFlag{Name: "foreground", Usage: "run in this process instead of in the background"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return clierr.Usagef("unknown agent subcommand %q (want status or stop)", c.Args().First())
			}
			path := c.String("agent-socket")
			if path == "" {
				path = agent.SocketPath()
			}
			if c.Bool("foreground") {
				return e.runAgent(c.Context, path)
			}
			return e.startAgent(c.Context, path)
		},
		Subcommands: []*cli.Command{{
			Name:      "status",
			Usage:     "show the agent's identities, issuers and remaining lifetimes, one per CA",
			UsageText: "waxseal agent status [--socket PATH] [--json]",
			Description: "Exits 0 when the agent can sign for some CA (the list says which): it holds a certificate, or one that renews itself\n" +
				"on next use (a login through CI, a token file or a token command); 1 when it cannot (never logged in,\n" +
				"or the login ran out), as ssh-add -l does, so that scripts can run\n\n" +
				"   waxseal agent status >/dev/null || waxseal login",
			Flags: []cli.Flag{agentSocketFlag, jsonFlag},
			Action: func(c *cli.Context) error {
				cl, err := dialAgent(c.Context, c)
				if err != nil {
					return err
				}
				defer cl.Close()
				st, all, err := cl.Sessions(c.Context)
				if err != nil {
					return err
				}
				if err := e.printStatus(c, st, all...); err != nil {
					return err
				}
				if !canSign(st) && !slices.ContainsFunc(all, func(s agent.Status) bool { return canSign(&s) }) {
					return clierr.ExitCode(clierr.ExitFail)
				}
				return nil
			},
		}, {
			Name:      "stop",
			Usage:     "make the agent forget its credential and exit",
			UsageText: "waxseal agent stop [--socket PATH]",
			Flags:     []cli.Flag{agentSocketFlag},
			Action: func(c *cli.Context) error {
				cl, err := dialAgent(c.Context, c)
				if err != nil {
					return err
				}
				defer cl.Close()
				if err := cl.Stop(c.Context); err != nil {
					return err
				}
				e.warnf("agent stopped")
				return nil
			},
		}},
	}
}

func (e *env) runAgent(ctx context.Context, path string) error {
	ln, err := agent.Listen(path)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &agent.Agent{HTTPClient: httpClient, Version: versionString(), Logf: func(format string, args ...any) {
		e.warnf("agent: "+format, args...)
	}}
	fmt.Fprintln(e.stdout, path)
	e.warnf("agent: listening on %s (pid %d)", path, os.Getpid())
	if err := agent.Harden(); err != nil {
		e.warnf("agent: could not keep other processes out of its memory: %v", err)
	}
	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	e.warnf("agent: stopped")
	return nil
}

// startAgent runs `waxseal agent --foreground` detached from this terminal and
// returns once it answers.
func (e *env) startAgent(ctx context.Context, path string) error {
	if cl, err := agent.Dial(ctx, path); err == nil {
		cl.Close()
		fmt.Fprintln(e.stdout, path)
		e.warnf("an agent is already running on %s", path)
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("starting the agent: %w", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{"waxseal", "agent", "--foreground", "--socket", path},
		Stdin:       devnull,
		Stdout:      devnull,
		Stderr:      devnull,
		SysProcAttr: detached(),
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the agent: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// An agent that did not come up as it should is not left running.
	abandon := func() {
		cmd.Process.Kill()
		<-exited
	}
	deadline := time.After(10 * time.Second)
	for {
		if cl, err := agent.Dial(ctx, path); err == nil {
			cl.Close()
			fmt.Fprintln(e.stdout, path)
			e.warnf("agent started (pid %d); log in with 'waxseal login'", cmd.Process.Pid)
			return nil
		} else if errors.Is(err, agent.ErrInsecure) {
			abandon()
			return clierr.WithHint(err, "if it is yours, remove it; if another user's, pass --socket PATH (or set %s) for a socket in a directory of your own", agent.SocketEnv)
		}
		select {
		case err := <-exited:
			return clierr.WithHint(fmt.Errorf("the agent exited at start: %v", err), "run 'waxseal agent --foreground' to see why")
		case <-ctx.Done():
			abandon()
			return ctx.Err()
		case <-deadline:
			abandon()
			return errors.New("the agent did not answer within 10s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// canSign reports whether the agent signs with st's login without another:
// its certificate is valid, or it renews itself on next use.
func canSign(st *agent.Status) bool {
	return st.LoggedIn || st.Expired && st.Refresh != ""
}
