package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/gitsign/gpg"
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
		return e.Report(err)
	}
	return clierr.Report(out, "gitsign", err, "run 'gitsign --help'")
}

func (e *env) gpgSign(ctx context.Context, cfg *gpg.Config, st gitsign.Status) int {
	ctx, stop := interruptible(ctx)
	defer stop()
	st.BeginSigning()
	payload, err := io.ReadAll(io.LimitReader(e.Stdin, gitsign.MaxObjectSize+1))
	if err != nil {
		return e.reportSigning(fmt.Errorf("reading the object to sign: %w", err))
	}
	if len(payload) > gitsign.MaxObjectSize {
		return e.reportSigning(errors.New("object to sign is larger than 64 MiB"))
	}
	signer, err := e.signer(ctx, cfg)
	if err != nil {
		return e.reportSigning(err)
	}
	if cfg.MatchCommitter {
		if signer.Credentials, err = matchCommitter(signer.Credentials, payload); err != nil {
			return e.reportSigning(err)
		}
	}
	signed, err := signer.Sign(ctx, payload)
	if err != nil {
		return e.reportSigning(err)
	}
	if _, err := e.Stdout.Write(signed.PEM); err != nil {
		return e.reportSigning(err)
	}
	st.SigCreated(signed.Certificate, signed.Time)
	for _, u := range cfg.Unused {
		fmt.Fprintf(e.Stderr, "gitsign: warning: %s\n", u)
	}
	id, iss := gitsign.CertIdentity(signed.Certificate)
	fmt.Fprintf(e.Stderr, "gitsign: signed as %s (%s), transparency log index %d\n", id, iss, signed.Entry.LogIndex)
	return clierr.ExitOK
}

// matchCommitter wraps creds so that a credential for anyone but the
// object's committer (or tagger) is refused before anything is signed or
// logged: the log is public and permanent.
func matchCommitter(creds signing.Credentials, payload []byte) (signing.Credentials, error) {
	o, err := gitsign.ParsePayload(payload)
	if err == nil && o.Email == "" {
		err = errors.New("it names no email")
	}
	who := "committer"
	switch {
	case o != nil && o.Type == "tag":
		who = "tagger"
	case o != nil && o.Type == "push-cert":
		who = "pusher"
	}
	if err != nil {
		return nil, fmt.Errorf("gitsign.matchCommitter: cannot read the %s of the object to sign: %w", who, err)
	}
	return signing.CredentialsFunc(func(ctx context.Context) (*credential.Credential, error) {
		cred, err := creds.Credential(ctx)
		if err != nil {
			return nil, err
		}
		if id, _ := gitsign.CertIdentity(cred.Certificate); !strings.EqualFold(id, o.Email) {
			return nil, clierr.WithHint(fmt.Errorf("the %s is %s, but the credential is for %s: nothing was signed", who, o.Email, id),
				"log in as %s, or unset gitsign.matchCommitter", o.Email)
		}
		return cred, nil
	}), nil
}
