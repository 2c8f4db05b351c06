package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/waxseal/waxseal/common/agent"
	gitsigncli "github.com/waxseal/waxseal/gitsign/cli"
	"github.com/waxseal/waxseal/server/servertest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"waxseal": func() { os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr)) },
		// The demo links this binary as gitsign for git to call.
		"gitsign": func() { os.Exit(gitsigncli.Run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI end to end against a real stack on loopback:
// the scripts in testdata/script call waxseal as a user would.
func TestScripts(t *testing.T) {
	stack := servertest.Start(t)
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("WAXSEAL_SERVER", stack.URL)
			env.Setenv("ISSUER", stack.Issuer())
			env.Setenv("TRUSTED_ROOT", stack.TrustedRootPath)
			env.Setenv("SIGNING_CONFIG", stack.SigningConfigPath)
			// Another instance's root, for signatures it did not log.
			publicGood, err := filepath.Abs(filepath.Join("..", "..", "testdata", "gitsign-public-good", "trusted_root.json"))
			if err != nil {
				return err
			}
			env.Setenv("OTHER_ROOT", publicGood)
			env.Setenv("WAXSEAL_CONFIG_DIR", filepath.Join(env.WorkDir, "config"))
			// Each script's own agent socket, never the user's agent; one a
			// script started is stopped after it, also when it fails
			// before its own 'agent stop'.
			sock := filepath.Join(env.WorkDir, "run", "agent.sock")
			env.Setenv(agent.SocketEnv, sock)
			env.Defer(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if cl, err := agent.Dial(ctx, sock); err == nil {
					cl.Stop(ctx)
					cl.Close()
				}
			})
			return nil
		},
	})
}
