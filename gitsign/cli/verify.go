package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/internal/clierr"
	"github.com/waxseal/waxseal/internal/readfile"
)

const verifyHelp = `NAME:
   gitsign verify - verify the signatures of commits and annotated tags, e.g. origin/main..HEAD

USAGE:
   gitsign verify [options] [--] [REV | RANGE]...

DESCRIPTION:
   Verifies the objects the arguments name (default: HEAD), reading the raw
   objects from the repository, each once, in the order first listed.

   With a RANGE among the arguments (A..B, A...B, ^A, A^!, A^@, A^- or A^-N),
   they are read together as git rev-list reads them, e.g. origin/main..HEAD
   or ^v1 main topic, and every commit listed is verified, then, as a tag,
   each annotated tag the range reaches rather than excludes (v1.2 of
   v1.1..v1.2 or ^v1.1 v1.2). Without one, each REV names one object: a
   commit, or an annotated tag, verified as a tag. A tag named by a tag ref
   it was not signed under (v1's object as refs/tags/v2) gets a warning;
   verify-tag refuses it.
   A range that names no commits (an empty pull request) is no failure, but
   says so on stderr. The signed tag a merge embeds (git merge of a signed
   tag) is checked too, as git log --show-signature does: one that does not
   verify, is not an allowed signer's, or tags no parent of the merge is a
   warning beside the merge's own verdict.

   Options may come before or after the revisions; every argument after "--"
   is a revision.

   An identity policy is required: --certificate-identity[-regexp] and
   --certificate-oidc-issuer[-regexp], or an allowed-signers file (--allowed-signers
   or git config gitsign.allowedSigners), or both, and then a signer must pass
   both: the flags narrow the file, they never widen it (--no-allowed-signers
   judges by the flags alone). When the file is in the repository and
   a RANGE is verified, it is read as committed at the range's base (origin/main
   of origin/main..HEAD), not from the work tree: a pull request cannot allow
   its own signers. So is a trusted root in the repository. A range without a
   base (A^@) cannot use such files, and one that reaches the edge of a shallow
   clone is an error: fetch the history it needs. Prints one line per object:
     <object> <verdict> <signer> <issuer> log=<index> <subject>
   (an annotated tag's: ... log=<index> tag=<name> target=<object> <subject>)
   with verdict good, untrusted (valid, identity not allowed), bad, error or unsigned.
   Exits 1 unless every object is good, 2 on a usage error or a bad revision.

OPTIONS:
   --certificate-identity value            the signer's exact identity (email or URI)
   --certificate-identity-regexp value     a regexp the signer's identity must match in full
   --certificate-oidc-issuer value         the exact OIDC issuer
   --certificate-oidc-issuer-regexp value  a regexp the OIDC issuer must match in full
   --certificate-github-workflow-repository value, --certificate-github-workflow-ref value,
   --certificate-github-workflow-sha value, --certificate-github-workflow-trigger value,
   --certificate-github-workflow-name value
                                           a GitHub Actions claim the certificate must carry, exactly
                                           (with an identity and an issuer, as cosign takes them)
   --allowed-signers FILE                  allowed-signers FILE (default: git config gitsign.allowedSigners)
   --no-allowed-signers                    ignore gitsign.allowedSigners: judge by the --certificate-* flags alone
   --trusted-root FILE                     trusted_root.json FILE (default: gitsign.trustedRoot, else the pinned root)
   -C DIR                                  run in DIR, and read relative FILEs from it, as git -C (each relative DIR
                                           from the one before) (default: ".")
   --json                                  print one JSON document on stdout, also when the run fails:
                                           {"ok", "objects": [{"object", "type", "subject", "committer",
                                           "tag", "target", "verdict", "signer", "issuer", "logIndex",
                                           "integratedTime", "certificateSHA256", "certificateFingerprint",
                                           "reason", "warning"}],
                                           "allowedSigners", "trustedRoot", "error"} (default: false)
   --help, -h                              show help
`

// verifyTagHelp comes before verifyHelp's options, which verify-tag takes.
const verifyTagHelp = `NAME:
   gitsign verify-tag - verify the signature of the annotated tag refs/tags/TAG

USAGE:
   gitsign verify-tag [options] TAG
   gitsign verify-tag [options] --object OID TAG

DESCRIPTION:
   sigstore gitsign's command for a tag's own signature: refs/tags/TAG must be
   a tag object signed under that name (not a lightweight tag, a branch, or a
   signed tag moved there from another name). It is 'gitsign verify' of that
   one tag, with the same policy, output and exit codes ('gitsign verify --help'
   says them).

   TAG is taken exactly as given: v1.2, not refs/tags/v1.2. With --object,
   the tag object OID is verified as refs/tags/TAG would hold it: what a
   server's pre-receive hook checks of a pushed tag, before the ref exists
   (git verify-tag does not check the name; 'gitsign verify' only warns).

OPTIONS:
   --object OID                            the tag object to verify as refs/tags/TAG, instead of what that ref holds
`

// verifyOptions are verify's flags.
type verifyOptions struct {
	// verifyTag is verify-tag: refs/tags/<tag> must be a tag object of
	// that name; object, when given (objectSet), is verified as that
	// ref's.
	verifyTag, objectSet                           bool
	tag, object                                    string
	identity, identityRegexp, issuer, issuerRegexp string
	claims                                         map[string]string // by claim, from GitHubWorkflowFlags
	ignoreSCT                                      bool
	allowedSigners, trustedRoot, dir               string
	json, noSigners                                bool
	revs                                           []string
	policySet                                      bool // a --certificate-* flag was given, even empty
}

// parseVerifyArgs takes flags anywhere before a "--", as git does: the flag
// package alone stops at the first revision, and would take the --json of
// `gitsign verify origin/main..HEAD --json` for one.
func parseVerifyArgs(args []string) (*verifyOptions, error) {
	o := &verifyOptions{}
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.identity, "certificate-identity", "", "")
	fs.StringVar(&o.identityRegexp, "certificate-identity-regexp", "", "")
	fs.StringVar(&o.issuer, "certificate-oidc-issuer", "", "")
	fs.StringVar(&o.issuerRegexp, "certificate-oidc-issuer-regexp", "", "")
	fs.StringVar(&o.allowedSigners, "allowed-signers", "", "")
	fs.StringVar(&o.trustedRoot, "trusted-root", "", "")
	fs.StringVar(&o.object, "object", "", "")
	o.dir = "."
	fs.Var(gitDirFlag{&o.dir}, "C", "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.noSigners, "no-allowed-signers", false, "")
	fs.BoolVar(&o.ignoreSCT, "insecure-ignore-sct", false, "")
	o.claims = map[string]string{}
	for flag, claim := range provenance.GitHubWorkflowFlags {
		fs.Func(flag, "", func(v string) error {
			if v != "" { // as cosign and waxseal verify: no requirement
				o.claims[claim] = v
			}
			return nil
		})
	}
	for len(args) > 0 {
		switch a := args[0]; {
		case a == "--":
			o.revs = append(o.revs, args[1:]...)
			args = nil
		case len(a) < 2 || a[0] != '-':
			o.revs = append(o.revs, a)
			args = args[1:]
		default:
			// One flag at a time, with its value: Parse would take a
			// "--" value for the end of the flags.
			n := min(flagArgs(fs, a), len(args))
			if err := fs.Parse(args[:n]); err != nil {
				return nil, err
			}
			args = args[n:]
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "certificate-") {
			o.policySet = true
		}
		o.objectSet = o.objectSet || f.Name == "object"
	})
	if o.ignoreSCT {
		// sigstore's gitsign and cosign take it; what it would skip is a
		// check of the trusted root's, not the caller's, to drop.
		return nil, errors.New("--insecure-ignore-sct is not supported: a certificate's SCT is checked whenever the trusted root lists CT logs (a root without them needs none)")
	}
	for _, r := range o.revs {
		// git reads both as naming no commits, and a check that verifies
		// nothing passes: in a CI job, they are a variable that was not
		// set ("$BASE..HEAD").
		switch {
		case r == "":
			return nil, errors.New("an empty revision: is a variable unset?")
		case strings.HasPrefix(r, ".."):
			dots := ".."
			if strings.HasPrefix(r, "...") {
				dots = "..."
			}
			return nil, fmt.Errorf("%q has nothing before its %q, where git takes HEAD (%s names no commits): is a variable unset? Write HEAD%s%s if HEAD is meant",
				r, dots, dots+"HEAD", dots, r[len(dots):])
		}
	}
	// Only exclusions ("^X", and "^@", which is "$X^@" with X unset: git
	// reads it as "not HEAD") select no commits, and a check of none
	// passes.
	if len(o.revs) > 0 && !slices.ContainsFunc(o.revs, func(r string) bool { return !strings.HasPrefix(r, "^") || strings.Contains(r, "..") }) {
		return nil, fmt.Errorf("%s only excludes commits, so nothing would be verified: is a variable unset? Name the commits to verify too (HEAD ^X, or X..HEAD)",
			strings.Join(o.revs, " "))
	}
	return o, nil
}

