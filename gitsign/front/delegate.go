package front

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
	"time"

	"github.com/waxseal/waxseal/internal/clierr"
)

// CoreName is the program that signs and runs gitsign's human commands.
const CoreName = "gitsign-core"

// Main is the gitsign program git starts. git starts it once for every
// signature `git log --show-signature` shows, so it links nothing for
// verifying, signing, logging in or reading repositories: it hands a
// signature to verify to the verify server (see verifyByServer), which
// keeps gitsign-core's verifier running between git's calls, and
// everything else (signing, `gitsign verify`, help) to gitsign-core, which
// replaces it. args[0] is the program name as invoked.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var verify *Args // git's --verify, parsed
	if len(args) > 1 && IsInvocation(args[1:]) {
		if g, err := ParseArgs(args[1:]); err == nil && g.Verify {
			verify = g
		}
	}
	if VerifyHere != nil && verify != nil {
		return VerifyHere(ctx, args[1:], stdin, stdout, stderr)
	}
	e := &mainEnv{stdin: stdin, stdout: stdout, stderr: stderr}
	core, err := findCore(args[0])
	if err == nil && os.Getenv(DelegatedEnv) != "" {
		// What was run as gitsign-core handed the work on again: it is
		// this program under the other name, and would do so for ever.
		err = clierr.WithHint(fmt.Errorf("%s is the gitsign that starts gitsign-core, not gitsign-core", core),
			"%s", installHint())
	}
	if err == nil && verify != nil {
		if code, done := e.verifyByServer(ctx, core, args[1:], verify); done {
			return code
		}
	}
	if err != nil && len(args) == 2 && slices.Contains([]string{"-v", "--version", "-version", "version"}, args[1]) {
		// The version is this program's to tell.
		fmt.Fprintf(e.stdout, "gitsign (waxseal) %s\n", ReleaseVersion())
		fmt.Fprintf(e.stderr, "gitsign: warning: %s; git can neither sign nor verify with it\n", err)
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
		fmt.Fprintf(e.stdout, "%s\n", b)
	}
	if err != nil {
		if verify != nil {
			// git reads the verdict from the status lines: E, not N
			// (no signature).
			e.unverified(verify.StatusFD)
		}
		// When git is signing, say it where the user sees it, as
		// gitsign-core does, and in gitsign.logPath, where a user of a
		// git that hides it looks.
		out := e.stderr
		if len(args) > 1 && IsInvocation(args[1:]) {
			if verify == nil {
				var closeOut func()
				out, _, closeOut = UserTerminal(e.stderr)
				defer closeOut()
			}
			if cfg := LoadConfig(ctx, "", os.Getenv); cfg.LogPath != "" {
				var closeLog func()
				out, _, closeLog = AlsoToLog(InRepo(ctx, "", true, os.Getenv, cfg, cfg.LogPath), out, args[1:])
				defer closeLog()
			}
		}
		return clierr.Report(out, "gitsign", err, "")
	}
	return delegate(core, args)
}

// VerifyHere, when set, answers git's --verify in this process: where
// there is no verify server (not Linux), cmd/gitsign links the verifier
// and sets it.
var VerifyHere func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// mainEnv is the standard streams Main was given.
type mainEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// unverified writes the status lines of a signature that could not be
// checked (gpgsm's ERRSIG, which git shows as %G? "E") to the status
// descriptor git gave, when it is open.
func (e *mainEnv) unverified(fd int) {
	w, ok := e.statusFile(fd)
	if !ok {
		return
	}
	fmt.Fprintf(w, "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG %s 19 8 00 %d 9 %s\n[GNUPG:] TRUST_UNDEFINED 0 shell\n",
		noCert, time.Now().Unix(), noCert)
}

// noCert stands for the certificate in an ERRSIG for a signature that was
// not read.
const noCert = "0000000000000000000000000000000000000000"

// statusFile is the status descriptor fd: stdout and stderr for 1 and 2
// (where git points them), else the descriptor itself when it is open,
// written to as it is and never closed: gitsign-core may be given it next.
func (e *mainEnv) statusFile(fd int) (io.Writer, bool) {
	switch fd {
	case -1:
		return io.Discard, true
	case 1:
		return e.stdout, true
	case 2:
		return e.stderr, true
	}
	return openFD(fd)
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
	if Version == "" {
		// Built from a checkout (go build stamps its commit), not by go
		// install of a published version: the same checkout builds it.
		if bi, ok := debug.ReadBuildInfo(); ok && slices.ContainsFunc(bi.Settings, func(s debug.BuildSetting) bool { return s.Key == "vcs.revision" }) {
			dir := "DIR"
			if exe, err := os.Executable(); err == nil {
				dir = filepath.Dir(exe)
			}
			return "install gitsign-core beside gitsign: from the checkout gitsign was built from, CGO_ENABLED=0 go build -o " + strconv.Quote(dir+string(filepath.Separator)) + " ./cmd/gitsign-core"
		}
	}
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
	return "", clierr.WithHint(fmt.Errorf("%s, which verifies, signs and runs gitsign's commands, is neither next to gitsign (in %s) nor on PATH", CoreName, where),
		"%s", installHint())
}
