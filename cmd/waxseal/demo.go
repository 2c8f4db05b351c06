package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/sign"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/common/trust/trustfetch"
	"github.com/waxseal/waxseal/common/verify"
	"github.com/waxseal/waxseal/internal/clierr"
	"github.com/waxseal/waxseal/server"
)

func (e *env) demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the whole keyless flow on this machine, offline, and explain each step",
		Description: `Starts the embedded stack (CA, CT log, transparency log, development OIDC
issuer) in this process on a loopback port, logs in through the issuer's real
authorization-code flow, signs a file, verifies it offline, and shows that a
modified file or another identity is rejected. Nothing leaves this machine.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "work in `DIR` and keep it (default: a temporary directory, removed after)"},
			&cli.StringFlag{Name: "email", Value: "demo@example.com", Usage: "the identity to sign as"},
		},
		Action: func(c *cli.Context) error {
			dir := c.String("dir")
			if dir == "" {
				tmp, err := os.MkdirTemp("", "waxseal-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			} else if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			dir, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			return e.demo(c.Context, dir, c.String("email"))
		},
	}
}

func (e *env) demo(ctx context.Context, dir, email string) error {
	step := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }
	info := func(format string, a ...any) { fmt.Fprintf(e.stdout, "    "+format+"\n", a...) }

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	srv, err := server.New(ctx, server.Config{Dir: filepath.Join(dir, "server"), URL: base, DevOIDC: true})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	step("started the keyless stack at %s (data in %s)", base, filepath.Join(dir, "server"))
	info("certificate authority, CT log and transparency log, plus a development OIDC issuer at %s/oidc", base)

	rootDoc, scDoc, err := trustfetch.Fetch(ctx, httpClient, base)
	if err != nil {
		return err
	}
	root, err := trust.ParseRoot(rootDoc)
	if err != nil {
		return err
	}
	sc, err := trust.ParseSigningConfig(scDoc, time.Now())
	if err != nil {
		return err
	}
	rootPath := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(rootPath, rootDoc, 0o644); err != nil {
		return err
	}
	step("fetched the trusted root %s", trust.Fingerprint(rootDoc))
	info("saved as %s: it is all a verifier needs", rootPath)

	token, err := oidc.DevLogin(ctx, sc.OIDCURL, email)
	if err != nil {
		return fmt.Errorf("logging in: %w", err)
	}
	claims, err := oidc.Inspect(token)
	if err != nil {
		return err
	}
	step("logged in as %s through the issuer's authorization-code + PKCE flow", email)
	info("ID token from %s, audience %v, expires %s", claims.Issuer, claims.Audience, claims.Expiry.UTC().Format(time.RFC3339))

	ca := &fulcioclient.Client{BaseURL: sc.CAURL, HTTPClient: httpClient}
	cred, err := credential.LoginWithToken(ctx, ca, token, keys.Default)
	if err != nil {
		return err
	}
	step("got a certificate for a fresh in-memory %s key", keys.Default)
	info("identity %s, valid %s to %s, with an embedded SCT from the CT log", email,
		cred.Certificate.NotBefore.UTC().Format("15:04:05"), cred.Certificate.NotAfter.UTC().Format("15:04:05"))

	artifact := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(artifact, []byte("hello from waxseal\n"), 0o644); err != nil {
		return err
	}
	s := &sign.Signer{Credential: cred, Log: &tlogclient.Client{BaseURL: sc.RekorURL, HTTPClient: httpClient}}
	f, err := os.Open(artifact)
	if err != nil {
		return err
	}
	b, err := s.Artifact(ctx, f)
	f.Close()
	if err != nil {
		return err
	}
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	bpath := artifact + ".sigstore.json"
	if err := os.WriteFile(bpath, data, 0o644); err != nil {
		return err
	}
	tle := b.GetVerificationMaterial().GetTlogEntries()[0]
	step("signed %s and recorded it in the transparency log", artifact)
	info("log entry %d: %s/api/v1/log/entries?logIndex=%d", tle.GetLogIndex(), sc.RekorURL, tle.GetLogIndex())
	info("bundle (certificate, signature, SET, inclusion proof, checkpoint): %s", bpath)
	cred = nil // the key is gone; nothing was written

	pol := verify.Policy{Identity: email, Issuer: sc.OIDCURL}
	parsed, err := bundle.Parse(data)
	if err != nil {
		return err
	}
	content, err := os.ReadFile(artifact)
	if err != nil {
		return err
	}
	res, err := verify.Verify(parsed, verify.Artifact{Reader: bytes.NewReader(content)}, root, pol, verify.Options{})
	if err != nil {
		return fmt.Errorf("verifying: %w", err)
	}
	step("verified offline: signed by %s (issuer %s), seen by the log at %s", res.Identity.SAN, res.Identity.Issuer, res.IntegratedTime.UTC().Format(time.RFC3339))
	info("same check from a shell: waxseal verify %s --trusted-root %s --certificate-identity %s --certificate-oidc-issuer %s", artifact, rootPath, email, sc.OIDCURL)
	info("(the files go away when the demo ends; 'waxseal demo --dir DIR' keeps them)")

	_, err = verify.Verify(parsed, verify.Artifact{Reader: bytes.NewReader(append(content, '!'))}, root, pol, verify.Options{})
	var ve *verify.Error
	if !errors.As(err, &ve) {
		return fmt.Errorf("a modified file was not rejected (%v)", err)
	}
	step("a modified file is rejected: %v", err)
	_, err = verify.Verify(parsed, verify.Artifact{Reader: bytes.NewReader(content)}, root, verify.Policy{Identity: "mallory@example.com", Issuer: sc.OIDCURL}, verify.Options{})
	if !errors.As(err, &ve) || ve.Check != verify.CheckIdentity {
		return fmt.Errorf("another identity was not rejected (%v)", err)
	}
	step("another identity is rejected: %v", err)

	return e.demoGit(ctx, dir, base, rootPath, email, sc.OIDCURL, token)
}

// demoGit makes and verifies a signed commit with real git, this binary
// serving as git's x509 program under the name gitsign.
func (e *env) demoGit(ctx context.Context, dir, base, rootPath, email, issuer, token string) error {
	step := func(format string, a ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", a...) }
	info := func(format string, a ...any) { fmt.Fprintf(e.stdout, "    "+format+"\n", a...) }
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return clierr.WithHint(errors.New("git is not installed: the git part of the demo needs it"), "install git (apt-get install git) and run the demo again")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	gitsign := filepath.Join(bin, "gitsign")
	os.Remove(gitsign)
	if err := os.Symlink(self, gitsign); err != nil {
		return err
	}
	repo := filepath.Join(dir, "repo")
	signers := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(signers, []byte("# committer email  certificate identity  OIDC issuer\n"+email+" "+email+" "+issuer+"\n"), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(),
		"HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(dir, "gitconfig"),
		"SIGSTORE_ID_TOKEN="+token, "WAXSEAL_CONFIG_DIR="+filepath.Join(dir, "config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache")) // gitsign's verdicts stay in the scratch directory too
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, gitPath, args...)
		cmd.Dir, cmd.Env = repo, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"config", "user.name", "Demo"},
		{"config", "user.email", email},
		{"config", "gpg.format", "x509"},
		{"config", "gpg.x509.program", gitsign},
		{"config", "gitsign.server", base},
		{"config", "gitsign.trustedRoot", rootPath},
		{"config", "gitsign.allowedSigners", signers},
	} {
		if _, err := git(args...); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "README"), []byte("signed with waxseal\n"), 0o644); err != nil {
		return err
	}
	if _, err := git("add", "README"); err != nil {
		return err
	}
	if _, err := git("commit", "-q", "-S", "-m", "first signed commit"); err != nil {
		return err
	}
	head, err := git("rev-parse", "--short", "HEAD")
	if err != nil {
		return err
	}
	step("made a signed git commit %s in %s (gpg.x509.program = gitsign)", head, repo)
	if _, err := git("verify-commit", "HEAD"); err != nil {
		return err
	}
	status, err := git("log", "-1", "--format=%G? %GS")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(status, "G ") {
		return fmt.Errorf("git reports %q for the signed commit, want G", status)
	}
	step("git verify-commit accepts it; git log --format='%%G? %%GS' says: %s", status)
	info("G: valid, and %s is an allowed signer for %s in %s", email, email, signers)
	return nil
}