// gitDirFlag is -C as git reads it: each relative DIR is taken from the
// one before (git -C a -C b runs in a/b), and an empty one changes nothing.
// The directories are joined, not cleaned: "a/../b" is resolved as git's
// chdir resolves it, through links.
type gitDirFlag struct{ dir *string }

func (f gitDirFlag) String() string {
	if f.dir == nil {
		return ""
	}
	return *f.dir
}

func (f gitDirFlag) Set(v string) error {
	switch {
	case v == "":
	case filepath.IsAbs(v) || *f.dir == ".":
		*f.dir = v
	default:
		*f.dir = strings.TrimSuffix(*f.dir, string(filepath.Separator)) + string(filepath.Separator) + v
	}
	return nil
}

// longFlags writes the flag a flag package error names as it is spelled:
// the package names every flag with one dash, where verify's long ones have
// two ("-C" keeps its one).
func longFlags(msg string) string {
	for _, before := range []string{"defined: -", "argument: -", "flag -", "for -"} {
		i := strings.Index(msg, before)
		if i < 0 {
			continue
		}
		name := msg[i+len(before):]
		if j := strings.IndexAny(name, ": "); j >= 0 {
			name = name[:j]
		}
		if len(name) > 1 {
			return msg[:i+len(before)] + "-" + msg[i+len(before):]
		}
		return msg
	}
	return msg
}

// flagArgs is how many arguments the flag arg takes up: two for "-name
// value", else one ("-name=value", a boolean, or a flag fs does not know,
// which Parse reports).
func flagArgs(fs *flag.FlagSet, arg string) int {
	name, _, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	f := fs.Lookup(name)
	if hasValue || f == nil {
		return 1
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return 1
	}
	return 2
}

func (e *env) verifyCommand(ctx context.Context, args []string) error {
	return e.verifyCommandAs(ctx, "verify", args)
}

// verifyCommandAs runs verify, or verify-tag: sigstore gitsign's command
// for a tag's own signature, which takes one tag name and verifies the tag
// object refs/tags/NAME holds, never a commit (a lightweight tag, or a
// branch of that name); a tag object made under another name is refused
// (a signed v1 moved to refs/tags/v2).
func (e *env) verifyCommandAs(ctx context.Context, name string, args []string) error {
	o, err := parseVerifyArgs(args)
	switch {
	case err != nil:
	case name == "verify-tag" && (len(o.revs) != 1 || o.revs[0] == ""):
		err = fmt.Errorf("verify-tag takes one tag name, got %d", len(o.revs))
	case name == "verify-tag":
		// TAG exactly as given: a hook or a CI job takes refs/tags/ off
		// the ref pushed, and taken off again, refs/tags/refs/tags/v1.2
		// would be checked as v1.2.
		given := o.revs[0]
		o.verifyTag, o.tag = true, given
		o.revs = []string{"refs/tags/" + o.tag}
		if o.tag == "" || strings.HasPrefix(o.tag, "-") || exec.CommandContext(ctx, "git", "check-ref-format", "refs/tags/"+o.tag).Run() != nil {
			err = fmt.Errorf("%q is not a tag name git would take (git check-ref-format)", given)
			break
		}
		switch {
		case o.objectSet && o.object == "":
			// In a hook, an unset variable: what the ref holds now (the
			// old tag, in pre-receive) is not what was asked about.
			err = errors.New("--object is empty: is a variable unset?")
		case o.objectSet && !isHexID(o.object):
			err = fmt.Errorf("--object %q: give the tag object's full ID (40 or 64 hex digits, as a hook is handed it), not a revision", o.object)
		case o.objectSet:
			o.revs = []string{o.object}
		}
	case o.objectSet:
		err = errors.New("--object is verify-tag's: gitsign verify-tag --object OID TAG verifies the tag object OID as refs/tags/TAG")
	}
	if errors.Is(err, flag.ErrHelp) {
		if name == "verify-tag" {
			// verify's options, without verify's name and description.
			_, opts, _ := strings.Cut(verifyHelp, "OPTIONS:\n")
			fmt.Fprint(e.Stdout, verifyTagHelp+opts)
			return nil
		}
		fmt.Fprint(e.Stdout, verifyHelp)
		return nil
	}
	helpHint := fmt.Sprintf("run 'gitsign %s --help'", name)
	if err != nil {
		msg := longFlags(err.Error())
		if front.JSONAsked(args) {
			// The document --json promises, also for a command line
			// that could not be read.
			writeReport(e.Stdout, &verifyReport{Objects: []verifyLine{}, Error: msg})
		}
		return clierr.WithHint(clierr.UsageError{Msg: msg}, "%s", helpHint)
	}
	err = e.verify(ctx, o)
	var ue clierr.UsageError
	if errors.As(err, &ue) && !clierr.HasHint(err) {
		// A bad revision or policy flag: this command's help, not gitsign's.
		err = clierr.WithHint(err, "%s", helpHint)
	}
	return err
}

// verdicts, as printed.
const (
	verdictGood      = "good"
	verdictUntrusted = "untrusted"
	verdictBad       = "bad"
	verdictError     = "error"
	verdictUnsigned  = "unsigned"
)

type verifyLine struct {
	Object  string `json:"object"`
	Type    string `json:"type"`
	Subject string `json:"subject"`
	// Committer is the committer's email, or a tag's tagger's.
	Committer string `json:"committer,omitempty"`
	// Tag and Target are an annotated tag's name and the object it tags.
	Tag            string    `json:"tag,omitempty"`
	Target         string    `json:"target,omitempty"`
	Verdict        string    `json:"verdict"`
	Signer         string    `json:"signer,omitempty"`
	Issuer         string    `json:"issuer,omitempty"`
	LogIndex       *int64    `json:"logIndex,omitempty"`
	IntegratedTime time.Time `json:"integratedTime,omitzero"`
	// CertificateSHA256 is the SHA-256 of the signing certificate (DER),
	// when the signature holds one that could be read; CertificateFingerprint
	// its SHA-1, as git shows it (%GK, git log --show-signature).
	CertificateSHA256      string `json:"certificateSHA256,omitempty"`
	CertificateFingerprint string `json:"certificateFingerprint,omitempty"`
	// Reason says why the verdict is not good; Warning, what the verdict
	// does not decide (a committer email that is not the signer's).
	Reason  string `json:"reason,omitempty"`
	Warning string `json:"warning,omitempty"`
}

// verifyReport is what --json prints: one document, also when the run
// fails before any object is verified (a bad revision, a missing allowed
// signers file), so that a CI job can always read it.
type verifyReport struct {
	// OK is true when every object listed is good, as exit code 0 says.
	OK      bool         `json:"ok"`
	Objects []verifyLine `json:"objects"`
	// AllowedSigners and TrustedRoot say what the objects were checked
	// against: a file, or "PATH at COMMIT" for one read at a range's base.
	AllowedSigners string `json:"allowedSigners,omitempty"`
	TrustedRoot    string `json:"trustedRoot,omitempty"`
	// Error says why OK is false when it is not the objects' verdicts
	// alone, or how many failed.
	Error string `json:"error,omitempty"`
}

