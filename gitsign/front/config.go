package front

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Config is gitsign's configuration: `git config gitsign.<key>`, overridden
// by environment variables. Names follow sigstore's gitsign where the
// meaning is the same (GITSIGN_ wins over SIGSTORE_).
type Config struct {
	Fulcio         string // CA base URL
	Rekor          string // log base URL
	Issuer         string // OIDC issuer for interactive logins
	ClientID       string
	RedirectURL    string
	ConnectorID    string // upstream provider at a federating issuer (Dex's connector_id)
	TokenProvider  string // a name oidc.ParseProvider accepts
	Server         string // a waxseal instance: its /signing_config.json names CA, log, issuer
	TrustedRoot    string // trusted_root.json; default the root pinned by `waxseal trust init`
	AllowedSigners string // allowed-signers file, relative to the repository's top level
	LogPath        string // tee stderr here (git swallows it)
	MatchCommitter bool   // refuse to sign when the identity is not the committer's email
	VerifyCache    bool   // answer a signature verified before from the verdict cache (default true)
	VerifyServer   bool   // verify in a gitsign-core kept running between git's calls (default true)
	Bare           bool   // core.bare: the repository has no work tree

	// Unused says which settings of sigstore's gitsign are set that this
	// gitsign does not act on, and what it does instead, which have
	// values git would refuse, and which gitsign.* keys it does not know:
	// signing warns.
	Unused []string
}

// unusedSettings are sigstore gitsign's settings with no counterpart here.
var unusedSettings = []struct {
	git   string // as git prints it
	name  string // as sigstore's gitsign documents it
	env   []string
	unset func(v string) bool // values that change nothing here
	why   string
}{
	{"gitsign.timestampserverurl", "gitsign.timestampServerURL", []string{"GITSIGN_TIMESTAMP_SERVER_URL", "SIGSTORE_TIMESTAMP_SERVER_URL"}, func(v string) bool { return v == "" },
		"no RFC 3161 timestamp is requested: the transparency log's time is the signing time verifiers trust"},
	{"", "GITSIGN_CREDENTIAL_CACHE", []string{"GITSIGN_CREDENTIAL_CACHE"}, func(v string) bool { return v == "" },
		"sigstore's credential cache is not asked; 'waxseal agent' keeps a login for many signatures"},
	{"gitsign.rekormode", "gitsign.rekorMode", []string{"GITSIGN_REKOR_MODE"}, func(v string) bool { return v == "" || strings.EqualFold(v, "offline") },
		"the log entry always goes in the signature (sigstore's offline mode), which sigstore's gitsign verifies in either mode"},
	// Its environment variable, SIGSTORE_ROOT_FILE, is what 'waxseal trust
	// export' sets for sigstore's gitsign beside this one: not said.
	{"gitsign.fulcioroot", "gitsign.fulcioRoot", nil, func(v string) bool { return v == "" },
		"the CA's certificates come from the trusted root (gitsign.trustedRoot, or the one 'waxseal trust init' pinned)"},
	{"gitsign.clientsecretfile", "gitsign.clientSecretFile", nil, func(v string) bool { return v == "" },
		"gitsign's interactive login sends no client secret"},
	// Known, and changing nothing worth a word: the timestamp
	// authority's chain goes with timestampServerURL, which is said, and
	// closing the browser tab after a login is cosmetic.
	{"gitsign.timestampcertchain", "gitsign.timestampCertChain", nil, func(string) bool { return true }, ""},
	{"gitsign.autoclose", "gitsign.autoclose", nil, func(string) bool { return true }, ""},
	{"gitsign.autoclosetimeout", "gitsign.autocloseTimeout", nil, func(string) bool { return true }, ""},
}

