package main

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/verify"
	"github.com/waxseal/waxseal/internal/clierr"
)

func identityFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "certificate-identity", Usage: "the signer's exact identity (email or URI SAN)"},
		&cli.StringFlag{Name: "certificate-identity-regexp", Usage: "a regular expression the signer's identity must match in full"},
		&cli.StringFlag{Name: "certificate-oidc-issuer", Usage: "the exact OIDC issuer URL that vouched for the signer"},
		&cli.StringFlag{Name: "certificate-oidc-issuer-regexp", Usage: "a regular expression the OIDC issuer must match in full"},
		&cli.StringFlag{Name: "certificate-github-workflow-repository", Usage: "require this GitHub repository (owner/name) in the certificate"},
		&cli.StringFlag{Name: "certificate-github-workflow-ref", Usage: "require this git ref (e.g. refs/heads/main) in the certificate"},
		&cli.StringFlag{Name: "certificate-github-workflow-sha", Usage: "require this commit SHA in the certificate"},
		&cli.StringFlag{Name: "certificate-github-workflow-trigger", Usage: "require this triggering event (e.g. push) in the certificate"},
		&cli.StringFlag{Name: "certificate-github-workflow-name", Usage: "require this workflow name in the certificate"},
	}
}

func policyFrom(c *cli.Context) verify.Policy {
	p := verify.Policy{
		Identity:       c.String("certificate-identity"),
		IdentityRegexp: c.String("certificate-identity-regexp"),
		Issuer:         c.String("certificate-oidc-issuer"),
		IssuerRegexp:   c.String("certificate-oidc-issuer-regexp"),
	}
	claims := map[string]string{}
	for flag, ext := range provenance.GitHubWorkflowFlags {
		if v := c.String(flag); v != "" {
			claims[ext] = v
		}
	}
	if len(claims) > 0 {
		p.Claims = claims
	}
	return p
}

func (e *env) verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify a file's Sigstore bundle offline against a trusted root and an identity",
		UsageText: "waxseal verify [options] FILE | - | sha256:HEX",
		Description: `Checks, offline, that FILE was signed by the given identity: the log's signed
entry timestamp, inclusion proof and checkpoint; that the log entry records this
signature; the certificate chain at the time the log saw the signature; the
embedded SCT; the signature over FILE; and the identity and issuer. On failure
it says which check failed.

An identity is required: --certificate-identity (or -regexp) and
--certificate-oidc-issuer (or -regexp). There is no "any signer" default.

Example:
   waxseal verify app.bin --certificate-identity alice@example.com \
       --certificate-oidc-issuer http://127.0.0.1:8080/oidc`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "bundle", Usage: "the bundle `FILE` (default FILE.sigstore.json)"},
			trustedRootFlag, jsonFlag,
		}, identityFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return clierr.Usagef("verify takes one FILE, got %d arguments", c.NArg())
			}
			target := c.Args().First()
			bpath := c.String("bundle")
			if bpath == "" {
				if target == "-" || strings.HasPrefix(target, "sha256:") {
					return clierr.Usagef("--bundle is required when verifying standard input or a digest")
				}
				bpath = target + ".sigstore.json"
			}
			return e.verify(c, target, bpath, nil)
		},
	}
}

type verifyOutput struct {
	Verified       bool   `json:"verified"`
	File           string `json:"file"`
	Identity       string `json:"identity,omitempty"`
	Issuer         string `json:"issuer,omitempty"`
	IntegratedTime string `json:"integratedTime"`
	LogIndex       int64  `json:"logIndex"`
	LogID          string `json:"logId"`
	PayloadType    string `json:"payloadType,omitempty"`
	Check          string `json:"failedCheck,omitempty"`
	Error          string `json:"error,omitempty"`
}

func (e *env) verify(c *cli.Context, target, bpath string, key crypto.PublicKey) error {
	out := verifyOutput{File: target}
	// A failure is still an answer for --json readers, naming the check
	// that failed, or what could not be read before verification started.
	failed := func(check string, err error) error {
		var ue clierr.UsageError
		if c.Bool("json") && !errors.As(err, &ue) {
			out.Check, out.Error = check, err.Error()
			e.printJSON(out)
		}
		return err
	}
	root, err := loadRoot(c)
	if err != nil {
		return failed("trusted root", err)
	}
	art, closeArt, err := e.openArtifact(target)
	if err != nil {
		return failed("artifact", err)
	}
	defer closeArt()
	b, err := bundle.Load(bpath)
	if errors.Is(err, fs.ErrNotExist) {
		err = clierr.WithHint(err, "sign it first (waxseal sign FILE writes FILE.sigstore.json), or name its bundle with --bundle")
	}
	if err != nil {
		return failed("bundle", err)
	}
	res, err := verify.Verify(b, art, root, policyFrom(c), verify.Options{Key: key})
	if err != nil {
		var ve *verify.Error
		if errors.As(err, &ve) && ve.Check == verify.CheckPolicyArgs {
			return clierr.WithHint(clierr.Usagef("%v", ve.Err), "name who must have signed: --certificate-identity alice@example.com --certificate-oidc-issuer https://issuer.example")
		}
		check := ""
		if errors.As(err, &ve) {
			check = ve.Check
		}
		failed(check, err)
		if errors.Is(err, tlog.ErrUnknownLog) {
			return clierr.WithHint(fmt.Errorf("verification failed: %w", err),
				"signed with another instance? verify with its root (--trusted-root FILE), or pin it: waxseal trust init --from URL")
		}
		return fmt.Errorf("verification failed: %w", err)
	}
	out.Verified = true
	out.IntegratedTime = res.IntegratedTime.UTC().Format(time.RFC3339)
	out.LogIndex, out.LogID = res.LogIndex, hex.EncodeToString(res.LogID)
	out.PayloadType = res.PayloadType
	if res.Identity != nil {
		out.Identity, out.Issuer = res.Identity.SAN, res.Identity.Issuer
	}
	if c.Bool("json") {
		return e.printJSON(out)
	}
	who := "the given key"
	if res.Identity != nil {
		who = fmt.Sprintf("%s (issuer %s)", res.Identity.SAN, res.Identity.Issuer)
	}
	fmt.Fprintf(e.stdout, "Verified OK: %s signed by %s at %s, log index %d\n", target, who, out.IntegratedTime, res.LogIndex)
	return nil
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// openArtifact accepts a path, - for stdin, or sha256:HEX.
func (e *env) openArtifact(target string) (verify.Artifact, func(), error) {
	if hexd, ok := strings.CutPrefix(target, "sha256:"); ok {
		d, err := hex.DecodeString(hexd)
		if err != nil || len(d) != 32 {
			return verify.Artifact{}, nil, clierr.Usagef("%q is not a sha256:<64 hex digits> digest", target)
		}
		return verify.Artifact{Digest: d, Hash: crypto.SHA256}, func() {}, nil
	}
	if target == "-" {
		return verify.Artifact{Reader: e.stdin}, func() {}, nil
	}
	f, err := os.Open(target)
	if err != nil {
		return verify.Artifact{}, nil, err
	}
	return verify.Artifact{Reader: f}, func() { f.Close() }, nil
}

func loadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := loadPublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

func loadPublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY")
	}
	return x509.ParsePKIXPublicKey(blk.Bytes)
}
