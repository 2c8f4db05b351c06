package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/gitsign/signing"
	"github.com/waxseal/waxseal/internal/clierr"
)

// reportSigning reports a signing failure where the user sees it: git
// before 2.40 drops the signing program's stderr and says only "gpg failed
// to sign the data", so the explanation goes to the terminal when there is
// one, and to stderr (which newer git shows) when not.
func (e *env) reportSigning(err error) int {
	out, tty, closeOut := e.UserTerminal()
	defer closeOut()
	if !tty {
		return e.Report(err) // stderr, copied to gitsign.logPath
	}
	if e.Log != nil {
		out = io.MultiWriter(out, e.Log)
	}
	return clierr.Report(out, "gitsign", err, "run 'gitsign --help'")
}

// warnSigning shows warnings about a signature that was made (tellUser).
func (e *env) warnSigning(warnings []string) { e.tellUser("warning: ", warnings) }

// tellUser says lines, each after prefix, on the user's terminal, as
// failures are, since git shows nothing a signing program says when it
// succeeds, or while it works; and on stderr, for gitsign.logPath.
func (e *env) tellUser(prefix string, lines []string) {
	if len(lines) == 0 {
		return
	}
	for _, l := range lines {
		fmt.Fprintf(e.Stderr, "gitsign: %s%s\n", prefix, l)
	}
	out, tty, closeOut := e.UserTerminal()
	defer closeOut()
	if tty {
		for _, l := range lines {
			fmt.Fprintf(out, "gitsign: %s%s\n", prefix, l)
		}
	}
}

func (e *env) gpgSign(ctx context.Context, cfg *front.Config, st gitsign.Status, localUser string) int {
	ctx, stop := interruptible(ctx)
	defer stop()
	ctx, parentGone := context.WithCancelCause(ctx)
	defer parentGone(nil)
	errParentGone := errors.New("git, which started gitsign, has exited: no signature reached it, and no commit or tag was made (if the transparency log was reached first, it holds an entry for the abandoned signature)")
	gone, unwatch := watchParent(func() { parentGone(errParentGone) })
	defer unwatch()
	if gone {
		return e.reportSigning(errParentGone)
	}
	st.BeginSigning()
	payload, err := io.ReadAll(io.LimitReader(e.Stdin, gitsign.MaxObjectSize+1))
	if err != nil {
		return e.reportSigning(fmt.Errorf("reading the object to sign: %w", err))
	}
	if len(payload) > gitsign.MaxObjectSize {
		return e.reportSigning(errors.New("object to sign is larger than 64 MiB"))
	}
	if bytes.HasPrefix(payload, []byte("object ")) && !bytes.HasSuffix(payload, []byte("\n")) {
		// git appends a tag's signature to the tag, and finds it again
		// only at the start of a line: refused before anything is logged.
		return e.reportSigning(clierr.WithHint(errors.New("the tag's message does not end in a line break, so nothing was signed: git would glue the signature to its last line, where it can never find it again to verify"),
			"end the message with a line break (git tag --cleanup=verbatim keeps a message as it is given)"))
	}
	// The trusted root the repository verifies with, read first, before
	// any login: a certificate or signature it would not accept is
	// refused, and the certificate before anything is logged. Without one
	// nothing is signed: git would show every such commit as E until one
	// is pinned, and nothing here could tell whether that will ever pass.
	v, err := e.VerifierWith(ctx, cfg, nil, nil)
	switch {
	case errors.Is(err, trust.ErrNotPinned):
		return e.reportSigning(clierr.WithHint(errors.New("no trusted root to check the new signature against, so nothing was signed: git could not verify it (every such commit shows as E)"),
			"pin your instance's trusted root with 'waxseal trust init --from URL' (the server gitsign.server names), or name one with git config gitsign.trustedRoot FILE"))
	case err != nil:
		return e.reportSigning(fmt.Errorf("reading the trusted root to check the signature with: %w", err))
	}
	var match *committer
	if cfg.MatchCommitter {
		if match, err = committerOf(payload); err != nil {
			return e.reportSigning(err)
		}
	}
	signer, err := e.signer(ctx, cfg, match.vetToken)
	if err != nil {
		return e.reportSigning(err)
	}
	if match != nil {
		signer.Credentials = match.credentials(signer.Credentials)
	}
	signer.CheckCertificate = certCheck(v.Root, time.Now)
	signed, err := signer.Sign(ctx, payload)
	if err != nil {
		return e.reportSigning(err)
	}
	if _, err := v.Verify(payload, signed.PEM, ""); err != nil {
		return e.reportSigning(clierr.WithHint(fmt.Errorf("the signature does not verify against the trusted root, so nothing was signed (the log holds it at index %d): %w", signed.Entry.LogIndex, err),
			otherInstanceHint))
	}
	if _, err := e.Stdout.Write(signed.PEM); err != nil {
		return e.reportSigning(err)
	}
	st.SigCreated(signed.Certificate, signed.Time)
	warnings := cfg.Unused
	if w := e.allowedHere(ctx, cfg, payload, signed.Certificate); w != "" {
		warnings = append(slices.Clip(warnings), w)
	}
	if w := signingKeyNotSigner(localUser, payload, signed.Certificate); w != "" {
		warnings = append(slices.Clip(warnings), w)
	}
	e.warnSigning(warnings)
	id, iss := gitsign.CertIdentity(signed.Certificate)
	fmt.Fprintf(e.Stderr, "gitsign: signed as %s (%s), transparency log index %d\n", id, iss, signed.Entry.LogIndex)
	return clierr.ExitOK
}