// configKeys maps git config keys (lowercased, as git prints them) and
// environment variables to fields.
var configKeys = []struct {
	git  string
	env  []string
	dest func(*Config) *string
}{
	{"gitsign.fulcio", []string{"GITSIGN_FULCIO_URL", "SIGSTORE_FULCIO_URL"}, func(c *Config) *string { return &c.Fulcio }},
	{"gitsign.rekor", []string{"GITSIGN_REKOR_URL", "SIGSTORE_REKOR_URL"}, func(c *Config) *string { return &c.Rekor }},
	{"gitsign.issuer", []string{"GITSIGN_OIDC_ISSUER", "SIGSTORE_OIDC_ISSUER"}, func(c *Config) *string { return &c.Issuer }},
	{"gitsign.clientid", []string{"GITSIGN_OIDC_CLIENT_ID", "SIGSTORE_OIDC_CLIENT_ID"}, func(c *Config) *string { return &c.ClientID }},
	{"gitsign.redirecturl", []string{"GITSIGN_OIDC_REDIRECT_URL", "SIGSTORE_OIDC_REDIRECT_URL"}, func(c *Config) *string { return &c.RedirectURL }},
	{"gitsign.connectorid", []string{"GITSIGN_CONNECTOR_ID", "SIGSTORE_CONNECTOR_ID"}, func(c *Config) *string { return &c.ConnectorID }},
	{"gitsign.tokenprovider", []string{"GITSIGN_TOKEN_PROVIDER", "SIGSTORE_TOKEN_PROVIDER"}, func(c *Config) *string { return &c.TokenProvider }},
	{"gitsign.server", []string{"GITSIGN_SERVER"}, func(c *Config) *string { return &c.Server }},
	{"gitsign.trustedroot", []string{"GITSIGN_TRUSTED_ROOT"}, func(c *Config) *string { return &c.TrustedRoot }},
	{"gitsign.allowedsigners", []string{"GITSIGN_ALLOWED_SIGNERS"}, func(c *Config) *string { return &c.AllowedSigners }},
	{"gitsign.logpath", []string{"GITSIGN_LOG"}, func(c *Config) *string { return &c.LogPath }},
}

// LoadConfig reads git's configuration, from its files when readGitConfig
// reads them exactly as git would, else with one `git config` run (git
// itself knows every include, scope and environment override); then the
// environment.
func LoadConfig(ctx context.Context, dir string, getenv func(string) string) *Config {
	c := &Config{}
	vals, err := readGitConfig(dir, getenv)
	if err != nil {
		vals = gitConfig(ctx, dir)
	}
	for _, k := range configKeys {
		if v, ok := vals[k.git]; ok {
			*k.dest(c) = v
		}
		for _, e := range k.env {
			if v := getenv(e); v != "" {
				*k.dest(c) = v
				break
			}
		}
	}
	mc, mcName := vals["gitsign.matchcommitter"], "gitsign.matchCommitter"
	if v := getenv("GITSIGN_MATCH_COMMITTER"); v != "" {
		mc, mcName = v, "GITSIGN_MATCH_COMMITTER"
	}
	// A value git would refuse as a boolean leaves each setting at its
	// safe end: the committer check on, the verdict cache off.
	// Said when signing, as git would refuse them.
	notBool := func(name, v, taken string) {
		c.Unused = append(c.Unused, fmt.Sprintf("%s=%s is not a boolean (true or false): taken as %s, which git would refuse", name, v, taken))
	}
	if b, ok := parseBool(mc); ok {
		c.MatchCommitter = b
	} else {
		c.MatchCommitter = true
		notBool(mcName, mc, "true")
	}
	// On unless set: a value that is not a boolean switches it off.
	onUnlessSet := func(key, name, env string) bool {
		v, ok := vals[key]
		if e := getenv(env); e != "" {
			v, ok, name = e, true, env
		}
		if !ok {
			return true
		}
		b, valid := parseBool(v)
		if !valid {
			notBool(name, v, "false")
		}
		return b
	}
	c.VerifyCache = onUnlessSet("gitsign.verifycache", "gitsign.verifyCache", "GITSIGN_VERIFY_CACHE")
	c.VerifyServer = onUnlessSet("gitsign.verifyserver", "gitsign.verifyServer", "GITSIGN_VERIFY_SERVER")
	c.Bare = gitBool(vals["core.bare"])
	for _, u := range unusedSettings {
		name, v := u.name, vals[u.git]
		for _, e := range u.env {
			if ev := getenv(e); ev != "" {
				name, v = e, ev
				break
			}
		}
		if !u.unset(v) {
			c.Unused = append(c.Unused, fmt.Sprintf("%s=%s is not used: %s", name, v, u.why))
		}
	}
	c.Unused = append(c.Unused, unknownKeys(vals)...)
	return c
}

