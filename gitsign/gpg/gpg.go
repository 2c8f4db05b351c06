// Package gpg is gitsign-core's side of git's gpgsm protocol that needs no
// network: the whole of verifying a signature, as git asks for it, and the
// verify server (Serve) that keeps it running between git's calls for the
// gitsign git starts (package front, which holds the command line git
// writes and gitsign's configuration).
package gpg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/gitsign/cms"
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/internal/clierr"
	"github.com/waxseal/waxseal/internal/readfile"
)

// Env is what a command may touch, so that every path runs in-process in
// tests exactly as from git.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Dir            string // working directory; "" is the process's
	CalledByGit    bool   // in gpgsm mode, run by git from the work tree's top
	// Log is gitsign.logPath while Run runs, nil if none. Stderr is copied
	// to it; what goes to the terminal instead is written to it too.
	Log io.Writer
	// Status, when set, takes the status lines instead of the descriptor
	// --status-fd names: the verify server hands them back to the gitsign
	// git started, which holds that descriptor.
	Status io.Writer
}

// Report writes err as gitsign reports errors and returns the exit code.
func (e *Env) Report(err error) int {
	return clierr.Report(e.Stderr, "gitsign", err, "run 'gitsign --help'")
}

// UserTerminal is where interactive instructions and signing errors go:
// the controlling terminal when there is one (tty true), else stderr.
func (e *Env) UserTerminal() (out io.Writer, tty bool, closeOut func()) {
	return front.UserTerminal(e.Stderr)
}

// InRepo resolves a path from the configuration (see [front.InRepo]).
func (e *Env) InRepo(ctx context.Context, cfg *front.Config, p string) string {
	return front.InRepo(ctx, e.Dir, e.CalledByGit, e.Getenv, cfg, p)
}

// alsoToLog returns w copied to gitsign.logPath, if one is set (see
// [front.AlsoToLog]); e.Log is the log while it is open.
func (e *Env) alsoToLog(ctx context.Context, cfg *front.Config, w io.Writer, args []string) (io.Writer, func()) {
	if cfg.LogPath == "" {
		return w, func() {}
	}
	out, log, closeLog := front.AlsoToLog(e.InRepo(ctx, cfg, cfg.LogPath), w, args)
	e.Log = log
	return out, func() { e.Log = nil; closeLog() }
}

// VerifyHere answers git's --verify (args without the program name) in
// this process, as git's gpg.x509.program: for front.VerifyHere, where
// there is no verify server.
func VerifyHere(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, CalledByGit: true}
	return Run(ctx, e, args, nil)
}

// SignFunc signs for Run, with the Env Run was given: the payload on its
// Stdin, the signature to its Stdout.
type SignFunc func(ctx context.Context, cfg *front.Config, st gitsign.Status, localUser string) int

// statusWriter opens the status file descriptor; 1 and 2 are stdout and
// stderr (also where git points them), so that tests and other platforms
// need no descriptor passing.
func (e *Env) statusWriter(fd int) (io.Writer, func(), error) {
	if e.Status != nil && fd != -1 {
		return e.Status, func() {}, nil
	}
	switch fd {
	case -1:
		return io.Discard, func() {}, nil
	case 1:
		return e.Stdout, func() {}, nil
	case 2:
		return e.Stderr, func() {}, nil
	}
	f := os.NewFile(uintptr(fd), "status-fd")
	if f == nil {
		return nil, nil, clierr.Usagef("--status-fd=%d: not a file descriptor", fd)
	}
	if _, err := f.Stat(); err != nil {
		// Not open: writing to it would reach whatever file is opened
		// next under that number.
		return nil, nil, clierr.Usagef("--status-fd=%d: not an open file descriptor", fd)
	}
	return f, func() { f.Close() }, nil
}