func (e *env) verify(ctx context.Context, o *verifyOptions) error {
	rep := &verifyReport{Objects: []verifyLine{}}
	err := e.verifyRun(ctx, o, rep)
	if !o.json {
		return err
	}
	rep.OK = err == nil
	if err != nil && rep.Error == "" {
		rep.Error = err.Error()
	}
	if jerr := writeReport(e.Stdout, rep); jerr != nil && err == nil {
		return jerr
	}
	return err
}

// writeReport prints rep as --json does.
func writeReport(w io.Writer, rep *verifyReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func (e *env) verifyRun(ctx context.Context, o *verifyOptions, rep *verifyReport) error {
	dir := o.dir
	e.Dir = dir
	// The configuration of the repository git finds from dir, not of one
	// gitsign would find by itself: a directory in the work tree that looks
	// like a repository to anything but git (a pull request's pkg/ with a
	// HEAD, objects/, refs/ and a config) must not set the allowed signers.
	layout, err := front.RepoLayout(ctx, dir)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return err
		}
		if abs, aerr := filepath.Abs(dir); aerr == nil {
			dir = abs
		}
		hint := "run in a repository or pass -C DIR"
		if _, serr := os.Stat(dir); serr != nil || strings.Contains(err.Error(), "not a git repository") {
			// Where it was run, not the repository, is what is wrong.
			return clierr.WithHint(clierr.Usagef("%s: %v", dir, err), "%s", hint)
		}
		return clierr.WithHint(fmt.Errorf("%s: %w", dir, err), "%s", hint)
	}
	cfg := front.LoadConfig(ctx, dir, func(k string) string {
		if k == "GIT_DIR" {
			return layout.GitDir
		}
		return e.Getenv(k)
	})
	if o.trustedRoot != "" {
		cfg.TrustedRoot = inDir(dir, o.trustedRoot)
	}
	var identity func(*fulcio.CertIdentity) error
	if o.policySet {
		p := provenance.Policy{
			Identity: o.identity, IdentityRegexp: o.identityRegexp,
			Issuer: o.issuer, IssuerRegexp: o.issuerRegexp,
		}
		if len(o.claims) > 0 {
			p.Claims = o.claims
		}
		m, err := p.Compile() // exactly one identity and one issuer flag
		if err != nil {
			var pe *provenance.Error
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return clierr.Usagef("%v", err)
		}
		identity = m.Check
	}
	switch {
	case o.noSigners && o.allowedSigners != "":
		return clierr.Usagef("--allowed-signers and --no-allowed-signers are exclusive")
	case o.noSigners && identity == nil:
		return clierr.WithHint(clierr.Usagef("--no-allowed-signers leaves no identity policy: who may sign?"),
			"pass --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")
	}
	if identity == nil && o.allowedSigners == "" && cfg.AllowedSigners == "" {
		return clierr.WithHint(clierr.Usagef("no identity policy: who may sign?"),
			"pass --certificate-identity and --certificate-oidc-issuer, or --allowed-signers FILE, or set git config gitsign.allowedSigners")
	}
	revs := o.revs
	if len(revs) == 0 {
		revs = []string{"HEAD"}
	}
	repo, err := openRepo(ctx, dir)
	if err != nil {
		return err
	}
	defer repo.Close()
	if o.verifyTag && !o.objectSet {
		if err := exec.CommandContext(ctx, "git", "-C", repo.dir, "rev-parse", "--verify", "--quiet", "--end-of-options", "refs/tags/"+o.tag).Run(); err != nil {
			hint := "'git tag -l' lists this repository's tags; 'git fetch --tags' fetches a remote's"
			if name, ok := strings.CutPrefix(o.tag, "refs/tags/"); ok {
				hint = fmt.Sprintf("TAG is a tag's name, without refs/tags/: gitsign verify-tag %s", name)
			}
			return clierr.WithHint(clierr.Usagef("no tag named %q here (refs/tags/%s)", o.tag, o.tag), "%s", hint)
		}
	}
	var v *gitsign.Verifier
	if cfg.TrustedRoot != "" {
		// Like the allowed signers, a trusted root committed to the
		// repository is the range's base's: a pull request's own could
		// trust its own certificate authority and log.
		data, source, err := e.policyFile(ctx, repo, revs, e.InRepo(ctx, cfg, cfg.TrustedRoot), configured(o.trustedRoot == "", cfg.TrustedRoot), "trusted root", "--trusted-root")
		if err != nil {
			return err
		}
		rep.TrustedRoot = source
		root, err := trust.ParseRootFile(source, data)
		if err != nil {
			return err
		}
		v = &gitsign.Verifier{Root: root, Identity: identity}
	} else if v, err = e.VerifierWith(ctx, cfg, identity, nil); err != nil {
		if errors.Is(err, trust.ErrNotPinned) {
			// A CI job has the instance's trusted_root.json, not a pin.
			return clierr.WithHint(err, "pass --trusted-root FILE (the trusted_root.json of the instance the commits were signed with; in CI, one committed or fetched beside the job), set git config gitsign.trustedRoot FILE, or pin one with 'waxseal trust init --from URL'")
		}
		return err
	} else {
		rep.TrustedRoot = "pinned (waxseal trust init)"
	}
	// The configured file applies with the identity flags too: a CI job
	// that adds a broad --certificate-identity-regexp must not lose the
	// repository's list of signers, and with it the committer's binding.
	if file := e.SignersFile(ctx, cfg, o.noSigners, inDir(dir, o.allowedSigners)); file != "" {
		if v.Signers, rep.AllowedSigners, err = e.allowedSigners(ctx, repo, revs, file, configured(o.allowedSigners == "", cfg.AllowedSigners)); err != nil {
			return err
		}
	}
	// Text lines are printed as they are decided, in order, so that a long
	// range shows its progress; JSON is one document, written at the end.
	var (
		failed int
		stdout = newLineWriter(e.Stdout)
	)
	var listed int // commits the revisions listed, tags aside
	n, err := verifyAll(repo, v, func(emit func(string)) (err error) {
		listed, err = repo.list(ctx, revs, emit)
		return err
	}, func(l verifyLine) {
		switch {
		case !o.verifyTag:
		case l.Type != "tag" && o.objectSet:
			l.Verdict, l.Reason = verdictError, fmt.Sprintf("%s, to be refs/tags/%s, is a %s, not a tag object with a signature of its own (git tag -s makes one)", o.object, o.tag, l.Type)
		case l.Type != "tag":
			l.Verdict, l.Reason = verdictError, fmt.Sprintf("refs/tags/%s is a %s, not a tag object with a signature of its own: 'gitsign verify %s' verifies the %s", o.tag, l.Type, o.tag, l.Type)
		case l.Tag != o.tag && l.Verdict == verdictGood && o.objectSet:
			l.Verdict, l.Reason = verdictError, fmt.Sprintf("%s, to be refs/tags/%s, is a tag signed as %q: a signed tag under another name", o.object, o.tag, l.Tag)
		case l.Tag != o.tag && l.Verdict == verdictGood:
			l.Verdict, l.Reason = verdictError, fmt.Sprintf("refs/tags/%s holds a tag signed as %q: a signed tag under another name", o.tag, l.Tag)
		}
		if !o.verifyTag {
			tagRefs, nameWarnings := repo.namesOf(l.Object)
			for _, w := range nameWarnings {
				l.warn(w)
			}
			for _, ref := range tagRefs {
				// git verify-tag shows it as good; a release gate that
				// checks v1.2.0 means the tag signed as v1.2.0.
				if name := strings.TrimPrefix(ref, "refs/tags/"); l.Type == "tag" && l.Tag != name {
					l.warn(fmt.Sprintf("%s holds a tag signed as %q: a signed tag under another name ('gitsign verify-tag %s' refuses it)", ref, l.Tag, name))
				}
			}
		}
		if l.Verdict != verdictGood {
			failed++
		}
		if o.json {
			rep.Objects = append(rep.Objects, l)
		} else {
			printLine(stdout, l)
		}
	})
	if ferr := stdout.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}

	if listed == 0 {
		// Not a failure (a pull request may be empty), but a CI job
		// verifying a stale range should not pass unnoticed, also when
		// a tag named beside it was verified.
		verb := "names"
		if len(revs) > 1 {
			verb = "name"
		}
		if n == 0 {
			fmt.Fprintf(e.Stderr, "gitsign: nothing to verify: %s %s no commits\n", strings.Join(revs, " "), verb)
		} else {
			fmt.Fprintf(e.Stderr, "gitsign: note: %s %s no commits; only the tags were verified\n", strings.Join(revs, " "), verb)
		}
	}
	if failed > 0 {
		rep.Error = fmt.Sprintf("%d of %d objects failed verification", failed, n)
		if !o.json {
			fmt.Fprintf(e.Stderr, "gitsign: error: %s\n", rep.Error)
		}
		return clierr.ExitCode(clierr.ExitFail)
	}
	return nil
}

