package oidc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// clearEnv unsets every variable that makes a provider apply.
func clearEnv(t *testing.T) {
	for _, v := range []string{EnvVar, ActionsRequestURLEnv, ActionsRequestTokenEnv, "BUILDKITE",
		"BUILDKITE_AGENT_ACCESS_TOKEN", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY", "CI"} {
		t.Setenv(v, "")
	}
}

func names(chain []Provider) string {
	var s []string
	for _, p := range chain {
		s = append(s, p.Name)
	}
	return strings.Join(s, " ")
}

func TestChainOrder(t *testing.T) {
	clearEnv(t)
	browse := func(string) error { return nil }
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts Options
		want string
		err  string
	}{
		{name: "nothing", err: "no explicit token", opts: Options{NoAgent: true}},
		{name: "agent only", want: "agent"},
		{name: "device without display", opts: Options{Issuer: "https://i", OpenBrowser: browse}, want: "agent device"},
		{name: "browser with display", env: map[string]string{"DISPLAY": ":0"}, opts: Options{Issuer: "https://i", OpenBrowser: browse}, want: "agent browser"},
		{name: "device without opener", env: map[string]string{"DISPLAY": ":0"}, opts: Options{Issuer: "https://i"}, want: "agent device"},
		{name: "everything", env: map[string]string{
			EnvVar: "x", ActionsRequestURLEnv: "http://u", ActionsRequestTokenEnv: "t",
			"BUILDKITE": "true", "BUILDKITE_AGENT_ACCESS_TOKEN": "b", "BROWSER": "true"},
			opts: Options{Token: "a.b.c", TokenFile: "/f", Command: "echo", Issuer: "https://i", OpenBrowser: browse},
			want: "token env file github-actions buildkite command agent browser"},
		{name: "ambient disabled", env: map[string]string{ActionsRequestURLEnv: "http://u", ActionsRequestTokenEnv: "t"},
			opts: Options{DisableAmbient: true, Command: "echo"}, want: "command agent"},
		{name: "forced device", env: map[string]string{"BROWSER": "true", EnvVar: "x"},
			opts: Options{Provider: "device", Issuer: "https://i", OpenBrowser: browse}, want: "device"},
		{name: "no interactive login in CI", env: map[string]string{"CI": "true", "DISPLAY": ":0"}, opts: Options{Issuer: "https://i", OpenBrowser: browse}, want: "agent"},
		{name: "CI named", env: map[string]string{"CI": "woodpecker", "DISPLAY": ":0"}, opts: Options{Issuer: "https://i", OpenBrowser: browse}, want: "agent"},
		{name: "CI false", env: map[string]string{"CI": "false", "DISPLAY": ":0"}, opts: Options{Issuer: "https://i", OpenBrowser: browse}, want: "agent browser"},
		{name: "nothing in CI", env: map[string]string{"CI": "1"}, opts: Options{Issuer: "https://i", OpenBrowser: browse, NoAgent: true}, err: "no interactive login in CI (CI=1)"},
		{name: "forced browser in CI", env: map[string]string{"CI": "true", "DISPLAY": ":0"}, opts: Options{Provider: "browser", Issuer: "https://i", OpenBrowser: browse}, want: "browser"},
		{name: "forced alias", opts: Options{Provider: "filesystem", TokenFile: "/f"}, want: "file"},
		{name: "forced agent", opts: Options{Provider: "agent", Token: "a.b.c"}, want: "agent"},
		{name: "forced unknown", opts: Options{Provider: "spiffe"}, err: "unknown OIDC provider"},
		{name: "forced file missing", opts: Options{Provider: "file"}, err: "no token file"},
		{name: "forced github missing", opts: Options{Provider: "github"}, err: "id-token: write"},
		{name: "forced gitlab missing", opts: Options{Provider: "gitlab"}, err: "id_tokens"},
		{name: "forced browser no issuer", opts: Options{Provider: "browser"}, err: "no OIDC issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			chain, err := Chain(tc.opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(chain); got != tc.want {
				t.Errorf("chain %q, want %q", got, tc.want)
			}
			for _, p := range chain {
				if (p.Source == nil) != (p.Name == ProviderAgent) {
					t.Errorf("%s: Source %v", p.Name, p.Source)
				}
				if p.Interactive != (p.Name == ProviderBrowser || p.Name == ProviderDevice) {
					t.Errorf("%s: Interactive %v", p.Name, p.Interactive)
				}
			}
		})
	}
}

