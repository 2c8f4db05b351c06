package gpg

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/waxseal/waxseal/internal/clierr"
)

// CoreName is the program that signs and runs gitsign's human commands.
const CoreName = "gitsign-core"

// Main is the gitsign program git starts: it verifies a signature itself
// and hands everything else (signing, `gitsign verify`, help) to
// gitsign-core, so that the program started once per signature `git log
// --show-signature` shows links nothing for signing, logging in or reading
// repositories. args[0] is the program name as invoked.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, CalledByGit: true}
	if len(args) > 1 && IsVerify(args[1:]) {
		growStack()
		return Run(ctx, e, args[1:], nil)
	}
	core, err := findCore(args[0])
	if err == nil && os.Getenv(DelegatedEnv) != "" {
		// What was run as gitsign-core handed the work on again: it is
		// this program under the other name, and would do so for ever.
		err = clierr.WithHint(fmt.Errorf("%s is the verify-only gitsign, not gitsign-core", core),
			"%s", installHint())
	}
	if err != nil && len(args) == 2 && slices.Contains([]string{"-v", "--version", "-version", "version"}, args[1]) {
		// The version is this program's to tell.
		fmt.Fprintf(e.Stdout, "gitsign (waxseal) %s\n", ReleaseVersion())
		fmt.Fprintf(e.Stderr, "gitsign: warning: %s; only verifying for git works\n", err)
		return clierr.ExitOK
	}
	if err != nil && len(args) > 1 && (args[1] == "verify" || args[1] == "verify-tag") && JSONAsked(args[2:]) {
		// The document `gitsign verify --json` promises, also when there
		// is no gitsign-core to verify: a CI job reads it.
		b, _ := json.MarshalIndent(struct {
			OK      bool     `json:"ok"`
			Objects []string `json:"objects"`
			Error   string   `json:"error"`
		}{Objects: []string{}, Error: err.Error()}, "", "  ")
		fmt.Fprintf(e.Stdout, "%s\n", b)
	}
	if err != nil {
		// When git is signing, say it where the user sees it, as
		// gitsign-core does, and in gitsign.logPath, where a user of a
		// git that hides it looks.
		out := e.Stderr
		if len(args) > 1 && IsInvocation(args[1:]) {
			var closeOut, closeLog func()
			out, _, closeOut = e.UserTerminal()
			defer closeOut()
			out, closeLog = e.alsoToLog(ctx, LoadConfig(ctx, e.Dir, e.Getenv), out, args[1:])
			defer closeLog()
		}
		return clierr.Report(out, "gitsign", err, "")
	}
	return delegate(core, args)
}

// JSONAsked tells whether a command line that could not be parsed asked
// for --json, as the flag package would have read it.
func JSONAsked(args []string) bool {
	asked := false
	for _, a := range args {
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "json" {
			continue
		}
		asked = !hasVal
		if hasVal {
			asked, _ = strconv.ParseBool(val)
		}
	}
	return asked
}

// installHint is a function, not a variable: nothing of it may run when
// gitsign starts to verify.
func installHint() string {
	return "install gitsign-core from the same release as gitsign, or: go install github.com/waxseal/waxseal/cmd/gitsign-core@" + releaseOr("VERSION")
}

// Version is the release, set by the program (from -ldflags "-X
// main.version=v1.2.3"); else ReleaseVersion reads the module version a
// go install built.
var Version string

// ReleaseVersion is this build's version: Version, the module version go
// install built, or "devel".
func ReleaseVersion() string { return releaseOr("devel") }

func releaseOr(unknown string) string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return unknown
}

// DelegatedEnv is set in gitsign-core's environment by the gitsign that
// ran it, so that a gitsign installed under that name by mistake fails
// instead of running itself for ever; gitsign-core unsets it.
const DelegatedEnv = "GITSIGN_DELEGATED"

// findCore looks for gitsign-core next to the program as git named it
// (gpg.x509.program may be a path), next to the executable, then on PATH.
func findCore(argv0 string) (string, error) {
	name := CoreName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	var dirs []string
	if strings.ContainsAny(argv0, `/\`) {
		dirs = append(dirs, filepath.Dir(argv0))
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	where := "gitsign"
	if len(dirs) > 0 {
		where = dirs[len(dirs)-1]
	}
	return "", clierr.WithHint(fmt.Errorf("%s, which signs and runs gitsign's commands, is neither next to gitsign (in %s) nor on PATH", CoreName, where),
		"%s", installHint())
}

// sink keeps growStack's buffer from being optimized away.
var sink byte

// growStack grows the goroutine's stack from its initial 8 KiB to 32 KiB
// while the stack is shallow. Verifying would otherwise outgrow it twice,
// deep in JSON, ASN.1 and ECDSA code, and each growth walks every frame
// through the runtime's tables, which in a fresh process means page faults:
// this saved 0.2 to 0.3 ms of a 3 ms verification (500 interleaved runs;
// a 64 KiB stack saved less).
//
//go:noinline
func growStack() {
	var buf [16 << 10]byte
	sink = buf[sink]
}
