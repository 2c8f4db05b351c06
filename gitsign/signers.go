package gitsign

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/waxseal/waxseal/internal/readfile"
)

// AllowedSigners binds committer emails to certificate identities, the way
// ssh's allowed-signers file binds principals to keys. One rule per line,
// "#" starting a comment (a line's own, or after a rule):
//
//	# committer email (or glob)   certificate identity (SAN)      OIDC issuer
//	alice@example.com             alice@example.com               https://accounts.google.com
//	*@example.com                 https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main  https://token.actions.githubusercontent.com
//
// In an email, "*" matches any run of characters and "?" any one; every
// other character is itself ("41898282+github-actions[bot]@users.noreply.github.com"
// is that address, not a character class). Emails match ignoring ASCII case
// only (a KELVIN SIGN is not a k: an email that only looks like the rule's
// does not match it); the identity and issuer match exactly.
type AllowedSigners struct {
	Source string // where the rules came from, for messages
	rules  []rule
}

type rule struct {
	email, identity, issuer string
	line                    int
}

// ParseAllowedSigners reads rules from r; source names it in errors.
func ParseAllowedSigners(r io.Reader, source string) (*AllowedSigners, error) {
	a := &AllowedSigners{Source: source}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			// The byte-order mark some editors begin a UTF-8 file with.
			line = strings.TrimPrefix(line, "\ufeff")
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		// A comment may also follow a rule: no email, identity or
		// issuer begins with "#".
		if i := slices.IndexFunc(f, func(w string) bool { return strings.HasPrefix(w, "#") }); i >= 0 {
			f = f[:i]
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want <committer email or glob> <certificate identity> <OIDC issuer>, got %d fields", source, n, len(f))
		}
		if strings.Contains(f[0], `\`) {
			// An escape written for a glob syntax with character
			// classes would now be part of the address, and the rule
			// would match nothing.
			return nil, fmt.Errorf(`%s:%d: %q: no escapes are needed or taken: write the email as it is ([bot] included); only * and ? are wildcards`, source, n, f[0])
		}
		a.rules = append(a.rules, rule{email: LowerASCII(f[0]), identity: f[1], issuer: f[2], line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return a, nil
}

// LoadAllowedSigners reads an allowed-signers file.
func LoadAllowedSigners(file string) (*AllowedSigners, error) {
	data, err := readfile.Read(file)
	if err != nil {
		return nil, err
	}
	return ParseAllowedSigners(bytes.NewReader(data), file)
}

// Check decides whether identity (a certificate SAN) from issuer may sign as
// committer email. It returns nil when a rule allows it, else an error that
// says why not: the identity is unknown, or it is known but bound to other
// emails (a signature "from alice" on a commit claiming to be bob's).
func (a *AllowedSigners) Check(email, identity, issuer string) error {
	lower := LowerASCII(email)
	known := false
	for _, r := range a.rules {
		if r.identity != identity || r.issuer != issuer {
			continue
		}
		known = true
		if wildcard(r.email, lower) {
			return nil
		}
	}
	if known {
		return fmt.Errorf("email %q (the committer's, tagger's or pusher's) is not bound to signer %s (%s) in %s", email, identity, issuer, a.Source)
	}
	// The identity under another issuer: say so, as a typo in the issuer
	// (or a login through another provider) looks like a stranger.
	var others []string
	for _, r := range a.rules {
		if r.identity == identity && !slices.Contains(others, r.issuer) {
			others = append(others, r.issuer)
		}
	}
	if len(others) > 0 {
		return fmt.Errorf("signer %s logged in through %s, but %s allows it only from %s", identity, issuer, a.Source, strings.Join(others, ", "))
	}
	for _, r := range a.rules {
		if r.issuer == issuer && EqualFoldASCII(r.identity, identity) {
			// Told apart, as a certificate's identity is the issuer's to
			// spell: the rule may be a hand-typed one.
			return fmt.Errorf("signer %s (%s) is not in %s: its line %d names %s, and identities match exactly, case too", identity, issuer, a.Source, r.line, r.identity)
		}
	}
	return fmt.Errorf("signer %s (%s) is not in %s", identity, issuer, a.Source)
}

// LowerASCII folds A-Z to a-z and leaves every other character as it is,
// as git and C's strcasecmp fold case.
func LowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// EqualFoldASCII is strings.EqualFold for ASCII case only: a look-alike
// from elsewhere in Unicode (KELVIN SIGN for k) is another address.
func EqualFoldASCII(a, b string) bool { return LowerASCII(a) == LowerASCII(b) }

// wildcard matches s against pattern, where "*" is any run of characters
// (none included) and "?" any one, backtracking to the last "*" on a
// mismatch.
func wildcard(pattern, s string) bool {
	pr, sr := []rune(pattern), []rune(s)
	p, i := 0, 0
	star, resume := -1, 0
	for i < len(sr) {
		switch {
		case p < len(pr) && pr[p] == '*':
			star, resume = p, i
			p++
		case p < len(pr) && (pr[p] == '?' || pr[p] == sr[i]):
			p++
			i++
		case star >= 0:
			resume++
			p, i = star+1, resume
		default:
			return false
		}
	}
	for p < len(pr) && pr[p] == '*' {
		p++
	}
	return p == len(pr)
}