// configured is a path from git config, when fromConfig says it is the one
// used, and relative: a path in the repository.
func configured(fromConfig bool, p string) string {
	if !fromConfig || filepath.IsAbs(p) || strings.HasPrefix(p, "~/") {
		return ""
	}
	return p
}

// allowedSigners reads the allowed-signers file, the range's own when
// policyFile says so.
func (e *env) allowedSigners(ctx context.Context, repo *repository, revs []string, file, inRepo string) (*gitsign.AllowedSigners, string, error) {
	data, source, err := e.policyFile(ctx, repo, revs, file, inRepo, "allowed signers", "--allowed-signers")
	if err != nil {
		return nil, "", err
	}
	s, err := gitsign.ParseAllowedSigners(bytes.NewReader(data), source)
	if err != nil {
		return nil, "", fmt.Errorf("allowed signers: %w", err)
	}
	return s, source, nil
}

// policyFile reads a file that decides what a verification accepts (the
// allowed signers, the trusted root). When the revisions name a range and
// the file's path is in the work tree, the file is read as committed at
// the range's base (the commits the range excludes) rather than from the
// work tree: a CI job checks out the pull request it verifies, and the
// pull request's own file could allow its own signers, or trust its own
// certificate authority. A file outside the repository, or in the work
// tree but in no commit at all, is the user's own.
//
// A bare repository (a server's, verifying pushes) has no work tree: a
// relative path from git config (inRepo) is the repository directory's
// file, as git log reads it there. Not a committed one: the base of a
// pushed range is the branch's old tip, which the pusher chose.
//
// what names the file in messages, flag the option that names one outside
// the repository.
func (e *env) policyFile(ctx context.Context, repo *repository, revs []string, file, inRepo, what, flag string) (data []byte, source string, err error) {
	rel, inTree, err := repo.workTreePath(ctx, file)
	if err != nil {
		// Not knowing whether the file is the range's own must not let it
		// be read from the work tree.
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	bare := false
	if !inTree && inRepo != "" {
		_, hasTop, err := front.WorkTreeTop(ctx, repo.dir)
		bare = !hasTop && err == nil
	}
	if inTree && slices.ContainsFunc(revs, rangeLike) {
		data, source, err := e.fileAtBase(ctx, repo, revs, rel, what, flag)
		if data != nil || err != nil {
			return data, source, err
		}
	} else if inTree {
		// As git log reads it; say so when a commit could have changed it.
		if tracked, err := repo.tracks(ctx, "HEAD", rel); err == nil && tracked {
			fmt.Fprintf(e.Stderr, "gitsign: %s: %s from the work tree, as checked out: to check a pull request against the file its base has, verify BASE..TIP\n", what, rel)
		}
	}
	if data, err = readfile.Read(file); err != nil {
		err = fmt.Errorf("%s: %w", what, err)
		if bare && errors.Is(err, fs.ErrNotExist) {
			err = clierr.WithHint(err, "without a work tree, a relative %s is read from the repository's directory: put the policy there, or pass %s FILE", inRepo, flag)
		}
		return nil, "", err
	}
	return data, file, nil
}

// fileAtBase reads rel as committed at the range's base: the same file at
// every excluded commit, symbolic links followed within each commit's own
// tree. Neither data nor an error is returned when the checked-out commit
// (HEAD) does not track the file (nor a submodule or symbolic link on its
// way) and no base has it either: the work tree's file is then nobody's
// commit but the user's.
func (e *env) fileAtBase(ctx context.Context, repo *repository, revs []string, rel, what, flag string) ([]byte, string, error) {
	var bases []string
	if err := repo.revs(ctx, "git rev-parse", func(id string) {
		if b, ok := strings.CutPrefix(id, "^"); ok && !slices.Contains(bases, b) {
			bases = append(bases, b)
		}
	}, append(append([]string{"rev-parse", "--end-of-options"}, revs...), "--")...); err != nil {
		return nil, "", err
	}
	why := "a range is checked against the " + what + " its base has, so that its own commits cannot change what they are checked against"
	if len(bases) == 0 {
		// A^@, A^! of a root commit: no base to read it from; and the
		// work tree's file may be the range's own.
		if tracked, err := repo.tracks(ctx, "HEAD", rel); err != nil || !tracked {
			return nil, "", err
		}
		return nil, "", clierr.WithHint(fmt.Errorf("%s: %s is in the repository, and %s excludes no commits to read it from", what, rel, strings.Join(revs, " ")),
			"%s: name a base (gitsign verify BASE..TIP), or pass %s with a file outside the repository", why, flag)
	}
	// The commits, not the annotated tags that may name them (v1.0..HEAD),
	// so that messages name a commit and a tag and its commit are one base.
	peel := make([]string, 0, len(bases)+3)
	peel = append(peel, "rev-parse", "--end-of-options")
	for _, b := range bases {
		peel = append(peel, b+"^{commit}")
	}
	bases = bases[:0]
	if err := repo.revs(ctx, "git rev-parse", func(id string) {
		// git 2.39's rev-parse echoes --end-of-options.
		if _, err := hex.DecodeString(id); err == nil && !slices.Contains(bases, id) {
			bases = append(bases, id)
		}
	}, peel...); err != nil {
		return nil, "", err
	}
	specs := make([]string, len(bases))
	for i, b := range bases {
		specs[i] = b + ":" + rel
	}
	files, err := repo.filesAt(ctx, specs)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	found := 0
	for _, f := range files {
		if f.err == nil {
			found++
		}
	}
	switch {
	case found == 0:
		if tracked, err := repo.tracks(ctx, "HEAD", rel); err != nil || !tracked {
			return nil, "", err
		}
		return nil, "", clierr.WithHint(fmt.Errorf("%s: %s is not in %s, the range's base: %w", what, rel, short(bases[0]), files[0].err),
			"%s: commit it to the base branch first, or pass %s with a file outside the repository", why, flag)
	case found < len(files):
		for i, f := range files {
			if f.err != nil {
				return nil, "", clierr.WithHint(fmt.Errorf("%s: %s is in some of the range's bases but not in %s: %w", what, rel, short(bases[i]), f.err),
					"%s: verify from one base (gitsign verify BASE..TIP), or pass %s with a file outside the repository", why, flag)
			}
		}
	}
	for i, f := range files[1:] {
		if f.id != files[0].id {
			return nil, "", clierr.WithHint(fmt.Errorf("%s: %s differs between the range's bases %s and %s", what, rel, short(bases[0]), short(bases[i+1])),
				"%s: verify from one base (gitsign verify BASE..TIP), or pass %s with a file outside the repository", why, flag)
		}
	}
	fmt.Fprintf(e.Stderr, "gitsign: %s: %s as committed at %s, the range's base, not the work tree's\n", what, rel, short(bases[0]))
	return files[0].data, rel + " at " + short(bases[0]), nil
}

func short(id string) string { return id[:min(len(id), 12)] }

// workTreePath is file's path in the repository's work tree, with slashes,
// if it is in it. The path is taken as written below the top of the work
// tree: symbolic links in the work tree, which a checkout of the commits
// being verified made, are not followed.
func (r *repository) workTreePath(ctx context.Context, file string) (string, bool, error) {
	top, ok, err := front.WorkTreeTop(ctx, r.dir)
	if err != nil || !ok {
		return "", false, err // !ok: a bare repository
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", false, err
	}
	// git prints the top with symbolic links resolved; the path may reach
	// it through one (a link to the checkout, /tmp on macOS): find the
	// directory on the path that is the top. The highest such: below the
	// top, a link the commits being verified made (conf -> .) also
	// resolves to it, and would make conf/.gitsigners read as .gitsigners.
	rel, found := "", false
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil && real == top {
			r, _ := filepath.Rel(dir, abs)
			rel, found = filepath.ToSlash(r), true
		}
		if dir == filepath.Dir(dir) {
			return rel, found, nil
		}
	}
}

