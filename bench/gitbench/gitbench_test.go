// Package gitbench measures gitsign with real git against the embedded
// stack, each figure beside a baseline measured in the same run.
//
// Figures:
//   - `git commit -S` against plain `git commit`: p50 overhead per commit
//     (target <= 50 ms). Without `waxseal agent`, each commit is a fresh
//     gitsign process that obtains its own certificate (the identity token
//     comes from SIGSTORE_ID_TOKEN, so there is no interactive login).
//   - `git log --show-signature` over N signed commits against plain
//     `git log`: extra time per commit (target <= 3 ms); and against the
//     same log with an empty Go program as gpg.x509.program, which is what
//     git's fork and exec of any Go program per signature costs, and with
//     one that only links crypto/x509, what any Go verifier built on the
//     standard library's X.509 pays before it verifies anything. Each log
//     runs GITBENCH_ROUNDS times (default 5), interleaved; figures are
//     medians, with their range. gitsign's logs run three times a round:
//     with its verdict cache emptied (each commit shown for the first
//     time), then again (each commit shown again, answered from the
//     cache), then with the cache switched off (verification alone,
//     without the cache's lookup and write). The N commits share one
//     certificate, as commits signed through `waxseal agent` do, so the
//     first showing checks its chain and SCT once (the verdict cache keeps
//     certificate checks too); a fourth log shows, for the first time, N
//     commits signed with a certificate each, as gitsign without the agent
//     and sigstore's gitsign sign.
//   - `gitsign verify <base>..HEAD` over the N commits in one process:
//     commits per second (target >= 2,000).
//   - Process start-up: an empty Go program (the floor for any program
//     git starts once per signature), `gitsign version`, and one
//     `gitsign --verify` as git runs it, verifying (cache off) and
//     answered from the verdict cache.
//
// Every program is built with the release flags and dropped from the page
// cache before it is measured, so that all start as after a reboot: how a
// binary's pages came into the cache (the linker, cp, a read from disk)
// moves a start-up by up to half a millisecond, more than the differences
// between builds this compares.
//
// It is a test, skipped unless GITBENCH=1, because servertest starts the
// stack; run.sh runs it:
//
//	GITBENCH=1 go test -run TestGitBench -v -count=1 -timeout 30m ./bench/gitbench
//	GITBENCH=1 GITBENCH_COMMITS=1000 GITBENCH_SIGN=30 go test -run TestGitBench -v ./bench/gitbench
//	GITBENCH=1 GITBENCH_ONLY=verify GITBENCH_CPUPROFILE=cpu.out go test -run TestGitBench -v ./bench/gitbench
package gitbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign"
	gitsigncli "github.com/waxseal/waxseal/gitsign/cli"
	"github.com/waxseal/waxseal/gitsign/signing"
	"github.com/waxseal/waxseal/server/servertest"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type bench struct {
	t   *testing.T
	dir string
	env []string
}

func (b *bench) run(stdin []byte, name string, args ...string) (string, time.Duration) {
	b.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = b.dir, b.env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil && name == "git" {
		b.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), d
}

