package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/gitsign/gpg"
	"github.com/waxseal/waxseal/internal/clierr"
)

const verifyHelp = `NAME:
   gitsign verify - verify the signatures of commits and annotated tags, e.g. origin/main..HEAD

USAGE:
   gitsign verify [options] [REV | RANGE]...

DESCRIPTION:
   Verifies every commit in each RANGE (git rev-list syntax, e.g. origin/main..HEAD)
   and each REV (a commit, or an annotated tag), reading the raw objects from the
   repository. An identity policy is required: --certificate-identity[-regexp] and
   --certificate-oidc-issuer[-regexp], or an allowed-signers file (--allowed-signers
   or git config gitsign.allowedSigners). Prints one line per object:
     <object> <verdict> <signer> <issuer> log=<index> <subject>
   with verdict good, untrusted (valid, identity not allowed), bad, error or unsigned.
   Exits 1 unless every object is good.

OPTIONS:
   --certificate-identity value            the signer's exact identity (email or URI)
   --certificate-identity-regexp value     a regexp the signer's identity must match
   --certificate-oidc-issuer value         the exact OIDC issuer
   --certificate-oidc-issuer-regexp value  a regexp the OIDC issuer must match
   --allowed-signers FILE                  allowed-signers FILE (default: git config gitsign.allowedSigners)
   --trusted-root FILE                     trusted_root.json FILE (default: gitsign.trustedRoot, else the pinned root)
   -C DIR                                  run in DIR (default: ".")
   --json                                  print machine-readable JSON on stdout (default: false)
   --help, -h                              show help
`

// verifyOptions are verify's flags.
type verifyOptions struct {
	identity, identityRegexp, issuer, issuerRegexp string
	allowedSigners, trustedRoot, dir               string
	json                                           bool
	revs                                           []string
	policySet                                      bool // a --certificate-* flag was given, even empty
}

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
	fs.StringVar(&o.dir, "C", ".", "")
	fs.BoolVar(&o.json, "json", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.revs = fs.Args()
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "certificate-") {
			o.policySet = true
		}
	})
	return o, nil
}

func (e *env) verifyCommand(ctx context.Context, args []string) error {
	o, err := parseVerifyArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.Stdout, verifyHelp)
		return nil
	}
	if err != nil {
		return clierr.UsageError{Msg: err.Error()}
	}
	return e.verify(ctx, o)
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
	Object         string    `json:"object"`
	Type           string    `json:"type"`
	Subject        string    `json:"subject"`
	Committer      string    `json:"committer,omitempty"`
	Verdict        string    `json:"verdict"`
	Signer         string    `json:"signer,omitempty"`
	Issuer         string    `json:"issuer,omitempty"`
	LogIndex       *int64    `json:"logIndex,omitempty"`
	IntegratedTime time.Time `json:"integratedTime,omitzero"`
	Reason         string    `json:"reason,omitempty"`
}