// known reports whether k (lowercased, as git prints it) is a gitsign.*
// setting read here or recognised as sigstore gitsign's. A loop, not a
// map made at start-up: the front runs this for every signature git shows.
func known(k string) bool {
	for _, c := range configKeys {
		if c.git == k {
			return true
		}
	}
	for _, u := range unusedSettings {
		if u.git == k {
			return true
		}
	}
	return k == "gitsign.matchcommitter" || k == "gitsign.verifycache" || k == "gitsign.verifyserver"
}

// keyNames spells the settings of configKeys and the booleans as the
// documentation does, for suggestions (TestKeyNames keeps it so).
var keyNames = []string{"gitsign.fulcio", "gitsign.rekor", "gitsign.issuer", "gitsign.clientID", "gitsign.redirectURL",
	"gitsign.connectorID", "gitsign.tokenProvider", "gitsign.server", "gitsign.trustedRoot", "gitsign.allowedSigners",
	"gitsign.logPath", "gitsign.matchCommitter", "gitsign.verifyCache", "gitsign.verifyServer"}

// unknownKeys says which gitsign.<key> settings gitsign does not know,
// with the known one each is likely a misspelling of: a mistyped
// gitsign.allowedSigners would otherwise leave every signature U, silently.
func unknownKeys(vals map[string]string) []string {
	var out []string
	for k := range vals {
		name, ok := strings.CutPrefix(k, "gitsign.")
		if !ok || strings.Contains(name, ".") {
			continue // another section, or a subsection: not a key of gitsign's
		}
		if known(k) {
			continue
		}
		msg := fmt.Sprintf("git config %s is not a setting of gitsign's, and is not used", k)
		best, bestD := "", 4 // at most three edits away
		suggest := func(n string) {
			if d := editDistance(k, strings.ToLower(n)); d < bestD {
				best, bestD = n, d
			}
		}
		for _, n := range keyNames {
			suggest(n)
		}
		for _, u := range unusedSettings {
			if u.git != "" {
				suggest(u.name)
			}
		}
		if best != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", best)
		}
		out = append(out, msg)
	}
	slices.Sort(out) // map order is not an order to say things in
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// gitConfig returns the gitsign.* and user.* settings. Without git or a
// repository it returns what it can.
func gitConfig(ctx context.Context, dir string) map[string]string {
	vals := map[string]string{}
	cmd := exec.CommandContext(ctx, "git", "config", "-z", "--get-regexp", `^(gitsign\.|user\.|core\.bare$)`)
	cmd.Dir = dir
	// GIT_CONFIG is `git config --file`, for git config alone: the git
	// that runs gitsign reads its usual files whatever it says.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_CONFIG=") && !(dir != "" && strings.HasPrefix(kv, "PWD=")) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if dir != "" {
		// As exec does with no Env of its own: git reads where it runs
		// from $PWD, links and all.
		if abs, err := filepath.Abs(dir); err == nil {
			cmd.Env = append(cmd.Env, "PWD="+abs)
		}
	}
	if out, err := cmd.Output(); err == nil || len(out) > 0 {
		for _, kv := range bytes.Split(out, []byte{0}) {
			k, v, ok := strings.Cut(string(kv), "\n")
			if !ok && boolKeys[strings.ToLower(k)] {
				// A bare boolean key ("[gitsign] matchCommitter"): true.
				v = "true"
			}
			if k != "" {
				vals[strings.ToLower(k)] = v
			}
		}
	}
	return vals
}

// TopLevel finds the work tree's top level, for resolving a relative
// allowed-signers path; git runs its helpers from there, but `gitsign
// verify` may run anywhere.
func TopLevel(ctx context.Context, dir string) string {
	l, err := RepoLayout(ctx, dir)
	switch {
	case err != nil:
		return dir
	case l.Top != "":
		return l.Top
	default:
		// A bare repository: its directory, where git runs its helpers.
		return l.GitDir
	}
}