// Run answers one gpgsm invocation from git (args without the program
// name): it verifies, or signs with sign.
func Run(ctx context.Context, e *Env, args []string, sign SignFunc) int {
	g, err := front.ParseArgs(args)
	if err != nil {
		return e.Report(err)
	}
	// The status descriptor first: opened later, the log file could take
	// its number if git left it closed, and get the status lines.
	w, closeStatus, err := e.statusWriter(g.StatusFD)
	if err != nil {
		return e.Report(err)
	}
	defer closeStatus()
	cfg := front.LoadConfig(ctx, e.Dir, e.Getenv)
	var closeLog func()
	e.Stderr, closeLog = e.alsoToLog(ctx, cfg, e.Stderr, args)
	defer closeLog()
	st := gitsign.Status{W: w}
	if g.Sign {
		if sign == nil {
			return e.Report(errors.New("this program only verifies; gitsign-core signs"))
		}
		return sign(ctx, cfg, st, g.LocalUser)
	}
	// The status lines and the explanation go out in one write each, at
	// the end: git wakes up for every write on its pipes.
	var status, stderr bytes.Buffer
	out := e.Stderr
	e.Stderr = &stderr
	code := e.verify(ctx, cfg, &status, &stderr, g.Files[0])
	e.Stderr = out
	w.Write(status.Bytes())
	out.Write(stderr.Bytes())
	return code
}

// verify answers git's --verify: the status lines go to status, the
// explanation to explanation, which is e.Stderr. A signature that verified
// before, over the same object, against the same trusted root and allowed
// signers, by this same program, is answered from the verdict cache
// (verdicts.go).
func (e *Env) verify(ctx context.Context, cfg *front.Config, status, explanation *bytes.Buffer, sigFile string) int {
	st := gitsign.Status{W: status}
	st.NewSig()
	in, err := e.readVerifyInputs(ctx, cfg, sigFile)
	if err != nil {
		return e.unverifiable(st, in, err)
	}
	cache, id, memo := e.verdictCache(cfg, in)
	if in.signersErr != nil {
		cache, memo = nil, nil // verification fails below
	}
	if cache != nil {
		if v, ok := cache.Get(id); ok {
			if sv, ev, ok := decodeVerdict(v); ok {
				status.Reset()
				status.Write(sv)
				explanation.Write(ev)
				return clierr.ExitOK
			}
		}
	}
	code := e.check(st, in, memo)
	if code == clierr.ExitOK && cache != nil {
		cache.Put(id, encodeVerdict(status.Bytes(), explanation.Bytes()))
	}
	return code
}

// verifyInputs are the bytes a verdict depends on, each read once: what is
// verified is exactly what the verdict cache names.
type verifyInputs struct {
	sig, payload []byte
	rootPath     string
	root         []byte
	signersPath  string // "" when no allowed signers are configured
	signers      []byte
	signersErr   error // reading signersPath failed: no verdict to keep
	bare         bool  // core.bare, for explaining a signersErr
}

func (e *Env) readVerifyInputs(ctx context.Context, cfg *front.Config, sigFile string) (*verifyInputs, error) {
	in := &verifyInputs{}
	var err error
	if in.sig, err = readfile.Read(sigFile); err != nil {
		return in, fmt.Errorf("reading the signature: %w", err)
	}
	// One byte over the limit is read, so that a longer object is refused
	// rather than verified on its first 64 MiB only.
	in.payload, err = io.ReadAll(io.LimitReader(e.Stdin, gitsign.MaxObjectSize+1))
	if err == nil && len(in.payload) > gitsign.MaxObjectSize {
		err = errors.New("it is larger than 64 MiB")
	}
	if err != nil {
		return in, fmt.Errorf("reading the signed object: %w", err)
	}
	if in.rootPath, in.root, err = e.readRoot(ctx, cfg); err != nil {
		return in, err
	}
	in.bare = cfg.Bare
	if in.signersPath = e.SignersFile(ctx, cfg, false, ""); in.signersPath != "" {
		// Reported after the root is parsed, as before: a broken root is
		// the first thing to fix.
		in.signers, in.signersErr = readfile.Read(in.signersPath)
	}
	return in, nil
}

// unverifiable says that in's signature cannot be checked: ERRSIG for git,
// naming the signer's certificate if it can be read, and why on e.Stderr.
func (e *Env) unverifiable(st gitsign.Status, in *verifyInputs, err error) int {
	st.Err(signerOf(in.sig), time.Now())
	return e.Report(err)
}

