package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/internal/clierr"
)

// gpgArgs is a gpgsm command line as git writes it.
type gpgArgs struct {
	sign, detach, armor, verify bool
	statusFD                    int // -1: none
	localUser                   string
	files                       []string
}

// isGPGInvocation tells git's calls (flags first) from the human commands.
func isGPGInvocation(args []string) bool {
	return strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" && args[0] != "--version"
}

// parseGPGArgs accepts gpg's option syntax: grouped short options ("-bsau
// KEY", "-bsauKEY"), long options with "=" or a separate value, and "--".
func parseGPGArgs(args []string) (*gpgArgs, error) {
	g := &gpgArgs{statusFD: -1}
	value := func(i *int, name string, inline string, hasInline bool) (string, error) {
		if hasInline {
			return inline, nil
		}
		if *i+1 >= len(args) {
			return "", clierr.Usagef("option %s needs a value", name)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			g.files = append(g.files, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, inline, hasInline := strings.Cut(a[2:], "=")
			switch name {
			case "sign":
				g.sign = true
			case "detach-sign", "detached-sign":
				g.detach = true
			case "armor", "armour":
				g.armor = true
			case "verify":
				g.verify = true
			case "local-user":
				v, err := value(&i, a, inline, hasInline)
				if err != nil {
					return nil, err
				}
				g.localUser = v
			case "status-fd":
				v, err := value(&i, a, inline, hasInline)
				if err != nil {
					return nil, err
				}
				fd, err := strconv.Atoi(v)
				if err != nil || fd < 0 {
					return nil, clierr.Usagef("bad --status-fd %q", v)
				}
				g.statusFD = fd
			case "include-certs", "keyid-format":
				// Accepted for gpgsm compatibility; the certificate is
				// always included.
				if _, err := value(&i, a, inline, hasInline); err != nil {
					return nil, err
				}
			default:
				return nil, clierr.Usagef("unknown option %s", a)
			}
		case a == "-" || !strings.HasPrefix(a, "-"):
			g.files = append(g.files, a)
		default:
			group := a[1:]
			for j := 0; j < len(group); j++ {
				switch group[j] {
				case 'b':
					g.detach = true
				case 's':
					g.sign = true
				case 'a':
					g.armor = true
				case 'u':
					rest := group[j+1:]
					v, err := value(&i, "-u", rest, rest != "")
					if err != nil {
						return nil, err
					}
					g.localUser = v
					j = len(group)
				default:
					return nil, clierr.Usagef("unknown option -%c", group[j])
				}
			}
		}
	}
	switch {
	case g.sign && g.verify:
		return nil, clierr.Usagef("--sign and --verify are exclusive")
	case g.sign:
		if len(g.files) > 0 {
			return nil, clierr.Usagef("signing reads stdin; unexpected arguments %q", g.files)
		}
	case g.verify:
		if len(g.files) != 2 || g.files[1] != "-" {
			return nil, clierr.Usagef("usage: gitsign --verify SIGFILE -")
		}
	default:
		return nil, clierr.Usagef("nothing to do: use -bsau KEY (sign) or --verify SIGFILE - (verify), as git does")
	}
	return g, nil
}

// statusWriter opens the status file descriptor; 1 and 2 are stdout and
// stderr (also where git points them), so that tests and other platforms
// need no descriptor passing.
func (e *env) statusWriter(fd int) (io.Writer, func()) {
	switch fd {
	case -1:
		return io.Discard, func() {}
	case 1:
		return e.stdout, func() {}
	case 2:
		return e.stderr, func() {}
	}
	f := os.NewFile(uintptr(fd), "status-fd")
	if f == nil {
		return io.Discard, func() {}
	}
	return f, func() { f.Close() }
}

func (e *env) gpgMode(ctx context.Context, args []string) int {
	g, err := parseGPGArgs(args)
	if err != nil {
		return e.report(err)
	}
	cfg := loadConfig(ctx, e.dir, e.getenv)
	if cfg.LogPath != "" {
		if f, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			defer f.Close()
			fmt.Fprintf(f, "--- %s gitsign %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
			e.stderr = io.MultiWriter(e.stderr, f)
		}
	}
	w, closeStatus := e.statusWriter(g.statusFD)
	defer closeStatus()
	st := gitsign.Status{W: w}
	if g.sign {
		ctx, stop := interruptible(ctx)
		defer stop()
		return e.gpgSign(ctx, cfg, st)
	}
	return e.gpgVerify(ctx, cfg, st, g.files[0])
}

// reportSigning reports a signing failure where the user sees it: git
// before 2.40 drops the signing program's stderr and says only "gpg failed
// to sign the data", so the explanation goes to the terminal when there is
// one, and to stderr (which newer git shows) when not.
func (e *env) reportSigning(err error) int {
	out, tty, closeOut := e.userTerminal()
	defer closeOut()
	if !tty {
		return e.report(err)
	}
	return clierr.Report(out, "gitsign", err, "run 'gitsign --help'")
}

func (e *env) gpgSign(ctx context.Context, cfg *config, st gitsign.Status) int {
	st.BeginSigning()
	payload, err := io.ReadAll(io.LimitReader(e.stdin, 64<<20+1))
	if err != nil {
		return e.reportSigning(fmt.Errorf("reading the object to sign: %w", err))
	}
	if len(payload) > 64<<20 {
		return e.reportSigning(errors.New("object to sign is larger than 64 MiB"))
	}
	signer, err := e.signer(ctx, cfg)
	if err != nil {
		return e.reportSigning(err)
	}
	signed, err := signer.Sign(ctx, payload)
	if err != nil {
		return e.reportSigning(err)
	}
	if cfg.MatchCommitter {
		if id, _ := gitsign.CertIdentity(signed.Certificate); !strings.EqualFold(id, cfg.UserEmail) {
			return e.reportSigning(clierr.WithHint(fmt.Errorf("signed as %s, but user.email is %s", id, cfg.UserEmail),
				"log in as %s, or unset gitsign.matchCommitter", cfg.UserEmail))
		}
	}
	if _, err := e.stdout.Write(signed.PEM); err != nil {
		return e.reportSigning(err)
	}
	st.SigCreated(signed.Certificate, signed.Time)
	id, iss := gitsign.CertIdentity(signed.Certificate)
	fmt.Fprintf(e.stderr, "gitsign: signed as %s (%s), transparency log index %d\n", id, iss, signed.Entry.LogIndex)
	return clierr.ExitOK
}

func (e *env) gpgVerify(ctx context.Context, cfg *config, st gitsign.Status, sigFile string) int {
	st.NewSig()
	sig, err := os.ReadFile(sigFile)
	if err != nil {
		st.Err(nil, time.Now())
		return e.report(fmt.Errorf("reading the signature: %w", err))
	}
	payload, err := io.ReadAll(io.LimitReader(e.stdin, 64<<20))
	if err != nil {
		st.Err(nil, time.Now())
		return e.report(fmt.Errorf("reading the signed object: %w", err))
	}
	v, err := e.verifier(ctx, cfg, nil, "")
	if err != nil {
		st.Err(nil, time.Now())
		return e.report(err)
	}
	email := ""
	if o, err := gitsign.ParsePayload(payload); err == nil {
		email = o.Email
	}
	res, err := v.Verify(payload, sig, email)
	if err != nil {
		var ve *gitsign.Error
		errors.As(err, &ve)
		if ve != nil && ve.Kind == gitsign.Bad {
			st.Bad(ve.Certificate, ve.Identity)
			fmt.Fprintf(e.stderr, "gitsign: BAD signature from %s: %v\n", ve.Identity, err)
		} else {
			var cert *x509.Certificate
			if ve != nil {
				cert = ve.Certificate
			}
			st.Err(cert, time.Now())
			fmt.Fprintf(e.stderr, "gitsign: cannot verify the signature: %v\n", err)
		}
		return clierr.ExitFail
	}
	st.Good(res.Certificate, res.Identity, res.IntegratedTime, res.Trust)
	describe(e.stderr, res)
	return clierr.ExitOK
}

// describe is the human explanation git shows for verify-commit and
// log --show-signature.
func describe(w io.Writer, r *gitsign.Result) {
	fmt.Fprintf(w, "gitsign: Good signature from %s (%s)\n", r.Identity, r.Issuer)
	fmt.Fprintf(w, "gitsign: logged at %s, transparency log index %d; certificate %s\n",
		r.IntegratedTime.UTC().Format(time.RFC3339), r.LogIndex, gitsign.Fingerprint(r.Certificate))
	if r.Trust == gitsign.TrustFully {
		fmt.Fprintf(w, "gitsign: signer is allowed\n")
	} else {
		fmt.Fprintf(w, "gitsign: WARNING: signer is not trusted: %s\n", r.Untrusted)
	}
	if r.Warning != "" {
		fmt.Fprintf(w, "gitsign: WARNING: %s\n", r.Warning)
	}
}