// WorkTreeTop is the top level of the work tree dir is in, as git prints it
// (symbolic links resolved); false in a repository without one (a bare
// repository, a .git directory), and an error when git gives no answer
// (outside any repository, git missing or failing).
func WorkTreeTop(ctx context.Context, dir string) (string, bool, error) {
	l, err := RepoLayout(ctx, dir)
	return l.Top, l.Top != "", err
}

// Layout is where git finds the repository from a directory.
type Layout struct {
	GitDir string // absolute
	Top    string // the work tree's top level; "" without a work tree
}

// RepoLayout asks git where the repository dir is in keeps its git
// directory and its work tree, the way every git command run there finds
// them (safe.bareRepository, GIT_DIR, GIT_CEILING_DIRECTORIES and all). It
// is an error when git gives no answer (outside any repository, git
// missing or failing). git is asked once per directory in a process:
// relative paths to the trusted root and the allowed signers, the signers
// file's place in the repository, and the configuration all need it.
func RepoLayout(ctx context.Context, dir string) (Layout, error) {
	layoutsMu.Lock()
	defer layoutsMu.Unlock()
	if l, ok := layouts[dir]; ok {
		return l.Layout, l.err
	}
	// One git run: "<git dir>\n<true|false>\n<top>\n". --show-toplevel
	// fails without a work tree ("fatal: this operation must be run in a
	// work tree"); outside the work tree that GIT_WORK_TREE names, git
	// says "false" and still prints its top, which is the work tree git
	// commands use.
	out, err := gitOutput(ctx, dir, "--absolute-git-dir", "--is-inside-work-tree", "--show-toplevel")
	if ctx.Err() != nil {
		return Layout{}, ctx.Err() // not an answer: asked again next time
	}
	var l layoutAnswer
	lines := strings.Split(out, "\n")
	inside := len(lines) >= 2 && (lines[1] == "true" || lines[1] == "false")
	switch {
	case len(lines) == 3 && inside && err == nil && filepath.IsAbs(lines[0]):
		l.GitDir, l.Top = lines[0], lines[2]
	case len(lines) == 2 && inside && err != nil && filepath.IsAbs(lines[0]):
		l.GitDir = lines[0]
	case len(lines) > 3 || len(lines) == 3 && err != nil:
		// A path with a line break in it: one path per run.
		if l.GitDir, err = gitOutput(ctx, dir, "--absolute-git-dir"); err != nil {
			l.GitDir = ""
			break
		}
		if top, err := gitOutput(ctx, dir, "--show-toplevel"); err == nil {
			l.Top = top
		}
	}
	if ctx.Err() != nil {
		return Layout{}, ctx.Err()
	}
	if l.GitDir == "" {
		l.err = fmt.Errorf("finding the repository: %w", err)
	}
	layouts[dir] = l
	return l.Layout, l.err
}

// gitOutput runs git rev-parse ARGS in dir: its output without the last
// line break, or an error with what git said.
func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"rev-parse"}, args...)...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if msg := strings.TrimPrefix(strings.TrimSpace(stderr.String()), "fatal: "); err != nil && msg != "" {
		// What git said is the news, not its exit status.
		err = errors.New(msg)
	}
	return strings.TrimSuffix(string(out), "\n"), err
}

type layoutAnswer struct {
	Layout
	err error
}

var (
	layoutsMu sync.Mutex
	layouts   = map[string]layoutAnswer{}
)

// Resolve makes p absolute against base, expanding a leading "~/".
func Resolve(p, base, home string) string {
	if strings.HasPrefix(p, "~/") && home != "" {
		return filepath.Join(home, p[2:])
	}
	if filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

// ForgetLayouts forgets where git said repositories are, for a process
// that outlives one command (the verify server): directories come and go.
func ForgetLayouts() {
	layoutsMu.Lock()
	defer layoutsMu.Unlock()
	clear(layouts)
}