// isGitDir tells a git directory (a .git, a bare repository) by its HEAD
// and objects, as git's discovery does.
func isGitDir(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, "objects")); err != nil || !fi.IsDir() {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, "HEAD"))
	return err == nil && fi.Mode().IsRegular()
}

// signerOf is the signer's certificate in an armored signature, for the
// key ID git shows (%GK) when the signature cannot be checked; nil when it
// cannot be read either. Only for failures: verifying parses it anyway.
func signerOf(sig []byte) *x509.Certificate {
	s, err := cms.ParsePEM(sig)
	if err != nil {
		return nil
	}
	return s.Certificate
}

// check verifies in, saying the verdict on st and why on e.Stderr; memo,
// if not nil, keeps certificate checks for the next run.
func (e *Env) check(st gitsign.Status, in *verifyInputs, memo provenance.Memo) int {
	root, err := parseRoot(in.rootPath, in.root)
	if err != nil {
		return e.unverifiable(st, in, err)
	}
	v := &gitsign.Verifier{Root: root, Memo: memo}
	if in.signersErr != nil {
		err := fmt.Errorf("allowed signers: %w", in.signersErr)
		if errors.Is(in.signersErr, fs.ErrNotExist) && !filepath.IsAbs(in.signersPath) {
			// Where a relative path was looked for, which depends on
			// where git ran (a bare repository, its .git directory).
			abs, _ := filepath.Abs(filepath.Join(e.Dir, in.signersPath))
			if dir := filepath.Dir(abs); !in.bare && isGitDir(dir) {
				// git runs its helpers where it was run from inside a
				// git directory, not at a work tree's top.
				err = clierr.WithHint(err, "git ran gitsign inside the git directory %s, where a relative gitsign.allowedSigners is not the work tree's: run git from the work tree, or give it as an absolute or ~/ path", dir)
			} else {
				err = clierr.WithHint(err, "a relative gitsign.allowedSigners is read from the top of the work tree (a bare repository's own directory), here %s: name it from there, or with an absolute or ~/ path", abs)
			}
		}
		return e.unverifiable(st, in, err)
	}
	if in.signersPath != "" {
		if v.Signers, err = gitsign.ParseAllowedSigners(bytes.NewReader(in.signers), in.signersPath); err != nil {
			return e.unverifiable(st, in, fmt.Errorf("allowed signers: %w", err))
		}
	}
	// The email the allowed signers are checked against: the committer's,
	// tagger's or pusher's. What cannot be read is not verified.
	o, err := gitsign.ParsePayload(in.payload)
	if err != nil {
		return e.unverifiable(st, in, fmt.Errorf("the signed object is malformed: %w", err))
	}
	res, err := v.Verify(in.payload, in.sig, o.Email)
	if err != nil {
		var ve *gitsign.Error
		errors.As(err, &ve)
		if ve != nil && ve.Kind == gitsign.Bad {
			st.Bad(ve.Certificate, ve.Identity)
			fmt.Fprintf(e.Stderr, "gitsign: BAD signature from %s: %s\n", gitsign.Printable(ve.Identity), gitsign.Printable(err.Error()))
		} else {
			var cert *x509.Certificate
			if ve != nil {
				cert = ve.Certificate
			}
			st.Err(cert, time.Now())
			fmt.Fprintf(e.Stderr, "gitsign: cannot verify the signature: %s\n", gitsign.Printable(err.Error()))
			if errors.Is(err, tlog.ErrUnknownLog) {
				fmt.Fprintf(e.Stderr, "gitsign: hint: signed against another instance? pin its trusted root with 'waxseal trust init --from URL', or name it with git config gitsign.trustedRoot FILE\n")
			}
		}
		return clierr.ExitFail
	}
	st.Good(res.Certificate, res.Identity, res.IntegratedTime, res.Trust)
	Describe(e.Stderr, res)
	return clierr.ExitOK
}

// roots keeps the trusted roots this process has parsed, by their content:
// the verify server reads the trusted root for every check, as a gitsign
// started for it would, and parses it again only when it has changed.
var roots struct {
	sync.Mutex
	m map[[32]byte]*trust.Root
}

// rootsKept bounds roots: a user has a trusted root or a few.
const rootsKept = 16