func (e *env) verify(ctx context.Context, o *verifyOptions) error {
	dir := o.dir
	e.Dir = dir
	cfg := gpg.LoadConfig(ctx, dir, e.Getenv)
	if o.trustedRoot != "" {
		cfg.TrustedRoot = o.trustedRoot
	}
	var identity func(*fulcio.CertIdentity) error
	if o.policySet {
		p := provenance.Policy{
			Identity: o.identity, IdentityRegexp: o.identityRegexp,
			Issuer: o.issuer, IssuerRegexp: o.issuerRegexp,
		}
		if (p.Identity == "") == (p.IdentityRegexp == "") || (p.Issuer == "") == (p.IssuerRegexp == "") {
			return clierr.Usagef("give exactly one of --certificate-identity[-regexp] and one of --certificate-oidc-issuer[-regexp]")
		}
		m, err := p.Compile()
		if err != nil {
			return clierr.Usagef("%v", err)
		}
		identity = m.Check
	}
	if identity == nil && o.allowedSigners == "" && cfg.AllowedSigners == "" {
		return clierr.WithHint(clierr.Usagef("no identity policy: who may sign?"),
			"pass --certificate-identity and --certificate-oidc-issuer, or --allowed-signers FILE, or set git config gitsign.allowedSigners")
	}
	v, err := e.Verifier(ctx, cfg, identity, o.allowedSigners)
	if err != nil {
		return err
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
	lines, err := verifyAll(repo, v, func(emit func(string)) error { return repo.list(ctx, revs, emit) })
	if err != nil {
		return err
	}

	failed := 0
	for _, l := range lines {
		if l.Verdict != verdictGood {
			failed++
		}
	}
	if o.json {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if lines == nil {
			lines = []verifyLine{}
		}
		if err := enc.Encode(lines); err != nil {
			return err
		}
	} else {
		for _, l := range lines {
			e.printLine(l)
		}
	}
	if failed > 0 {
		if !o.json {
			fmt.Fprintf(e.Stderr, "gitsign: error: %d of %d objects failed verification\n", failed, len(lines))
		}
		return clierr.ExitCode(clierr.ExitFail)
	}
	return nil
}

func (e *env) printLine(l verifyLine) {
	logIndex := "-"
	if l.LogIndex != nil {
		logIndex = strconv.FormatInt(*l.LogIndex, 10)
	}
	signer, issuer := field(l.Signer), field(l.Issuer)
	fmt.Fprintf(e.Stdout, "%s %-9s %s %s log=%s %s\n", l.Object, l.Verdict, signer, issuer, logIndex, gitsign.Printable(l.Subject))
	if l.Reason != "" {
		fmt.Fprintf(e.Stdout, "    %s\n", gitsign.Printable(l.Reason))
	}
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
// still running (git rev-list takes a while over a long range), keeping
// their order.
func verifyAll(repo *repository, v *gitsign.Verifier, list func(emit func(id string)) error) ([]verifyLine, error) {
	// Verifying allocates briefly and much, and a run is short: collect
	// less often than the default.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	type job struct {
		i  int
		id string
	}
	var (
		work  = make(chan job, 1024)
		wg    sync.WaitGroup
		mu    sync.Mutex
		lines []verifyLine
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				l := verifyOne(repo, v, j.id)
				mu.Lock()
				for len(lines) <= j.i {
					lines = append(lines, verifyLine{})
				}
				lines[j.i] = l
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
	if err != nil {
		return nil, err
	}
	return lines[:n], nil
}

func verifyOne(repo *repository, v *gitsign.Verifier, id string) verifyLine {
	l := verifyLine{Object: id}
	typ, raw, err := repo.read(id)
	if err != nil {
		l.Verdict, l.Reason = verdictError, err.Error()
		return l
	}
	l.Type = typ
	o, err := gitsign.ParseObject(typ, raw, repo.format)
	if err != nil {
		l.Verdict, l.Reason = verdictError, err.Error()
		return l
	}
	l.Subject, l.Committer = o.Subject, o.Email
	if o.Signature == nil {
		l.Verdict = verdictUnsigned
		return l
	}
	res, err := v.Verify(o.Payload, o.Signature, o.Email)
	if err != nil {
		var ve *gitsign.Error
		l.Verdict, l.Reason = verdictError, err.Error()
		if errors.As(err, &ve) {
			l.Signer = ve.Identity
			if ve.Kind == gitsign.Bad {
				l.Verdict = verdictBad
			}
		}
		return l
	}
	l.Signer, l.Issuer = res.Identity, res.Issuer
	l.LogIndex, l.IntegratedTime = &res.LogIndex, res.IntegratedTime.UTC()
	l.Verdict, l.Reason = verdictGood, res.Warning
	if res.Trust != gitsign.TrustFully {
		l.Verdict, l.Reason = verdictUntrusted, res.Untrusted
	}
	return l
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
}

func openRepo(ctx context.Context, dir string) (*repository, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--path-format=absolute", "--git-common-dir", "--show-object-format").Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) != 2 {
		return nil, clierr.WithHint(fmt.Errorf("%s is not a git repository", dir), "run in a repository or pass -C DIR")
	}
	r := &repository{dir: dir, format: f[1]}
	switch r.format {
	case "sha1":
		r.gitDir = f[0]
		r.stores = make(chan *objectStore, runtime.GOMAXPROCS(0))
	case "sha256":
		if r.batch, err = startCatFile(dir); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported object format %q", r.format)
	}
	return r, nil
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
// as git prints it: every commit of a range (git rev-list), or the object
// a revision names (an annotated tag stays a tag).
func (r *repository) list(ctx context.Context, revs []string, emit func(id string)) error {
	for _, rev := range revs {
		var args []string
		if strings.Contains(rev, "..") {
			args = []string{"rev-list", "--end-of-options", rev}
		} else {
			args = []string{"rev-parse", "--verify", "--end-of-options", rev}
		}
		// Without replace refs: the commits listed are the ones whose raw
		// bytes are read and verified, not replacements' parents.
		cmd := exec.CommandContext(ctx, "git", append([]string{"--no-replace-objects", "-C", r.dir}, args...)...)
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
			return clierr.Usagef("bad revision %q: %s", rev, strings.TrimSpace(stderr.String()))
		}
	}
	return nil
}

func (r *repository) read(id string) (typ string, raw []byte, err error) {
	if r.stores != nil {
		if typ, raw, err = r.readGoGit(id); err != nil {
			return "", nil, err
		}
	} else {
		r.mu.Lock()
		typ, raw, err = r.batch.read(id)
		r.mu.Unlock()
		if err != nil {
			return "", nil, err
		}
	}
	if err := checkID(r.format, id, typ, raw); err != nil {
		return "", nil, err
	}
	return typ, raw, nil
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
	return st.read(id, gitsign.MaxObjectSize)
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
	if size > gitsign.MaxObjectSize {
		// Skipped, so that the next object is read from its own header.
		if _, err := io.CopyN(io.Discard, c.out, int64(size)+1); err != nil {
			return "", nil, err
		}
		return "", nil, fmt.Errorf("%s %s is larger than 64 MiB", f[1], id)
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