// gitFailed is err of a git command that failed, with what git said on
// stderr (which Output keeps): "exit status 128" alone tells nothing, as of
// a partial clone whose promisor remote cannot be reached for a file.
func gitFailed(what string, err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		var lines []string
		for _, l := range strings.Split(string(ee.Stderr), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		if said := strings.Join(lines, "; "); said != "" {
			return fmt.Errorf("%s: %w: %s", what, err, gitsign.Printable(said))
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// fileAt is a file as one commit has it.
type fileAt struct {
	id   string
	data []byte
	err  error // why the commit has no such file
}

// filesAt reads the files named COMMIT:PATH, following symbolic links
// within each commit's tree (git cat-file --follow-symlinks). A path that
// is missing, leads out of the tree or through a submodule, or names
// anything but a file, is an entry with its err set.
func (r *repository) filesAt(ctx context.Context, specs []string) ([]fileAt, error) {
	cmd := exec.CommandContext(ctx, "git", "--no-replace-objects", "-C", r.dir, "cat-file", "--batch", "--follow-symlinks")
	cmd.Stdin = strings.NewReader(strings.Join(specs, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		return nil, gitFailed("git cat-file", err)
	}
	rd := bufio.NewReader(bytes.NewReader(out))
	files := make([]fileAt, len(specs))
	for i, spec := range specs {
		head, err := rd.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file: short output for %s", spec)
		}
		f := strings.Fields(head)
		// "<id> <type> <size>", "<spec> missing", or "<what> <size>"
		// followed by that many bytes (a symbolic link out of the tree,
		// a dangling one, a loop, or a path through a file).
		var body []byte
		if n, err := strconv.Atoi(f[len(f)-1]); err == nil && len(f) >= 2 {
			body = make([]byte, n)
			if _, err := io.ReadFull(rd, body); err != nil {
				return nil, fmt.Errorf("git cat-file: short output for %s", spec)
			}
			rd.ReadByte() // the newline after the contents
		}
		switch {
		case len(f) == 3 && f[1] == "blob":
			files[i] = fileAt{id: f[0], data: body}
		case len(f) == 3:
			files[i].err = fmt.Errorf("it is a %s", f[1])
		case f[len(f)-1] == "missing":
			files[i].err = errors.New("no such file")
		default:
			files[i].err = fmt.Errorf("%s %q", f[0], body)
		}
	}
	return files, nil
}

// tracks reports whether commit has path, or a file, symbolic link or
// submodule where one of the directories on its way would be.
func (r *repository) tracks(ctx context.Context, commit, path string) (bool, error) {
	args := []string{"--no-replace-objects", "-C", r.dir, "ls-tree", "--full-tree", "-z", commit, "--"}
	for p := path; p != "." && p != "/" && p != ""; p = filepath.ToSlash(filepath.Dir(p)) {
		args = append(args, p)
	}
	out, err := exec.CommandContext(ctx, "git", args...).Output()
	if err != nil {
		return false, gitFailed("git ls-tree "+commit, err)
	}
	for _, entry := range strings.Split(string(out), "\x00") {
		meta, name, ok := strings.Cut(entry, "\t")
		if ok && (name == path || !strings.Contains(meta, " tree ")) {
			return true, nil
		}
	}
	return false, nil
}

// inDir makes a relative path given with -C DIR relative to DIR, as git -C
// does, and "~/" the home directory's.
func inDir(dir, path string) string {
	if strings.HasPrefix(path, "~/") {
		// --allowed-signers=~/f: no shell expands it.
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, path[2:])
		}
		return path
	}
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	// The directory as git's chdir to it resolves it: "link/.." is the
	// parent of link's target, not the directory holding link.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	// Absolute, so that nothing later reads it against another directory.
	if abs, err := filepath.Abs(filepath.Join(dir, path)); err == nil {
		return abs
	}
	return filepath.Join(dir, path)
}

func printLine(w io.Writer, l verifyLine) {
	logIndex := "-"
	if l.LogIndex != nil {
		logIndex = strconv.FormatInt(*l.LogIndex, 10)
	}
	signer, issuer := field(l.Signer), field(l.Issuer)
	subject := gitsign.Printable(l.Subject)
	if l.Type == "tag" {
		// What a signed tag vouches for: its name and the object it names.
		subject = fmt.Sprintf("tag=%s target=%s %s", field(l.Tag), field(l.Target), subject)
	}
	fmt.Fprintf(w, "%s %-9s %s %s log=%s %s\n", l.Object, l.Verdict, signer, issuer, logIndex, subject)
	if l.Reason != "" {
		fmt.Fprintf(w, "    %s\n", gitsign.Printable(l.Reason))
	}
	if l.Warning != "" {
		fmt.Fprintf(w, "    warning: %s\n", gitsign.Printable(l.Warning))
	}
}

// lineWriter buffers what is written to w and writes it out when its
// buffer is full or a tenth of a second after the first write since the
// last, so that a long run prints in a few large writes yet shows its
// progress, even when it stalls.
type lineWriter struct {
	mu    sync.Mutex
	buf   *bufio.Writer
	timer *time.Timer // pending write-out, if any
	err   error       // the first error of a timed write-out
}

func newLineWriter(w io.Writer) *lineWriter {
	return &lineWriter{buf: bufio.NewWriterSize(w, 32<<10)}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(100*time.Millisecond, func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.timer = nil
			if err := w.buf.Flush(); err != nil && w.err == nil {
				w.err = err
			}
		})
	}
	return w.buf.Write(p)
}

// Flush writes out what is buffered and returns the first error of any
// write-out.
func (w *lineWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	err := w.buf.Flush()
	if w.err != nil {
		return w.err
	}
	return err
}

// field is one column of a verification line: "-" when empty, quoted when
// it holds a space or anything unprintable, so that the columns stay apart
// whatever a certificate says.
func field(s string) string {
	switch {
	case s == "":
		return "-"
	case strings.ContainsRune(s, ' '):
		return strconv.Quote(s)
	}
	return gitsign.Printable(s)
}

// verifyAll verifies the objects list hands out in parallel, while list is
// still running (git rev-list takes a while over a long range), and hands
// each line to out in list's order as soon as it and all before it are
// decided; out is never called concurrently. It returns how many objects
// list handed out.
func verifyAll(repo *repository, v *gitsign.Verifier, list func(emit func(id string)) error, out func(verifyLine)) (int, error) {
	// Verifying allocates briefly and much, and a run is short: collect
	// less often than the default.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	type job struct {
		i  int
		id string
	}
	var (
		work    = make(chan job, 1024)
		wg      sync.WaitGroup
		mu      sync.Mutex
		pending = map[int]verifyLine{} // decided, waiting for one before them
		next    int                    // the next line out takes
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				l := verifyOne(repo, v, j.id)
				mu.Lock()
				pending[j.i] = l
				for {
					l, ok := pending[next]
					if !ok {
						break
					}
					delete(pending, next)
					out(l)
					next++
				}
				mu.Unlock()
			}
		}()
	}
	n := 0
	err := list(func(id string) {
		work <- job{n, id}
		n++
	})
	close(work)
	wg.Wait()
	return n, err
}