func TestCheckedTokens(t *testing.T) {
	clearEnv(t)
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	hdr := `{"alg":"ES256"}`
	good := jwt(hdr, `{"iss":"https://i","sub":"u","aud":"sigstore","exp":1800000600}`)
	expired := jwt(hdr, `{"iss":"https://i","sub":"u","aud":"sigstore","exp":1799999000}`)
	otherAud := jwt(hdr, `{"iss":"https://i","sub":"u","aud":"other","exp":1800000600}`)
	customAud := jwt(hdr, `{"iss":"https://j","sub":"u","aud":"custom","exp":1800000600}`)
	for _, tc := range []struct {
		name    string
		token   string
		issuers map[string]string
		err     error
		text    string
	}{
		{name: "good", token: good},
		{name: "expired", token: expired, err: ErrTokenExpired, text: "(from --identity-token)"},
		{name: "wrong audience", token: otherAud, err: ErrWrongAudience},
		{name: "issuer trusted", token: good, issuers: map[string]string{"https://i": "sigstore"}},
		{name: "issuer audience from CA", token: customAud, issuers: map[string]string{"https://j": "custom"}},
		{name: "issuer untrusted", token: customAud, issuers: map[string]string{"https://i": "sigstore"}, err: ErrUntrustedIssuer, text: `"https://j"`},
		{name: "not a JWT", token: "abc", text: "not a JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, err := Chain(Options{Token: tc.token, NoAgent: true, Issuers: tc.issuers, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := chain[0].Source.Token(ctx)
			if tc.err == nil && tc.text == "" {
				if err != nil || tok != tc.token {
					t.Fatalf("Token() = %q, %v", tok, err)
				}
				return
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v, want %q", err, tc.text)
			}
		})
	}
}

func TestCommandAndBuildkite(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	clearEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	tok := jwt(`{"alg":"ES256"}`, `{"iss":"https://i","sub":"u","aud":"sigstore","exp":4000000000}`)
	os.WriteFile(filepath.Join(dir, "tok"), []byte(tok+"\n"), 0o600)

	if got, err := Command("cat " + filepath.Join(dir, "tok")).Token(ctx); err != nil || got != tok {
		t.Errorf("Command: %q, %v", got, err)
	}
	for cmd, want := range map[string]string{
		"echo oops >&2; exit 3": "oops",
		"true":                  "printed no token",
		"echo two words":        "more than a token",
		"":                      ErrNoToken.Error(),
	} {
		if _, err := Command(cmd).Token(ctx); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Command(%q): %v, want %q", cmd, err, want)
		}
	}

	// A stand-in buildkite-agent that checks its arguments.
	agent := filepath.Join(dir, "buildkite-agent")
	script := "#!/bin/sh\n[ \"$*\" = \"oidc request-token --audience sigstore\" ] || { echo \"bad args: $*\" >&2; exit 1; }\ncat " + filepath.Join(dir, "tok") + "\n"
	if err := os.WriteFile(agent, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("BUILDKITE", "true")
	t.Setenv("BUILDKITE_AGENT_ACCESS_TOKEN", "secret")
	chain, err := Chain(Options{NoAgent: true})
	if err != nil {
		t.Fatal(err)
	}
	if names(chain) != "buildkite" {
		t.Fatalf("chain %q", names(chain))
	}
	if got, err := chain[0].Source.Token(ctx); err != nil || got != tok {
		t.Errorf("Buildkite: %q, %v", got, err)
	}
	if _, err := (Buildkite{Audience: "other"}).Token(ctx); err == nil || !strings.Contains(err.Error(), "bad args") {
		t.Errorf("Buildkite audience other: %v", err)
	}
	if _, err := (Buildkite{Agent: "no-such-buildkite-agent"}).Token(ctx); !errors.Is(err, ErrNoToken) {
		t.Errorf("missing agent: %v", err)
	}
	// The spec runs the same provider again.
	src, err := chain[0].Spec.Source()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := src.Token(ctx); err != nil || got != tok {
		t.Errorf("Spec source: %q, %v", got, err)
	}
}

func TestSpecSource(t *testing.T) {
	for _, s := range []Spec{{Provider: "file"}, {Provider: "command"}, {Provider: "github-actions"}, {Provider: "env"}, {Provider: "browser"}} {
		if _, err := s.Source(); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
	for _, s := range []Spec{{Provider: "file", File: "/f"}, {Provider: "command", Command: "x"}, {Provider: "github-actions", RequestURL: "http://u", RequestToken: "t"}, {Provider: "buildkite"}} {
		if _, err := s.Source(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
}