// signingKeyNotSigner says, when it is so, that git asked for a signature
// by someone else than the certificate names: git's -u is user.signingKey,
// or the committer ("Name <email>") without one, and keyless signing signs
// as whoever logged in. A key ID, or the committer's own email, says
// nothing here (the allowed signers judge the committer's).
func signingKeyNotSigner(localUser string, payload []byte, cert *x509.Certificate) string {
	email := localUser
	if i := strings.LastIndexByte(localUser, '<'); i >= 0 && strings.HasSuffix(localUser, ">") {
		email = localUser[i+1 : len(localUser)-1]
	}
	if !strings.Contains(email, "@") {
		return ""
	}
	if o, err := gitsign.ParsePayload(payload); err == nil && gitsign.EqualFoldASCII(o.Email, email) {
		return ""
	}
	id, _ := gitsign.CertIdentity(cert)
	if gitsign.EqualFoldASCII(id, email) {
		return ""
	}
	return fmt.Sprintf("git asked for a signature by %s (user.signingKey), but keyless signing signs as who logged in: %s", gitsign.Printable(email), gitsign.Printable(id))
}

// allowedHere says, when it is so, that git will not show the new
// signature as good in this repository: its allowed-signers file cannot be
// read (E for every signed commit) or does not allow the signer for the
// object's committer (U). Signing goes ahead: the file may be about to
// change, or be another maintainer's to extend.
func (e *env) allowedHere(ctx context.Context, cfg *front.Config, payload []byte, cert *x509.Certificate) string {
	file := e.SignersFile(ctx, cfg, false, "")
	if file == "" {
		return ""
	}
	signers, err := gitsign.LoadAllowedSigners(file)
	if err != nil {
		return fmt.Sprintf("allowed signers: %v: git shows this signature, and every other here, as E (cannot be checked) until that is fixed", err)
	}
	o, err := gitsign.ParsePayload(payload)
	if err != nil {
		return ""
	}
	id, iss := gitsign.CertIdentity(cert)
	if err := signers.Check(o.Email, id, iss); err != nil {
		return fmt.Sprintf("%v: git shows this signature as U (valid, signer not allowed) here until the file allows it", err)
	}
	return ""
}

// certCheck checks a new certificate against root before anything is
// signed or logged with it.
func certCheck(root *trust.Root, now func() time.Time) func(*x509.Certificate) error {
	return func(cert *x509.Certificate) error {
		// As verifying will, at the log's time: this clock may be behind
		// the CA's and the CT log's, which issued the certificate and its
		// SCTs just now. Their times are checked once the log has given
		// its own, after the upload.
		at := now()
		if at.Before(cert.NotBefore) {
			at = cert.NotBefore
		}
		if t, ok := fulcio.NewestSCTTime(cert); ok && at.Before(t) {
			at = t
		}
		if err := provenance.CheckCertificate(cert, root, at); err != nil {
			return clierr.WithHint(fmt.Errorf("the certificate does not verify against the trusted root, so nothing was signed or logged: %w", err), otherInstanceHint)
		}
		return nil
	}
}

// otherInstanceHint is the likely cause of a new signature that does not
// verify against the trusted root.
const otherInstanceHint = "the CA or log that signed (gitsign.server, gitsign.fulcio, gitsign.rekor, or the pinned signing config) is not the instance your trusted root is for: pin its root with 'waxseal trust init --from URL', or point gitsign at the instance you trust"

// committer is whom gitsign.matchCommitter holds a signature to: the
// committer of a commit, the tagger of a tag, the pusher of a push.
type committer struct {
	who, email string
}

func committerOf(payload []byte) (*committer, error) {
	o, err := gitsign.ParsePayload(payload)
	if err == nil && o.Email == "" {
		err = errors.New("it names no email")
	}
	c := &committer{who: "committer"}
	switch {
	case o != nil && o.Type == "tag":
		c.who = "tagger"
	case o != nil && o.Type == "push-cert":
		c.who = "pusher"
	}
	if err != nil {
		return nil, fmt.Errorf("gitsign.matchCommitter: cannot read the %s of the object to sign: %w", c.who, err)
	}
	c.email = o.Email
	return c, nil
}

// vetToken refuses a token for anyone else before a certificate is asked
// for with it: the CA's certificates go to a public, permanent log. nil
// (no gitsign.matchCommitter) checks nothing.
func (c *committer) vetToken(token string) error {
	if c == nil {
		return nil
	}
	claims, err := oidc.Inspect(token)
	if err != nil {
		return err
	}
	if !gitsign.EqualFoldASCII(claims.Email, c.email) {
		who := claims.Email
		if who == "" {
			who = "a token with no email (" + claims.Sub + ")"
		}
		return clierr.WithHint(fmt.Errorf("the %s is %s, but the identity token is for %s: nothing was signed or logged", c.who, c.email, who),
			"log in as %s, or unset gitsign.matchCommitter", c.email)
	}
	return nil
}

// credentials wraps creds so that a credential for anyone but the
// committer (one the agent already held, say) is refused before anything
// is signed or logged.
func (c *committer) credentials(creds signing.Credentials) signing.Credentials {
	return signing.CredentialsFunc(func(ctx context.Context) (*credential.Credential, error) {
		cred, err := creds.Credential(ctx)
		if err != nil {
			return nil, err
		}
		if id, _ := gitsign.CertIdentity(cred.Certificate); !gitsign.EqualFoldASCII(id, c.email) {
			return nil, clierr.WithHint(fmt.Errorf("the %s is %s, but the credential is for %s: nothing was signed", c.who, c.email, id),
				"log in as %s, or unset gitsign.matchCommitter", c.email)
		}
		return cred, nil
	})
}