func verifyOne(repo *repository, v *gitsign.Verifier, id string) verifyLine {
	l := verifyLine{Object: id}
	typ, raw, err := repo.read(id)
	if err != nil {
		l.Verdict, l.Reason = verdictError, err.Error()
		if tl := (*tooLargeError)(nil); errors.As(err, &tl) {
			l.Type = tl.typ
		}
		return l
	}
	l.Type = typ
	o, err := gitsign.ParseObject(typ, raw, repo.format)
	if err != nil {
		l.Verdict, l.Reason = verdictError, err.Error()
		return l
	}
	l.Subject, l.Committer = subjectOf(o), o.Email
	l.Target, l.Tag = o.Target, o.TagName
	if o.Signature == nil {
		l.Verdict = verdictUnsigned
		switch {
		case o.Glued:
			l.Reason = "the tag's signature is glued to the end of its message's last line (it was signed with a message that did not end in a line break, as git tag --cleanup=verbatim -F FILE makes), where git cannot find it to verify: make the tag again with a message that ends in one"
		case typ == "tag":
			l.Reason = "the tag carries no signature: it was made without -s (git tag -s signs)"
		default:
			l.Reason = "the commit carries no signature (no gpgsig header): it was made without -S or commit.gpgSign"
		}
		return l
	}
	res, err := v.Verify(o.Payload, o.Signature, o.Email)
	if err != nil {
		var ve *gitsign.Error
		l.Verdict, l.Reason = verdictError, err.Error()
		if errors.As(err, &ve) && ve.Kind == gitsign.Bad {
			l.Verdict = verdictBad
		}
		// No signer: nothing vouched for the certificate's name. It is in
		// the reason, for the one reading it.
		if ve != nil && ve.Identity != "" {
			l.Reason = fmt.Sprintf("%s (the certificate names %s, unverified)", l.Reason, ve.Identity)
		}
		if ve != nil && ve.Certificate != nil {
			l.CertificateSHA256, l.CertificateFingerprint = certSHA256(ve.Certificate), gitsign.Fingerprint(ve.Certificate)
		}
		return l
	}
	l.Signer, l.Issuer = res.Identity, res.Issuer
	l.CertificateSHA256, l.CertificateFingerprint = certSHA256(res.Certificate), gitsign.Fingerprint(res.Certificate)
	l.LogIndex, l.IntegratedTime = &res.LogIndex, res.IntegratedTime.UTC()
	l.Verdict, l.Warning = verdictGood, res.Warning
	if res.Trust != gitsign.TrustFully {
		l.Verdict, l.Reason = verdictUntrusted, res.Untrusted
	}
	// The signed tags a merge embeds vouch for what it merged, as git log
	// --show-signature shows them; the verdict is the merge's own
	// signature's, and what is wrong with a merged tag is said beside it.
	for _, raw := range o.MergeTags {
		l.warn(mergedTag(v, raw, o.Parents, repo.format))
	}
	return l
}

// warn adds w, if any, to what the line says it does not decide.
func (l *verifyLine) warn(w string) {
	switch {
	case w == "":
	case l.Warning == "":
		l.Warning = w
	default:
		l.Warning += "; " + w
	}
}

// mergedTag checks a tag a merge embeds (a mergetag header) as git log
// --show-signature does: that it tags one of the merge's parents, and its
// signature. It returns what is wrong, or "".
func mergedTag(v *gitsign.Verifier, raw []byte, parents []string, format string) string {
	t, err := gitsign.ParseObject("tag", raw, format)
	if err != nil {
		return "a merged tag cannot be read: " + err.Error()
	}
	if t.TagName == "" {
		return "a merged tag has no tag header: git reads it as malformed"
	}
	name := gitsign.Printable(t.TagName)
	if !slices.ContainsFunc(parents, func(p string) bool { return strings.EqualFold(p, t.Target) }) {
		return fmt.Sprintf("merged tag %s names %s, not a parent of this commit", name, gitsign.Printable(t.Target))
	}
	if t.Signature == nil {
		return "" // git embeds signed tags only; an unsigned one claims nothing
	}
	res, err := v.Verify(t.Payload, t.Signature, t.Email)
	switch {
	case err != nil:
		return fmt.Sprintf("merged tag %s: its signature does not verify: %v", name, err)
	case res.Trust != gitsign.TrustFully:
		return fmt.Sprintf("merged tag %s: signed by %s (%s), who is not allowed: %s", name, gitsign.Printable(res.Identity), gitsign.Printable(res.Issuer), res.Untrusted)
	case res.Warning != "":
		return fmt.Sprintf("merged tag %s: %s", name, res.Warning)
	}
	return ""
}

func certSHA256(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// repository reads raw objects: with go-git's object formats for SHA-1
// repositories (objectStore), with `git cat-file --batch` for SHA-256 ones
// (go-git v5 supports one object format per build, chosen by a build tag).
// Either way the bytes are checked against the object ID before use.
type repository struct {
	dir    string
	format string // "sha1" or "sha256"

	// gitDir and stores serve SHA-1 repositories: an objectStore is not
	// safe for concurrent reads, so each verifying goroutine takes one of
	// its own (they share nothing but the files).
	gitDir string
	stores chan *objectStore

	mu    sync.Mutex // cat-file is read one object at a time
	batch *catFile

	// tagRefs are the tag refs the revisions named objects by
	// (refs/tags/v1.2 of "v1.2"), and nameWarnings what is wrong with the
	// names (ambiguous ones), by object ID: a tag object signed under
	// another name is said. Set while listing, read as verdicts come in.
	tagRefsMu    sync.Mutex
	refs         map[string]bool // every ref, for names
	tagRefs      map[string][]string
	nameWarnings map[string][]string
}

// refRules are the refs a name can stand for, in the order git's rev-parse
// tries them (refs.c ref_rev_parse_rules); git checkout prefers a branch.
var refRules = []string{"%s", "refs/%s", "refs/tags/%s", "refs/heads/%s", "refs/remotes/%s", "refs/remotes/%s/HEAD"}

// noteName records what the name rev, which resolved to id, says of it:
// the tag ref it names (a tag object is checked against that name), and
// whether it is ambiguous (v1 a tag and a branch: git rev-parse and
// gitsign take the tag, git checkout the branch). The refs come from one
// git for-each-ref, read the first time a name is noted.
func (r *repository) noteName(ctx context.Context, rev, id string) {
	if r.isObjectID(rev) {
		return
	}
	// v1^{} and v1^{tag} name what v1 names, or the tag itself.
	base := strings.TrimSuffix(strings.TrimSuffix(rev, "^{}"), "^{tag}")
	if base == "" || strings.ContainsAny(base, "^~:@ \n") {
		return // a revision expression, not a name
	}
	r.tagRefsMu.Lock()
	defer r.tagRefsMu.Unlock()
	if r.refs == nil {
		r.refs = map[string]bool{}
		out, err := exec.CommandContext(ctx, "git", "--no-replace-objects", "-C", r.dir, "for-each-ref", "--format=%(refname)").Output()
		if err != nil {
			return
		}
		for _, ref := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			r.refs[ref] = true
		}
	}
	var matches []string
	for _, rule := range refRules {
		if ref := fmt.Sprintf(rule, base); r.refs[ref] && !slices.Contains(matches, ref) {
			matches = append(matches, ref)
		}
	}
	if len(matches) == 0 {
		return
	}
	if r.tagRefs == nil {
		r.tagRefs, r.nameWarnings = map[string][]string{}, map[string][]string{}
	}
	if strings.HasPrefix(matches[0], "refs/tags/") && !slices.Contains(r.tagRefs[id], matches[0]) {
		r.tagRefs[id] = append(r.tagRefs[id], matches[0])
	}
	if len(matches) > 1 {
		w := fmt.Sprintf("%q is ambiguous: it names %s, and %s too (git checkout takes a branch before a tag); name the ref in full", base, matches[0], strings.Join(matches[1:], ", "))
		if !slices.Contains(r.nameWarnings[id], w) {
			r.nameWarnings[id] = append(r.nameWarnings[id], w)
		}
	}
}