func p50(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func TestGitBench(t *testing.T) {
	if os.Getenv("GITBENCH") == "" {
		t.Skip("set GITBENCH=1 to run the git benchmarks")
	}
	nSign := envInt("GITBENCH_SIGN", 30)
	nLog := envInt("GITBENCH_COMMITS", 1000)
	stack := servertest.Start(t)

	home := t.TempDir()
	bin := filepath.Join(home, "bin", "gitsign")
	// Built as releases are (.goreleaser.yaml): static, without cgo, which
	// spares every exec the dynamic loader, stripped; gitsign-core beside
	// gitsign, as release archives have it.
	build := exec.Command("go", append([]string{"build", "-o", filepath.Dir(bin) + string(filepath.Separator)},
		append(releaseFlags, "github.com/waxseal/waxseal/cmd/gitsign", "github.com/waxseal/waxseal/cmd/gitsign-core")...)...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gitsign: %v\n%s", err, out)
	}
	// GITBENCH_BASELINE_BIN names another gitsign (say, built from an
	// earlier commit) to measure beside this one in the same run.
	progs := []program{{"", bin}}
	if bl := os.Getenv("GITBENCH_BASELINE_BIN"); bl != "" {
		progs = append(progs, program{", baseline " + filepath.Base(bl), bl})
	}
	token := stack.Token(t, "alice@example.com")
	b := &bench{t: t, dir: filepath.Join(home, "repo")}
	verdictDir := filepath.Join(home, ".cache", "waxseal", "gitsign-verdicts")
	b.env = append(os.Environ(), "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"), "GIT_CONFIG_NOSYSTEM=1",
		"WAXSEAL_CONFIG_DIR="+filepath.Join(home, "waxseal"), "SIGSTORE_ID_TOKEN="+token,
		// gitsign's verify servers listen here, and end when it is removed.
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"))
	os.Mkdir(filepath.Join(home, "run"), 0o700)
	signers := filepath.Join(home, "signers")
	os.WriteFile(signers, []byte("alice@example.com alice@example.com "+stack.Issuer()+"\n"), 0o644)
	os.MkdirAll(b.dir, 0o755)
	b.run(nil, "git", "init", "-q", "-b", "main", b.dir)
	cfg := stack.SigningConfig(t)
	for _, kv := range [][2]string{
		{"user.name", "Alice"}, {"user.email", "alice@example.com"},
		{"gpg.format", "x509"}, {"gpg.x509.program", bin},
		{"gitsign.fulcio", cfg.CAURL}, {"gitsign.rekor", cfg.RekorURL},
		{"gitsign.trustedRoot", stack.TrustedRootPath}, {"gitsign.allowedSigners", signers},
	} {
		b.run(nil, "git", "config", "--global", kv[0], kv[1])
	}

	// 1. Signing overhead, interleaved so that both see the same machine:
	// first with a live agent (one certificate for all commits), then with
	// each gitsign process logging in with SIGSTORE_ID_TOKEN.
	sock := filepath.Join(home, "agent", "agent.sock")
	ln, err := agent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go (&agent.Agent{}).Serve(ctx, ln)
	ac, err := agent.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Login(ctx, agent.LoginRequest{Token: token, CAURL: cfg.CAURL}); err != nil {
		t.Fatal(err)
	}
	ac.Close()
	tokenEnv := b.env
	b.env = nil
	for _, kv := range tokenEnv {
		if !strings.HasPrefix(kv, "SIGSTORE_ID_TOKEN=") {
			b.env = append(b.env, kv)
		}
	}
	b.env = append(b.env, agent.SocketEnv+"="+sock)
	// Each signed commit runs every program under test, interleaved with a
	// plain commit, so that all see the same machine.
	signRow := func(label string) {
		plain := []time.Duration{}
		signed := make([][]time.Duration, len(progs))
		for i := range nSign {
			_, d := b.run(nil, "git", "commit", "-q", "--allow-empty", "-m", fmt.Sprintf("plain %d", i))
			plain = append(plain, d)
			for j, p := range progs {
				_, d = b.run(nil, "git", "-c", "gpg.x509.program="+p.bin, "commit", "-q", "-S", "--allow-empty", "-m", fmt.Sprintf("signed %d", i))
				signed[j] = append(signed[j], d)
			}
		}
		for j, p := range progs {
			overhead := p50(signed[j]) - p50(plain)
			t.Logf("git commit -S (%s%s): p50 %v vs plain git commit p50 %v: overhead %v (%.1fx) over %d commits [target <= 50ms]",
				label, p.label, p50(signed[j]).Round(time.Microsecond), p50(plain).Round(time.Microsecond), overhead.Round(time.Microsecond),
				float64(p50(signed[j]))/float64(p50(plain)), nSign)
		}
	}
	if os.Getenv("GITBENCH_ONLY") == "" || os.Getenv("GITBENCH_ONLY") == "sign" {
		signRow("live agent")
		b.env = tokenEnv
		signRow("no agent, SIGSTORE_ID_TOKEN: a certificate per commit")
	}
	b.env = tokenEnv
	if os.Getenv("GITBENCH_ONLY") == "verify" {
		b.run(nil, "git", "commit", "-q", "--allow-empty", "-m", "base")
	}

	// 2 and 3 need many signed commits: sign them in-process with one
	// credential and write them with git hash-object.
	base := strings.TrimSpace(first(b.run(nil, "git", "rev-parse", "HEAD")))
	// The same number of commits with a certificate each, on a branch of
	// their own, for the fourth log.
	makeSignedCommits(t, b, stack, cfg, token, base, nLog, true)
	b.run(nil, "git", "branch", "one-certificate-each", "HEAD")
	b.run(nil, "git", "update-ref", "HEAD", base)
	makeSignedCommits(t, b, stack, cfg, token, base, nLog, false)

	if os.Getenv("GITBENCH_ONLY") == "verify" {
		profileVerify(t, b, base)
		return
	}
	floor := execFloor(t, b, home, progs)
	// git's own cost of running a program per signature: the same log with
	// gpg.x509.program set to the empty Go program. Each round runs plain
	// git log, then the log with each program, one after another, so that
	// all see the same machine; figures are medians over the rounds.
	rounds := envInt("GITBENCH_ROUNDS", 5)
	emptyBin := filepath.Join(home, "bin", "empty")
	n := strconv.Itoa(nLog)
	// The second floor is a program that links crypto/x509 and does
	// nothing: the start-up any Go verifier built on the standard
	// library's X.509 pays, before it verifies anything.
	// The third is no Go program at all: git's fork and exec of a program
	// per signature and the machine's process creation alone, below which
	// no gpg.x509.program in any language can go.
	floors := []program{{" (empty Go program)", emptyBin}, {" (Go program linking crypto/x509)", filepath.Join(home, "bin", "x509")}, nativeFloor(t, home)}
	logProgs := append(slices.Clone(floors), progs...)
	perCommit := make([][]time.Duration, len(logProgs))
	sigs := make([][]time.Duration, len(logProgs))
	// gitsign keeps good verdicts (gitsign/gpg/verdicts.go): each round
	// shows every commit three times, first with no verdict cache (the
	// first time a commit is shown), then again (every time after), then
	// with the cache switched off (gitsign.verifyCache=false): what
	// verifying costs without the cache's lookup and write.
	warmPer := make([][]time.Duration, len(logProgs))
	warmSigs := make([][]time.Duration, len(logProgs))
	var plains []time.Duration
	offPer := make([][]time.Duration, len(logProgs))
	offSigs := make([][]time.Duration, len(logProgs))
	eachPer := make([][]time.Duration, len(logProgs))
	eachSigs := make([][]time.Duration, len(logProgs))
	logOnce := func(p program, rev string, config ...string) (time.Duration, time.Duration) {
		// What ran before may leave file system work to finish in the
		// background, inside whichever log runs then. Each log starts
		// with none pending.
		settle()
		_, dPlain := b.run(nil, "git", "log", "--format=%H %s", "-n", n, rev)
		args := []string{"-c", "gpg.x509.program=" + p.bin}
		for _, c := range config {
			args = append(args, "-c", c)
		}
		_, dSig := b.run(nil, "git", append(args, "log", "--show-signature", "-n", n, rev)...)
		plains = append(plains, dPlain)
		return dSig, (dSig - dPlain) / time.Duration(nLog)
	}
	// Each round's first showing starts from no cache directory. The old
	// one is moved aside, not removed, until all rounds are done: ext4
	// commits and discards the blocks a removal frees in the background,
	// seconds later, and that work would land inside the next log.
	old := filepath.Join(home, "old-verdicts")
	if err := os.Mkdir(old, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(old)
	moveAside := func(name string) {
		if err := os.Rename(verdictDir, filepath.Join(old, name)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	for round := range rounds {
		for j, p := range logProgs {
			moveAside(fmt.Sprintf("%d-%d", round, j))
			dSig, per := logOnce(p, "HEAD")
			perCommit[j] = append(perCommit[j], per)
			sigs[j] = append(sigs[j], dSig)
			if j >= len(floors) {
				dSig, per = logOnce(p, "HEAD")
				warmPer[j] = append(warmPer[j], per)
				warmSigs[j] = append(warmSigs[j], dSig)
				dSig, per = logOnce(p, "HEAD", "gitsign.verifyCache=false")
				offPer[j] = append(offPer[j], per)
				offSigs[j] = append(offSigs[j], dSig)
				moveAside(fmt.Sprintf("%d-%d-each", round, j))
				dSig, per = logOnce(p, "one-certificate-each")
				eachPer[j] = append(eachPer[j], per)
				eachSigs[j] = append(eachSigs[j], dSig)
			}
		}
	}
	noopPer, x509Per := p50(perCommit[0]), p50(perCommit[1])
	t.Logf("git log --show-signature with an empty Go program as gpg.x509.program: %v per commit, median of %d (range %v to %v): git's fork+exec per signature plus Go start-up",
		noopPer.Round(time.Microsecond), rounds, slices.Min(perCommit[0]).Round(time.Microsecond), slices.Max(perCommit[0]).Round(time.Microsecond))
	t.Logf("git log --show-signature with a Go program that only links crypto/x509: %v per commit, median of %d (range %v to %v)",
		x509Per.Round(time.Microsecond), rounds, slices.Min(perCommit[1]).Round(time.Microsecond), slices.Max(perCommit[1]).Round(time.Microsecond))
	nativePer := p50(perCommit[2])
	t.Logf("git log --show-signature with%s as gpg.x509.program: %v per commit, median of %d (range %v to %v): git's fork+exec per signature alone, the least any gpg.x509.program costs on this machine (the target for gitsign is <= 3ms per commit)",
		floors[2].label, nativePer.Round(time.Microsecond), rounds, slices.Min(perCommit[2]).Round(time.Microsecond), slices.Max(perCommit[2]).Round(time.Microsecond))
	for i, p := range progs {
		k := len(floors) + i // p's index in logProgs
		out, _ := b.run(nil, "git", "-c", "gpg.x509.program="+p.bin, "log", "--format=%G?", "-n", n)
		if g := strings.Count(out, "G"); g != nLog {
			t.Errorf("%d of %d commits show G", g, nLog)
		}
		for _, row := range []struct {
			label string
			per   []time.Duration
			sigs  []time.Duration
		}{{"each commit shown for the first time, verdict cache empty", perCommit[k], sigs[k]}, {"each commit shown again", warmPer[k], warmSigs[k]},
			{"verdict cache off (gitsign.verifyCache=false)", offPer[k], offSigs[k]},
			{"a certificate per commit, each shown for the first time", eachPer[k], eachSigs[k]}} {
			pc := row.per
			per := p50(pc)
			t.Logf("git log --show-signature%s over %d commits, %s: %v vs plain git log %v (medians of %d): %v per commit (range %v to %v), %v above the empty-program log (%.2fx it), %v above the crypto/x509 one [target <= 3ms; floor: exec of an empty Go program %v]",
				p.label, nLog, row.label, p50(row.sigs).Round(time.Millisecond), p50(plains).Round(time.Millisecond), rounds, per.Round(time.Microsecond),
				slices.Min(pc).Round(time.Microsecond), slices.Max(pc).Round(time.Microsecond),
				(per - noopPer).Round(time.Microsecond), float64(per)/float64(noopPer), (per - x509Per).Round(time.Microsecond), floor.Round(time.Microsecond))
			t.Logf("    ... %v above the log with%s (%.2fx it)", (per - nativePer).Round(time.Microsecond), floors[2].label, float64(per)/float64(nativePer))
		}
	}

	for _, p := range progs {
		for range 2 {
			vout, dVerify := b.run(nil, p.bin, "verify", base+"..HEAD")
			if n := strings.Count(vout, " good "); n != nLog {
				t.Errorf("gitsign verify: %d of %d good\n%.2000s", n, nLog, vout)
			}
			_, dRevList := b.run(nil, "git", "rev-list", base+"..HEAD")
			t.Logf("gitsign verify%s %s..HEAD: %d commits in %v: %.0f commits/s (git rev-list alone: %v) [target >= 2000/s]",
				p.label, base[:7], nLog, dVerify.Round(time.Millisecond), float64(nLog)/dVerify.Seconds(), dRevList.Round(time.Millisecond))
		}
	}
}

// releaseFlags are .goreleaser.yaml's build flags.
var releaseFlags = []string{"-trimpath", "-ldflags=-s -w"}

// program is a gitsign binary under test.
type program struct {
	label string // "" for the one built from this tree
	bin   string
}

func first(s string, _ time.Duration) string { return s }

// binaries are the programs' executables, with the gitsign-core beside
// each.
func binaries(progs []program) []string {
	var out []string
	for _, p := range progs {
		out = append(out, p.bin)
		if core := filepath.Join(filepath.Dir(p.bin), "gitsign-core"); fileExists(core) {
			out = append(out, core)
		}
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// execFloor measures, interleaved so that all see the same machine, the
// start-up cost no process per signature can avoid (an empty Go program),
// `gitsign version` (which gitsign hands to gitsign-core), and one
// `gitsign --verify` of HEAD exactly as git runs it; it returns the empty
// program's p50.
func execFloor(t *testing.T, b *bench, home string, progs []program) time.Duration {
	n := envInt("GITBENCH_EXEC", 200)
	empty := buildFloor(t, home, "empty", "")
	x509Bin := buildFloor(t, home, "x509", `import _ "crypto/x509"`)
	raw, _ := b.run(nil, "git", "cat-file", "commit", "HEAD")
	o, err := gitsign.ParseObject("commit", []byte(raw), "sha1")
	if err != nil || o.Signature == nil {
		t.Fatalf("HEAD: %v", err)
	}
	sig := filepath.Join(home, "head.sig")
	os.WriteFile(sig, o.Signature, 0o644)

	for _, p := range append([]string{empty, x509Bin}, binaries(progs)...) {
		if err := evict(p); err != nil {
			t.Fatal(err)
		}
	}
	var dEmpty, dX509 []time.Duration
	dVersion := make([][]time.Duration, len(progs))
	dVerify := make([][]time.Duration, len(progs))
	dVerifyWarm := make([][]time.Duration, len(progs))
	env := b.env
	noCache := append(slices.Clone(env), "GITSIGN_VERIFY_CACHE=false")
	for range n {
		_, d := b.run(nil, empty)
		dEmpty = append(dEmpty, d)
		_, d = b.run(nil, x509Bin)
		dX509 = append(dX509, d)
		for j, p := range progs {
			_, d = b.run(nil, p.bin, "version")
			dVersion[j] = append(dVersion[j], d)
			for _, c := range []struct {
				env []string
				ds  *[]time.Duration
			}{{noCache, &dVerify[j]}, {env, &dVerifyWarm[j]}} {
				b.env = c.env
				out, d := b.run(o.Payload, p.bin, "--status-fd=1", "--verify", sig, "-")
				if !strings.Contains(out, "TRUST_FULLY") {
					t.Fatalf("gitsign --verify HEAD:\n%s", out)
				}
				*c.ds = append(*c.ds, d)
			}
			b.env = env
		}
	}
	t.Logf("process start-up, p50 of %d: empty Go program %v (the floor); one that only links crypto/x509 %v",
		n, p50(dEmpty).Round(time.Microsecond), p50(dX509).Round(time.Microsecond))
	for j, p := range progs {
		t.Logf("process start-up%s, p50 of %d: gitsign version %v, gitsign --verify (one commit, as git runs it) %v verifying, %v answered from the verdict cache",
			p.label, n, p50(dVersion[j]).Round(time.Microsecond), p50(dVerify[j]).Round(time.Microsecond), p50(dVerifyWarm[j]).Round(time.Microsecond))
	}
	return p50(dEmpty)
}

// nativeFloor is a program that does nothing and is not Go: a static C
// program built with cc where there is one, else true(1) from PATH, which
// also pays the dynamic loader.
func nativeFloor(t *testing.T, home string) program {
	t.Helper()
	bin := filepath.Join(home, "bin", "noop-c")
	src := filepath.Join(home, "noop.c")
	if err := os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cc, err := exec.LookPath("cc"); err == nil {
		out, err := exec.Command(cc, "-O2", "-static", "-o", bin, src).CombinedOutput()
		if err == nil {
			if err := evict(bin); err != nil {
				t.Fatal(err)
			}
			return program{" a static C program that does nothing", bin}
		}
		t.Logf("cc -static: %v\n%s", err, out)
	}
	tr, err := exec.LookPath("true")
	if err != nil {
		t.Fatalf("no cc and no true(1) on PATH for the native floor: %v", err)
	}
	return program{" " + tr + " (dynamically linked)", tr}
}

// buildFloor builds a Go program that does nothing but import what imports
// says, with the release flags, into home/bin/name.
func buildFloor(t *testing.T, home, name, imports string) string {
	t.Helper()
	src := filepath.Join(home, name)
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module "+name+"\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\n"+imports+"\n\nfunc main() {}\n"), 0o644)
	bin := filepath.Join(home, "bin", name)
	build := exec.Command("go", append(append([]string{"build", "-o", bin}, releaseFlags...), ".")...)
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the %s Go program: %v\n%s", name, err, out)
	}
	return bin
}

// makeSignedCommits writes n signed commits on top of parent and points
// HEAD at the last, signed in this process with one credential (as through
// `waxseal agent`) or, eachOwn, a credential each (as gitsign without the
// agent signs), each recorded in the log like any other.
func makeSignedCommits(t *testing.T, b *bench, stack *servertest.Stack, cfg *trust.SigningConfig, token, parent string, n int, eachOwn bool) {
	ctx := context.Background()
	ca := &fulcioclient.Client{BaseURL: cfg.CAURL}
	cred, err := credential.LoginWithToken(ctx, ca, token, keys.Default)
	if err != nil {
		t.Fatal(err)
	}
	s := &signing.Signer{
		Credentials: signing.CredentialsFunc(func(ctx context.Context) (*credential.Credential, error) {
			if eachOwn {
				return credential.LoginWithToken(ctx, ca, token, keys.Default)
			}
			return cred, nil
		}),
		Log: &tlogclient.Client{BaseURL: cfg.RekorURL},
	}
	tree := strings.TrimSpace(first(b.run(nil, "git", "rev-parse", "HEAD^{tree}")))
	start := time.Now()
	for i := range n {
		ts := time.Now().Unix()
		payload := fmt.Sprintf("tree %s\nparent %s\nauthor Alice <alice@example.com> %d +0000\ncommitter Alice <alice@example.com> %d +0000\n\nbulk %d\n",
			tree, parent, ts, ts, i)
		sig, err := s.Sign(ctx, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		header := "gpgsig " + strings.ReplaceAll(strings.TrimSuffix(string(sig.PEM), "\n"), "\n", "\n ") + "\n"
		obj := strings.Replace(payload, "\n\n", "\n"+header+"\n", 1)
		out, _ := b.run([]byte(obj), "git", "hash-object", "-t", "commit", "-w", "--stdin")
		parent = strings.TrimSpace(out)
	}
	b.run(nil, "git", "update-ref", "HEAD", parent)
	how := "one credential"
	if eachOwn {
		how = "a credential each"
	}
	t.Logf("setup: %d commits signed in-process with %s in %v (%.1f ms each, log upload included)",
		n, how, time.Since(start).Round(time.Millisecond), float64(time.Since(start).Milliseconds())/float64(n))
}

// profileVerify runs `gitsign verify` in-process under the CPU profiler
// (GITBENCH_CPUPROFILE=FILE), for GITBENCH_ONLY=verify.
func profileVerify(t *testing.T, b *bench, base string) {
	bin := filepath.Join(filepath.Dir(b.dir), "bin", "gitsign")
	bins := []string{bin}
	if bl := os.Getenv("GITBENCH_BASELINE_BIN"); bl != "" {
		bins = append(bins, bl)
	}
	for range 3 {
		for _, bin := range bins {
			_, d := b.run(nil, bin, "verify", base+"..HEAD")
			t.Logf("%s verify (binary): %v", bin, d.Round(time.Millisecond))
		}
	}
	for _, kv := range b.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if p := os.Getenv("GITBENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	for range 5 {
		var out, errOut bytes.Buffer
		start := time.Now()
		code := gitsigncli.Run(context.Background(), []string{"gitsign", "verify", "-C", b.dir, base + "..HEAD"}, nil, &out, &errOut)
		t.Logf("gitsign verify (in-process): %v, exit %d", time.Since(start).Round(time.Millisecond), code)
	}
}
