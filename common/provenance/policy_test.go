package provenance

import (
	"errors"
	"strings"
	"testing"

	"github.com/waxseal/waxseal/common/fulcio"
)

// TestPolicy holds the identity policy to cosign's flags, with regexps
// anchored at both ends (cosign leaves them open).
func TestPolicy(t *testing.T) {
	const gh = "https://token.actions.githubusercontent.com"
	alice := &fulcio.CertIdentity{SAN: "alice@example.com", Issuer: "https://accounts.example.com"}
	workflow := &fulcio.CertIdentity{
		SAN:        "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main",
		Issuer:     gh,
		Extensions: map[string]string{"SourceRepositoryURI": "https://github.com/org/repo"},
	}
	for _, tc := range []struct {
		name   string
		policy Policy
		id     *fulcio.CertIdentity
		check  string // "" when the identity must pass
		reason string
	}{
		{"exact", Policy{Identity: "alice@example.com", Issuer: "https://accounts.example.com"}, alice, "", ""},
		{"other identity", Policy{Identity: "bob@example.com", Issuer: "https://accounts.example.com"}, alice, CheckIdentity, `want "bob@example.com"`},
		{"other issuer", Policy{Identity: "alice@example.com", Issuer: gh}, alice, CheckIdentity, "OIDC issuer is"},
		{"exact is not a prefix", Policy{Identity: "alice@example.co", Issuer: "https://accounts.example.com"}, alice, CheckIdentity, ""},
		{"regexp", Policy{IdentityRegexp: `.*@example\.com`, IssuerRegexp: `https://accounts\.example\.com`}, alice, "", ""},
		{"regexp anchored at the end", Policy{IdentityRegexp: `alice@example\.co`, Issuer: "https://accounts.example.com"}, alice, CheckIdentity, "does not match \"alice@example\\\\.co\" (in full: the pattern is anchored at both ends)"},
		{"regexp anchored at the start", Policy{IdentityRegexp: `example\.com`, Issuer: "https://accounts.example.com"}, alice, CheckIdentity, "does not match"},
		{"alternation stays anchored", Policy{IdentityRegexp: `bob@x|alice@example\.co`, Issuer: "https://accounts.example.com"}, alice, CheckIdentity, "does not match"},
		{"issuer regexp", Policy{Identity: "alice@example.com", IssuerRegexp: `https://token\..*`}, alice, CheckIdentity, "does not match"},
		{"claim", Policy{IdentityRegexp: `https://github\.com/org/repo/.*`, Issuer: gh, Claims: map[string]string{"SourceRepositoryURI": "https://github.com/org/repo"}}, workflow, "", ""},
		{"other claim", Policy{IdentityRegexp: `https://github\.com/org/repo/.*`, Issuer: gh, Claims: map[string]string{"SourceRepositoryURI": "https://github.com/org/fork"}}, workflow, CheckIdentity, "claim SourceRepositoryURI"},
		{"missing claim", Policy{Identity: "alice@example.com", Issuer: "https://accounts.example.com", Claims: map[string]string{"BuildTrigger": "push"}}, alice, CheckIdentity, "claim BuildTrigger"},
		{"no identity", Policy{Issuer: gh}, alice, CheckPolicyArgs, "certificate-identity"},
		{"both identities", Policy{Identity: "a", IdentityRegexp: "a", Issuer: gh}, alice, CheckPolicyArgs, "exactly one"},
		{"no issuer", Policy{Identity: "alice@example.com"}, alice, CheckPolicyArgs, "certificate-oidc-issuer"},
		{"bad regexp", Policy{IdentityRegexp: "(", Issuer: gh}, alice, CheckPolicyArgs, "identity regexp"},
		// Pasted into the anchoring group unchecked, each would match anyone.
		{"regexp closing the anchor", Policy{IdentityRegexp: "nobody)|(.*", Issuer: "https://accounts.example.com"}, alice, CheckPolicyArgs, "identity regexp: error parsing regexp: unexpected ): `nobody)|(.*`"},
		{"regexp closing the anchor, empty", Policy{IdentityRegexp: "x)|(", Issuer: "https://accounts.example.com"}, alice, CheckPolicyArgs, "identity regexp"},
		{"issuer regexp closing the anchor", Policy{Identity: "alice@example.com", IssuerRegexp: "https://nothing)|(.*"}, alice, CheckPolicyArgs, "issuer regexp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.policy.Compile()
			if err == nil {
				err = c.Check(tc.id)
			}
			if tc.check == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Check != tc.check || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v, want a %q failure mentioning %q", err, tc.check, tc.reason)
			}
		})
	}
}