// namesOf are the tag refs and the warnings noteName recorded for id.
func (r *repository) namesOf(id string) (tagRefs, warnings []string) {
	r.tagRefsMu.Lock()
	defer r.tagRefsMu.Unlock()
	return r.tagRefs[id], r.nameWarnings[id]
}

func openRepo(ctx context.Context, dir string) (*repository, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--path-format=absolute", "--git-common-dir", "--show-object-format").Output()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, err
	}
	// One line each, and the directory's may hold spaces, even newlines.
	common, format, ok := cutLast(strings.TrimSuffix(string(out), "\n"), "\n")
	if err != nil || !ok {
		return nil, notRepository(dir)
	}
	r := &repository{dir: dir, format: format}
	switch {
	case r.format == "sha1" && !objectsElsewhere(os.Getenv):
		r.gitDir = common
		r.stores = make(chan *objectStore, runtime.GOMAXPROCS(0))
	case r.format == "sha1" || r.format == "sha256":
		if r.batch, err = startCatFile(dir); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported object format %q", r.format)
	}
	return r, nil
}

// objectsElsewhere tells when git's environment puts objects where go-git
// does not look: a hook's quarantine (objects pushed but not yet accepted,
// in GIT_OBJECT_DIRECTORY with the repository's as an alternate), or
// alternates named in the environment. git cat-file reads them there.
func objectsElsewhere(getenv func(string) string) bool {
	return getenv("GIT_OBJECT_DIRECTORY") != "" || getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES") != "" || getenv("GIT_QUARANTINE_PATH") != ""
}