// parseRoot is trust.ParseRootFile, for a document parsed before in this
// process without parsing it again. A trust.Root is not changed once parsed.
func parseRoot(path string, data []byte) (*trust.Root, error) {
	key := sha256.Sum256(data)
	roots.Lock()
	r := roots.m[key]
	roots.Unlock()
	if r != nil {
		return r, nil
	}
	r, err := trust.ParseRootFile(path, data)
	if err != nil {
		return nil, err
	}
	roots.Lock()
	if len(roots.m) >= rootsKept || roots.m == nil {
		roots.m = make(map[[32]byte]*trust.Root)
	}
	roots.m[key] = r
	roots.Unlock()
	return r, nil
}

// Describe is the human explanation git shows for verify-commit and
// log --show-signature. Names from the certificate and the object are shown
// escaped when they hold anything but printable characters.
func Describe(w io.Writer, r *gitsign.Result) {
	fmt.Fprintf(w, "gitsign: Good signature from %s (%s)\n", gitsign.Printable(r.Identity), gitsign.Printable(r.Issuer))
	fmt.Fprintf(w, "gitsign: logged at %s, transparency log index %d; certificate %s\n",
		r.IntegratedTime.UTC().Format(time.RFC3339), r.LogIndex, gitsign.Fingerprint(r.Certificate))
	if r.Trust == gitsign.TrustFully {
		fmt.Fprintf(w, "gitsign: signer is allowed\n")
	} else {
		fmt.Fprintf(w, "gitsign: WARNING: signer is not trusted: %s\n", gitsign.Printable(r.Untrusted))
	}
	if r.Warning != "" {
		fmt.Fprintf(w, "gitsign: WARNING: %s\n", gitsign.Printable(r.Warning))
	}
}

// VerifierWith builds a verifier with the trusted root from
// gitsign.trustedRoot or the pinned one, and the given policy.
func (e *Env) VerifierWith(ctx context.Context, cfg *front.Config, identity func(*fulcio.CertIdentity) error, signers *gitsign.AllowedSigners) (*gitsign.Verifier, error) {
	path, data, err := e.readRoot(ctx, cfg)
	if err != nil {
		return nil, err
	}
	root, err := trust.ParseRootFile(path, data)
	if err != nil {
		return nil, err
	}
	return &gitsign.Verifier{Root: root, Identity: identity, Signers: signers}, nil
}

// readRoot reads the trusted root, unparsed: gitsign.trustedRoot, or the
// one pinned by 'waxseal trust init'.
func (e *Env) readRoot(ctx context.Context, cfg *front.Config) (path string, data []byte, err error) {
	if cfg.TrustedRoot != "" {
		path = e.InRepo(ctx, cfg, cfg.TrustedRoot)
		data, err = readfile.Read(path)
		return path, data, err
	}
	dir, err := trust.Dir()
	if err == nil {
		path, data, err = trust.ReadPinnedRoot(dir)
	}
	if err != nil {
		return "", nil, pinHint(err)
	}
	return path, data, nil
}

// SignersFile is the allowed-signers file a verification reads: signersFile
// if given, else (unless ignoreConfigured) gitsign.allowedSigners, relative
// to the work tree's top level; "" for none.
func (e *Env) SignersFile(ctx context.Context, cfg *front.Config, ignoreConfigured bool, signersFile string) string {
	if signersFile == "" && cfg.AllowedSigners != "" && !ignoreConfigured {
		return e.InRepo(ctx, cfg, cfg.AllowedSigners)
	}
	return signersFile
}

// LoadPinned loads the trust pinned by 'waxseal trust init'.
func LoadPinned() (*trust.Pinned, error) {
	p, err := trust.LoadUserPinned()
	if err != nil {
		return nil, pinHint(err)
	}
	return p, nil
}

// pinHint adds to an error that nothing is pinned how to pin or what to set.
func pinHint(err error) error {
	if errors.Is(err, trust.ErrNotPinned) {
		return clierr.WithHint(err, "pin your instance's trusted root with 'waxseal trust init --from URL', or name one with git config gitsign.trustedRoot FILE")
	}
	return err
}