func notRepository(dir string) error {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return clierr.WithHint(fmt.Errorf("%s is not a git repository", dir), "run in a repository or pass -C DIR")
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

func (r *repository) Close() {
	if r.batch != nil {
		r.batch.close()
	}
	for r.stores != nil {
		select {
		case s := <-r.stores:
			s.Close()
		default:
			return
		}
	}
}

// list expands revisions and ranges into object IDs, handing each to emit
// once, as git prints it. With any range-like argument, all of them are git
// rev-list's, so that "^A B" or "A..B C" mean what they mean to git;
// otherwise each names one object (an annotated tag stays a tag).
func (r *repository) list(ctx context.Context, revs []string, emit func(id string)) (commits int, err error) {
	for _, rev := range revs {
		if rev == "--" {
			// To rev-list, what follows would be paths, and a range only
			// the commits that touch them.
			return 0, clierr.Usagef(`bad revision "--"`)
		}
	}
	if slices.ContainsFunc(revs, rangeLike) {
		shallow, err := r.shallowCommits(ctx)
		if err != nil {
			return 0, err
		}
		// rev-list lists each commit once. In a shallow clone it stops at
		// the commits whose parents were not fetched, and lists none of
		// what lies behind them: a range that reaches one is cut short,
		// and verifying what is left would pass commits never looked at.
		var cuts []string
		if err := r.revs(ctx, "git rev-list", func(id string) {
			if shallow[id] {
				cuts = append(cuts, id)
			}
			commits++
			emit(id)
		}, append(append([]string{"rev-list", "--end-of-options"}, revs...), "--")...); err != nil {
			return 0, err
		}
		if len(cuts) > 0 {
			// C^! names C alone, whether or not its parents were
			// fetched (a shallow clone's git sees it without parents,
			// so nothing is excluded, but nothing is hidden either).
			alone := map[string]bool{}
			for _, rev := range revs {
				if c, ok := strings.CutSuffix(rev, "^!"); ok {
					r.revs(ctx, "", func(id string) { alone[id] = true }, "rev-parse", "--verify", "--quiet", "--end-of-options", c+"^{commit}")
				}
			}
			cuts = slices.DeleteFunc(cuts, func(id string) bool { return alone[id] })
		}
		if len(cuts) > 0 {
			cut := cuts[0]
			return 0, clierr.WithHint(fmt.Errorf("%s reaches the edge of this shallow clone at %s, whose parents were not fetched: the commits behind it are not verified", strings.Join(revs, " "), short(cut)),
				"fetch the history the range needs (git fetch --unshallow, or --deepen N; actions/checkout with fetch-depth: 0) and verify again")
		}
		// rev-list peels an annotated tag to its commit; one the range
		// reaches (v1.2 of v1.1..v1.2, of ^v1.1 v1.2, or named beside it)
		// is verified as a tag too, as it would be named alone: whoever
		// names it means its signature.
		tags, err := r.namedTags(ctx, revs)
		if err != nil {
			return 0, err
		}
		for _, id := range tags {
			emit(id)
		}
		return commits, nil
	}
	// Every revision is resolved before any is handed out: a bad one is a
	// usage error, with nothing verified or printed before it.
	// Object IDs in full (what a hook's git rev-list hands on, many at a
	// time) are looked up in one git run, the rest one git run each.
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	var full []string
	for _, rev := range revs {
		if r.isObjectID(rev) {
			full = append(full, strings.ToLower(rev))
		}
	}
	types, err := r.typesOf(ctx, full)
	if err != nil {
		return 0, err
	}
	named := map[string]string{} // a revision that named each ID
	type naming struct{ rev, id string }
	var namings []naming  // every revision, with what it named
	var resolved []string // IDs rev-parse gave, whose types are not known yet
	for _, rev := range revs {
		if r.isObjectID(rev) {
			id := strings.ToLower(rev)
			if types[id] == "" {
				return 0, r.shallowHint(ctx, clierr.Usagef("bad revision %q: no such object", rev))
			}
			named[id] = rev
			add(id)
			continue
		}
		if err := r.revs(ctx, fmt.Sprintf("bad revision %q", rev), func(id string) {
			named[id] = rev
			namings = append(namings, naming{rev, id})
			resolved = append(resolved, id)
			add(id)
		}, "rev-parse", "--verify", "--end-of-options", rev); err != nil {
			return 0, err
		}
	}
	more, err := r.typesOf(ctx, resolved)
	if err != nil {
		return 0, err
	}
	maps.Copy(types, more)
	for _, n := range namings {
		r.noteName(ctx, n.rev, n.id)
	}
	for _, id := range ids {
		// A tree or a blob has no signature to verify: the revision was
		// not the one meant (HEAD^{tree}, HEAD:file).
		if typ := types[id]; typ != "" && typ != "commit" && typ != "tag" {
			return 0, clierr.Usagef("%q names a %s, not a commit or an annotated tag: only those are signed", named[id], typ)
		}
	}
	for _, id := range ids {
		emit(id)
	}
	return len(ids), nil
}

// namedTags are the annotated tags that revs reach rather than exclude: a
// revision named on its own (in ^A B, B), a range's end (B of A..B, A and
// B of A...B), from one git cat-file --batch-check, each once. A^!, A^@
// and A^- name commits of A's.
func (r *repository) namedTags(ctx context.Context, revs []string) ([]string, error) {
	var names []string
	for _, rev := range revs {
		var ends []string
		switch a, b, ok := strings.Cut(rev, "..."); {
		case ok:
			ends = []string{a, b}
		case strings.Contains(rev, ".."):
			_, b, _ := strings.Cut(rev, "..")
			ends = []string{b}
		case !rangeLike(rev):
			ends = []string{rev}
		}
		for _, end := range ends {
			if end != "" && !strings.ContainsAny(end, "\n") {
				names = append(names, end)
			}
		}
	}
	lines, err := r.batchCheck(ctx, "%(objectname) %(objecttype)", names)
	if err != nil {
		return nil, err
	}
	var tags []string
	for i, line := range lines {
		id, typ, _ := strings.Cut(line, " ")
		if typ != "tag" {
			continue
		}
		if i < len(names) {
			r.noteName(ctx, names[i], id)
		}
		if !slices.Contains(tags, id) {
			tags = append(tags, id)
		}
	}
	return tags, nil
}

// shallowHint adds to a revision git cannot find, in a shallow clone, that
// the clone may not have it: a CI checkout of one commit has no base.
func (r *repository) shallowHint(ctx context.Context, err error) error {
	if shallow, serr := r.shallowCommits(context.WithoutCancel(ctx)); serr == nil && shallow != nil {
		return clierr.WithHint(err, "this is a shallow clone, which may not have what the revisions name: fetch it (git fetch origin BRANCH, or git fetch --unshallow; actions/checkout with fetch-depth: 0)")
	}
	return err
}

// isObjectID tells a full object ID in hex, as the repository's format
// writes them.
func (r *repository) isObjectID(rev string) bool {
	n := 40
	if r.format == "sha256" {
		n = 64
	}
	return len(rev) == n && isHexID(rev)
}

// typesOf are the types of the objects ids name that the repository has,
// by lower-cased ID, from one git cat-file --batch-check (none for no ids).
func (r *repository) typesOf(ctx context.Context, ids []string) (map[string]string, error) {
	lines, err := r.batchCheck(ctx, "%(objectname) %(objecttype)", ids)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	// "<id> <type>", or "<id> missing" for one it does not have.
	for _, line := range lines {
		if id, typ, ok := strings.Cut(line, " "); ok && typ != "missing" && !strings.Contains(typ, " ") {
			types[id] = typ
		}
	}
	return types, nil
}

// batchCheck is what git cat-file --batch-check=format says of each of
// names, one line each (none for no names), objects replaced or not.
func (r *repository) batchCheck(ctx context.Context, format string, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	cmd := exec.CommandContext(ctx, "git", "--no-replace-objects", "-C", r.dir, "cat-file", "--batch-check="+format)
	cmd.Stdin = strings.NewReader(strings.Join(names, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		return nil, gitFailed("git cat-file --batch-check", err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"), nil
}

// rangeLike reports whether git rev-list reads rev as more than a commit
// and its ancestors: A..B, A...B, ^A, A^!, A^@, A^-, A^-N.
func rangeLike(rev string) bool {
	if strings.Contains(rev, "..") || strings.HasPrefix(rev, "^") || strings.HasSuffix(rev, "^!") || strings.HasSuffix(rev, "^@") {
		return true
	}
	_, n, ok := cutLast(rev, "^-")
	return ok && strings.Trim(n, "0123456789") == ""
}

// shallowCommits are the commits whose parents a shallow clone lacks; none
// in a complete repository.
func (r *repository) shallowCommits(ctx context.Context) (map[string]bool, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", r.dir, "rev-parse", "--is-shallow-repository", "--path-format=absolute", "--git-path", "shallow").Output()
	if err != nil {
		return nil, gitFailed("git rev-parse --is-shallow-repository", err)
	}
	is, path, _ := strings.Cut(strings.TrimSuffix(string(out), "\n"), "\n")
	if is != "true" {
		return nil, nil
	}
	data, err := readfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("reading the shallow clone's edge: %w", err)
	}
	shallow := map[string]bool{}
	for _, id := range strings.Fields(string(data)) {
		shallow[id] = true
	}
	return shallow, nil
}

// revs runs git with args and hands emit each object ID it prints, while it
// runs. A failure is a usage error, what git says prefixed with what.
func (r *repository) revs(ctx context.Context, what string, emit func(id string), args ...string) error {
	// Without replace refs or grafts (info/grafts, which
	// --no-replace-objects leaves on): the commits listed are the ones
	// whose raw bytes are read and verified, and their parents are those
	// the raw bytes name, not what a graft says.
	cmd := exec.CommandContext(ctx, "git", append([]string{"--no-replace-objects", "-c", "advice.graftFileDeprecated=false", "-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_GRAFT_FILE="+os.DevNull)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		for _, id := range strings.Fields(sc.Text()) {
			emit(id)
		}
	}
	if err := cmd.Wait(); err != nil {
		msg := strings.TrimPrefix(strings.TrimSpace(stderr.String()), "fatal: ")
		if msg == "" {
			msg = err.Error()
		}
		if strings.Contains(msg, "error: Could not read ") {
			// An object the history needs is gone: the repository, not
			// the command line, is what to mend (unless a shallow clone
			// explains it).
			err := r.shallowHint(ctx, fmt.Errorf("%s: %s", what, msg))
			if !clierr.HasHint(err) {
				err = clierr.WithHint(err, "the repository is missing objects its history needs: run git fsck, and fetch or restore them")
			}
			return err
		}
		return r.shallowHint(ctx, clierr.Usagef("%s: %s", what, msg))
	}
	return nil
}

func (r *repository) read(id string) (typ string, raw []byte, err error) {
	if r.stores != nil {
		typ, raw, err = r.readGoGit(id)
	}
	if r.stores == nil || errors.Is(err, errUnreadPacks) {
		// SHA-256, objects where only git looks, or a pack go-git
		// cannot read: git reads it.
		typ, raw, err = r.readCatFile(id)
	}
	if err != nil {
		return "", nil, err
	}
	if err := checkID(r.format, id, typ, raw); err != nil {
		return "", nil, err
	}
	return typ, raw, nil
}

// readCatFile reads an object with git cat-file --batch, started on first
// use.
func (r *repository) readCatFile(id string) (string, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.batch == nil {
		b, err := startCatFile(r.dir)
		if err != nil {
			return "", nil, err
		}
		r.batch = b
	}
	return r.batch.read(id)
}

func (r *repository) readGoGit(id string) (string, []byte, error) {
	var st *objectStore
	select {
	case st = <-r.stores:
	default:
		st = newObjectStore(r.gitDir)
	}
	defer func() {
		select {
		case r.stores <- st:
		default:
			st.Close()
		}
	}()
	return st.read(id, objectLimit)
}

// objectLimit is the largest object of type typ that is read: a commit or
// tag holds its signature as well as the MaxObjectSize that was signed.
func objectLimit(typ string) int64 {
	if typ == "commit" || typ == "tag" {
		return gitsign.MaxSignedObjectSize
	}
	return gitsign.MaxObjectSize
}

// checkID recomputes an object's ID from its bytes.
func checkID(format, id, typ string, raw []byte) error {
	var h hash.Hash
	if format == "sha256" {
		h = sha256.New()
	} else {
		h = sha1.New()
	}
	fmt.Fprintf(h, "%s %d\x00", typ, len(raw))
	h.Write(raw)
	if got := hex.EncodeToString(h.Sum(nil)); got != id {
		return fmt.Errorf("object %s hashes to %s: corrupt repository", id, got)
	}
	return nil
}

// catFile is a running `git cat-file --batch`.
type catFile struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startCatFile(dir string) (*catFile, error) {
	cmd := exec.Command("git", "--no-replace-objects", "-C", dir, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &catFile{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10)}, nil
}

func (c *catFile) read(id string) (string, []byte, error) {
	if _, err := fmt.Fprintf(c.in, "%s\n", id); err != nil {
		return "", nil, err
	}
	hdr, err := c.out.ReadString('\n')
	if err != nil {
		return "", nil, err
	}
	f := strings.Fields(hdr)
	if len(f) != 3 {
		return "", nil, fmt.Errorf("reading %s: %s", id, strings.TrimSpace(hdr))
	}
	size, err := strconv.Atoi(f[2])
	if err != nil || size < 0 {
		return "", nil, fmt.Errorf("reading %s: bad size %q", id, f[2])
	}
	if limit := objectLimit(f[1]); int64(size) > limit {
		// Skipped, so that the next object is read from its own header.
		if _, err := io.CopyN(io.Discard, c.out, int64(size)+1); err != nil {
			return "", nil, err
		}
		return "", nil, &tooLargeError{typ: f[1], id: id, limit: limit}
	}
	buf := make([]byte, size+1)
	if _, err := io.ReadFull(c.out, buf); err != nil {
		return "", nil, err
	}
	return f[1], buf[:size], nil
}

func (c *catFile) close() {
	c.in.Close()
	c.cmd.Wait()
}

// isHexID reports whether s is an object ID in full: 40 hex digits
// (SHA-1) or 64 (SHA-256).
func isHexID(s string) bool {
	_, err := hex.DecodeString(s)
	return (len(s) == 40 || len(s) == 64) && err == nil
}
