package front

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/waxseal/waxseal/internal/readfile"
)

// readGitConfig reads the gitsign.* and user.* settings the way `git config
// --get-regexp` would see them, from the files themselves: starting a git
// process costs more than everything else gitsign does to verify a
// signature, and git starts one gitsign per signature.
//
// The files, in git's order (a later value wins): the system file (unless
// GIT_CONFIG_NOSYSTEM; GIT_CONFIG_SYSTEM names another), the global files
// ($XDG_CONFIG_HOME/git/config then ~/.gitconfig, or GIT_CONFIG_GLOBAL),
// the repository's config (GIT_DIR, else found from dir upwards, with
// linked worktrees and config.worktree), then GIT_CONFIG_COUNT/KEY_n/VALUE_n
// and `git -c` (GIT_CONFIG_PARAMETERS). include.path and includeIf
// "gitdir:"/"gitdir/i:" are followed.
//
// It returns errUnsupported for anything it does not read exactly as git
// (another includeIf condition, `git -c` values it cannot parse,
// a file it cannot parse): the caller then asks git.
func readGitConfig(dir string, getenv func(string) string) (map[string]string, error) {
	// GIT_CONFIG is not read: it is `git config --file` for git config
	// alone, and the git that runs gitsign ignores it.
	r := &configReader{getenv: getenv, vals: map[string]string{}}
	if dir == "" {
		dir = "."
	}
	// As os.Getwd tells it: $PWD when it names the directory (a cd
	// through a symbolic link), as git's second includeIf "gitdir:" try
	// matches it; condition resolves links for the first.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r.gitDir, r.commonDir, r.gitDirAsGit, err = findGitDir(abs, getenv)
	if err != nil {
		return nil, err
	}
	home := getenv("HOME")

	if !gitBool(getenv("GIT_CONFIG_NOSYSTEM")) {
		sys := getenv("GIT_CONFIG_SYSTEM")
		if sys == "" {
			sys = "/etc/gitconfig"
		}
		if err := r.file(sys, 0); err != nil {
			return nil, err
		}
	}
	if g := getenv("GIT_CONFIG_GLOBAL"); g != "" {
		if err := r.file(g, 0); err != nil {
			return nil, err
		}
	} else {
		xdg := getenv("XDG_CONFIG_HOME")
		if xdg == "" && home != "" {
			xdg = filepath.Join(home, ".config")
		}
		if xdg != "" {
			if err := r.file(filepath.Join(xdg, "git", "config"), 0); err != nil {
				return nil, err
			}
		}
		if home != "" {
			if err := r.file(filepath.Join(home, ".gitconfig"), 0); err != nil {
				return nil, err
			}
		}
	}
	if r.commonDir != "" {
		if err := r.file(filepath.Join(r.commonDir, "config"), 0); err != nil {
			return nil, err
		}
		if r.worktreeConfig {
			if err := r.file(filepath.Join(r.gitDir, "config.worktree"), 0); err != nil {
				return nil, err
			}
		}
	}
	if err := r.envParameters(); err != nil {
		return nil, err
	}
	return r.vals, nil
}

var errUnsupported = errors.New("git configuration not readable without git")

type configReader struct {
	getenv            func(string) string
	realHome          *string // $HOME with links resolved, once a pattern needs it
	gitDir, commonDir string  // "" outside a repository
	gitDirAsGit       string  // gitDir as git's second includeIf "gitdir:" try spells it
	worktreeConfig    bool
	vals              map[string]string
}

// set records a value as gitConfig reads what `git config -z
// --get-regexp` prints: a bare boolean key (boolKeys) is "true", as git
// reads it; any other bare key has no value.
func (r *configReader) set(e configEntry) {
	section, name := strings.ToLower(e.section), strings.ToLower(e.name)
	var key string
	switch {
	case section == "gitsign" || section == "user":
		if e.hasSub {
			section += "." + e.subsection
		}
		key = section + "." + name
	case !e.hasSub && section == "core" && name == "bare":
		key = "core.bare"
	default:
		return
	}
	r.vals[key] = e.value
	if e.bare && boolKeys[key] {
		r.vals[key] = "true"
	}
}

// file reads one configuration file; a missing file is no error, as for git.
func (r *configReader) file(path string, depth int) error {
	if depth > 10 {
		return errUnsupported // git's include depth limit is an error too
	}
	data, err := readfile.Read(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return errUnsupported
	}
	entries, err := parseGitConfig(data)
	if err != nil {
		return errUnsupported
	}
	for _, e := range entries {
		sec := strings.ToLower(e.section)
		name := strings.ToLower(e.name)
		switch {
		case sec == "extensions" && !e.hasSub && name == "worktreeconfig":
			// A repository extension: git reads it from the repository's
			// own config, not from included or other files.
			if depth == 0 && r.commonDir != "" && path == filepath.Join(r.commonDir, "config") {
				r.worktreeConfig = e.bare || gitBool(e.value)
			}
			continue
		case sec == "include" && !e.hasSub && name == "path":
			if err := r.include(path, e.value, depth); err != nil {
				return err
			}
			continue
		case sec == "includeif" && e.hasSub && name == "path":
			ok, err := r.condition(e.subsection, path)
			if err != nil {
				return err
			}
			if ok {
				if err := r.include(path, e.value, depth); err != nil {
					return err
				}
			}
			continue
		}
		r.set(e)
	}
	return nil
}

func (r *configReader) include(from, p string, depth int) error {
	if p == "" {
		return nil
	}
	p, err := expandUser(p, r.getenv("HOME"))
	if err != nil {
		return err
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(from), p)
	}
	return r.file(p, depth+1)
}

func expandUser(p, home string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home == "" {
			return "", errUnsupported
		}
		return home + p[1:], nil
	}
	if strings.HasPrefix(p, "~") {
		return "", errUnsupported // ~user
	}
	return p, nil
}

// condition evaluates an includeIf condition: gitdir: and gitdir/i: are
// read here, as git's include_by_gitdir reads them; git decides anything
// else.
func (r *configReader) condition(cond, from string) (bool, error) {
	var pattern string
	fold := false
	switch {
	case strings.HasPrefix(cond, "gitdir:"):
		pattern = cond[len("gitdir:"):]
	case strings.HasPrefix(cond, "gitdir/i:"):
		pattern, fold = cond[len("gitdir/i:"):], true
	default:
		return false, errUnsupported
	}
	if r.gitDir == "" {
		return false, nil
	}
	pattern, err := expandUser(pattern, r.home())
	if err != nil {
		return false, err
	}
	prefix := ""
	if strings.HasPrefix(pattern, "./") {
		// Relative to the directory of the file that says it, with
		// symbolic links resolved (a ~/.gitconfig linked into a dotfiles
		// repository is relative to that repository), and compared
		// literally: a '*' in that directory's name is no wildcard.
		real, err := filepath.EvalSymlinks(from)
		if err != nil {
			return false, errUnsupported
		}
		if real, err = filepath.Abs(real); err != nil {
			return false, errUnsupported
		}
		dirOnly := strings.HasSuffix(pattern, "/")
		prefix, pattern = filepath.Dir(real), pattern[2:]
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if dirOnly && pattern == "" {
			pattern = "**" // "./": everything below
		}
	} else if !filepath.IsAbs(pattern) {
		pattern = "**/" + pattern
	}
	if strings.HasSuffix(pattern, "/") {
		pattern += "**"
	}
	m, err := compileWildmatch(prefix, pattern, fold)
	if err != nil {
		return false, err
	}
	// git matches the .git directory with symlinks resolved, and as found.
	if m.match(r.gitDirAsGit) {
		return true, nil
	}
	real, err := filepath.EvalSymlinks(r.gitDir)
	return err == nil && m.match(real), nil
}

// home is where "~" in a gitdir pattern leads: git expands it to the home
// directory's real path. It is resolved once per reader.
func (r *configReader) home() string {
	if r.realHome == nil {
		home := r.getenv("HOME")
		if real, err := filepath.EvalSymlinks(home); err == nil && home != "" {
			home = real
		}
		r.realHome = &home
	}
	return *r.realHome
}

// wildmatch is git's wildmatch with WM_PATHNAME, as includeIf's gitdir
// uses it, after a prefix compared literally: "*" and "?" within one path
// component; "**" where it is a whole component (at the start or after a
// '/', and at the end or before one) across components, "**/" also
// matching no directory at all; any other run of '*' as one '*'; literal
// bytes, compared ASCII case-insensitively under gitdir/i as git compares
// them. A bracket expression or escape is left to git. It needs no regexp
// package, whose start-up every gitsign process would pay.
type wildmatch struct {
	prefix string
	toks   []wmToken
	fold   bool
}

type wmToken struct {
	kind byte // 'l' literal c, '?', '*', 'd' for a "**/" component, 'a' for a final "**"
	c    byte
}

func compileWildmatch(prefix, pattern string, fold bool) (*wildmatch, error) {
	m := &wildmatch{prefix: prefix, fold: fold}
	for i := 0; i < len(pattern); {
		switch c := pattern[i]; c {
		case '*':
			j := i
			for j < len(pattern) && pattern[j] == '*' {
				j++
			}
			whole := j-i >= 2 && (i == 0 || pattern[i-1] == '/')
			switch {
			case whole && j == len(pattern):
				m.toks = append(m.toks, wmToken{kind: 'a'})
			case whole && pattern[j] == '/':
				m.toks = append(m.toks, wmToken{kind: 'd'})
				j++
			default:
				m.toks = append(m.toks, wmToken{kind: '*'})
			}
			i = j
		case '?':
			m.toks = append(m.toks, wmToken{kind: '?'})
			i++
		case '[', '\\':
			return nil, errUnsupported
		default:
			m.toks = append(m.toks, wmToken{kind: 'l', c: c})
			i++
		}
	}
	return m, nil
}

func (m *wildmatch) match(s string) bool {
	if len(s) < len(m.prefix) {
		return false
	}
	for i := range len(m.prefix) {
		if !(s[i] == m.prefix[i] || m.fold && lowerASCII(s[i]) == lowerASCII(m.prefix[i])) {
			return false
		}
	}
	return m.matchAt(m.toks, s[len(m.prefix):])
}

func (m *wildmatch) matchAt(toks []wmToken, s string) bool {
	for len(toks) > 0 {
		t := toks[0]
		switch t.kind {
		case 'l':
			if s == "" || !(s[0] == t.c || m.fold && lowerASCII(s[0]) == lowerASCII(t.c)) {
				return false
			}
		case '?':
			if s == "" || s[0] == '/' {
				return false
			}
		case '*': // within one component
			for i := 0; ; i++ {
				if m.matchAt(toks[1:], s[i:]) {
					return true
				}
				if i == len(s) || s[i] == '/' {
					return false
				}
			}
		case 'd': // nothing, or whole components each ending in "/"
			if m.matchAt(toks[1:], s) {
				return true
			}
			for i := 0; i < len(s); i++ {
				if s[i] == '/' && m.matchAt(toks[1:], s[i+1:]) {
					return true
				}
			}
			return false
		case 'a': // only ever last
			return true
		}
		toks, s = toks[1:], s[1:]
	}
	return s == ""
}

// lowerString is s with ASCII capitals in lower case, as git compares
// names and boolean words.
func lowerString(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII(c)
	}
	return string(b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// envParameters applies GIT_CONFIG_COUNT/GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n
// then GIT_CONFIG_PARAMETERS (`git -c`), which git passes on to the
// programs it runs, in git's order.
func (r *configReader) envParameters() error {
	if n := r.getenv("GIT_CONFIG_COUNT"); n != "" {
		count, err := strconv.Atoi(n)
		if err != nil || count < 0 {
			return errUnsupported
		}
		for i := range count {
			k := r.getenv("GIT_CONFIG_KEY_" + strconv.Itoa(i))
			if k == "" {
				return errUnsupported
			}
			if err := r.param(k, r.getenv("GIT_CONFIG_VALUE_"+strconv.Itoa(i)), false); err != nil {
				return err
			}
		}
	}
	p := r.getenv("GIT_CONFIG_PARAMETERS")
	for {
		p = strings.TrimLeft(p, " \t\n")
		if p == "" {
			return nil
		}
		key, rest, ok := sqDequote(p)
		if !ok {
			return errUnsupported
		}
		if strings.HasPrefix(rest, "=") { // 'key'='value' (git 2.31 and later)
			if rest == "=" || strings.IndexAny(rest[1:2], " \t\n") == 0 { // 'key'= : a bare boolean
				if err := r.param(key, "", true); err != nil {
					return err
				}
				p = rest[1:]
				continue
			}
			value, rest2, ok := sqDequote(rest[1:])
			if !ok {
				return errUnsupported
			}
			if err := r.param(key, value, false); err != nil {
				return err
			}
			p = rest2
			continue
		}
		// 'key=value', or 'key' alone (a bare boolean).
		k, v, hasValue := strings.Cut(key, "=")
		if err := r.param(k, v, !hasValue); err != nil {
			return err
		}
		p = rest
	}
}

// param applies one command-line setting, "section[.subsection].name".
func (r *configReader) param(key, value string, bare bool) error {
	first, last := strings.Index(key, "."), strings.LastIndex(key, ".")
	if first <= 0 || last == len(key)-1 {
		return errUnsupported
	}
	e := configEntry{section: key[:first], name: key[last+1:], value: value, bare: bare}
	if first != last {
		// git lowercases a command-line key's subsection too.
		e.subsection, e.hasSub = strings.ToLower(key[first+1:last]), true
	}
	switch strings.ToLower(e.section) {
	case "include", "includeif":
		return errUnsupported
	}
	r.set(e)
	return nil
}

// sqDequote reads one shell single-quoted word as git writes them
// ('it'\”s'), returning it and what follows.
func sqDequote(s string) (word, rest string, ok bool) {
	var b strings.Builder
	for {
		if !strings.HasPrefix(s, "'") {
			return "", "", false
		}
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", "", false
		}
		b.WriteString(s[1 : 1+end])
		s = s[end+2:]
		if len(s) >= 3 && s[0] == '\\' && (s[1] == '\'' || s[1] == '!') && s[2] == '\'' {
			b.WriteByte(s[1])
			s = s[2:]
			continue
		}
		return b.String(), s, true
	}
}

// findGitDir finds the repository as git does from dir: GIT_DIR, else the
// first of dir and its parents holding .git (a directory, or a file
// "gitdir: PATH"), or being a bare repository. commonDir is where config
// lives (a linked worktree's gitDir names it in "commondir"). asGit is
// gitDir as git spells it for includeIf's second try, uncleaned: found in
// dir itself, as strbuf_add_absolute_path joins it to dir ("DIR/." for a
// bare repository or a .git directory git runs in; a relative GIT_DIR as it
// is); found in a parent of dir or through a .git file, its real path, as
// git has changed to the real directory or read the file's target by then.
func findGitDir(dir string, getenv func(string) string) (gitDir, commonDir, asGit string, err error) {
	physical := false // asGit is gitDir's real path
	if g := getenv("GIT_DIR"); g != "" {
		gitDir, asGit = g, g
		if !filepath.IsAbs(g) {
			if getenv("GIT_WORK_TREE") != "" {
				// git resolves it when dir is inside the work tree.
				return "", "", "", errUnsupported
			}
			gitDir, asGit = filepath.Join(dir, g), strings.TrimSuffix(dir, "/")+"/"+g
		}
		if fi, err := os.Stat(gitDir); err == nil && !fi.IsDir() {
			return "", "", "", errUnsupported // a .git file named by GIT_DIR: git follows it
		}
	} else if getenv("GIT_CEILING_DIRECTORIES") != "" || getenv("GIT_DISCOVERY_ACROSS_FILESYSTEM") != "" {
		return "", "", "", errUnsupported
	} else {
		for d := dir; ; {
			dotgit := filepath.Join(d, ".git")
			if fi, err := os.Stat(dotgit); err == nil {
				if fi.IsDir() {
					gitDir, physical = dotgit, d != dir
					break
				}
				physical = true
				data, err := readfile.Read(dotgit)
				if err != nil {
					return "", "", "", errUnsupported
				}
				p, ok := strings.CutPrefix(strings.TrimRight(string(data), "\r\n"), "gitdir: ")
				if !ok {
					return "", "", "", errUnsupported
				}
				if !filepath.IsAbs(p) {
					p = filepath.Join(d, p)
				}
				gitDir = p
				break
			}
			if isBareGitDir(d) {
				gitDir, physical = d, d != dir
				if d == dir {
					asGit = strings.TrimSuffix(dir, "/") + "/." // git's "."
				}
				break
			}
			parent := filepath.Dir(d)
			if parent == d {
				return "", "", "", nil // not in a repository
			}
			d = parent
		}
	}
	gitDir = filepath.Clean(gitDir)
	if physical {
		asGit = gitDir
		if real, err := filepath.EvalSymlinks(gitDir); err == nil {
			asGit = real
		}
	}
	if asGit == "" {
		asGit = gitDir
	}
	commonDir = gitDir
	if c := getenv("GIT_COMMON_DIR"); c != "" {
		if !filepath.IsAbs(c) {
			c = filepath.Join(dir, c)
		}
		return gitDir, filepath.Clean(c), asGit, nil
	}
	if data, err := readfile.Read(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimRight(string(data), "\r\n")
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		commonDir = filepath.Clean(c)
	}
	return gitDir, commonDir, asGit, nil
}

// isBareGitDir tells a directory that is itself a repository (a bare one,
// or the .git directory git runs its helpers from) as git's
// is_git_directory does: a HEAD that validate_headref takes, and objects
// and refs directories. A directory that merely has the three (a
// repository's pkg/ with a HEAD file of any content) is not one, and git
// looks further up.
func isBareGitDir(d string) bool {
	if !validHEAD(filepath.Join(d, "HEAD")) {
		return false
	}
	if fi, err := os.Stat(filepath.Join(d, "objects")); err != nil || !fi.IsDir() {
		return false
	}
	fi, err := os.Stat(filepath.Join(d, "refs"))
	return err == nil && fi.IsDir()
}

// validHEAD is git's validate_headref: a symbolic link to "refs/...", a
// file "ref: refs/..." (white space allowed after the colon), or one
// starting with an object ID in hex.
func validHEAD(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil {
		return false
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		return err == nil && strings.HasPrefix(target, "refs/")
	}
	if !fi.Mode().IsRegular() {
		return false
	}
	data, err := readfile.Read(path)
	if err != nil {
		return false
	}
	data = data[:min(len(data), 255)]
	if ref, ok := bytes.CutPrefix(data, []byte("ref:")); ok {
		ref = bytes.TrimLeft(ref, " \t\n\r") // git's isspace
		if bytes.HasPrefix(ref, []byte("refs/")) {
			return true
		}
	}
	if len(data) < 40 {
		return false
	}
	for _, c := range data[:40] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// boolKeys are the boolean settings read here, whose bare key ("[gitsign]
// matchCommitter" alone on its line) means true.
var boolKeys = map[string]bool{"gitsign.matchcommitter": true, "gitsign.verifycache": true, "gitsign.verifyserver": true, "core.bare": true}

// parseBool reads a boolean as git does (git_config_bool): true, yes, on,
// false, no, off and the empty value in any case (ASCII's only, as
// strcasecmp folds it), or an integer as C's strtoimax reads it in base 0
// (decimal, 0x hex, 0 octal), optionally scaled by k, m or g, true unless
// zero. ok is false for a value git refuses as one. 0b binary, which git
// takes only where its C library's strtoimax does (glibc 2.38 and later),
// is refused: for the settings read here, that is the safe end.
func parseBool(v string) (b, ok bool) {
	v = lowerString(v) // the number's 0X and unit K too
	switch v {
	case "true", "yes", "on":
		return true, true
	case "", "false", "no", "off":
		return false, true
	}
	// git reads the integer as an int, within ±(2³¹-1), after any leading
	// white space (strtoimax skips it; no other space is allowed).
	n, ok := parseGitInt(strings.TrimLeft(v, " \t\n\v\f\r"))
	if n > math.MaxInt32 || n < -math.MaxInt32 {
		return false, false
	}
	return n != 0, ok
}

// parseGitInt reads an integer as git_parse_signed does: strtoimax in base
// 0 (no 0b, 0o or digit separators, unlike Go's base 0), then an optional
// unit k, m or g; out of range is no integer. v is lower case.
func parseGitInt(v string) (int64, bool) {
	unit := int64(1)
	switch {
	case strings.HasSuffix(v, "k"):
		unit = 1 << 10
	case strings.HasSuffix(v, "m"):
		unit = 1 << 20
	case strings.HasSuffix(v, "g"):
		unit = 1 << 30
	}
	if unit != 1 {
		v = v[:len(v)-1]
	}
	sign, digits := "", v
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		sign, digits = digits[:1], digits[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(digits, "0x"):
		base, digits = 16, digits[2:]
	case len(digits) > 1 && digits[0] == '0':
		base, digits = 8, digits[1:]
	}
	if digits == "" || strings.ContainsAny(digits, "+-_") {
		return 0, false
	}
	n, err := strconv.ParseInt(sign+digits, base, 64)
	if err != nil || n > math.MaxInt64/unit || n < math.MinInt64/unit {
		return 0, false
	}
	return n * unit, true
}

// gitBool reads a boolean for settings git reads with git_config_bool but
// where a value it refuses counts as set (core.bare,
// extensions.worktreeConfig, GIT_CONFIG_NOSYSTEM): git stops at such a
// value before it starts gitsign.
func gitBool(v string) bool {
	b, ok := parseBool(v)
	return b || !ok
}

type configEntry struct {
	section, subsection, name, value string
	hasSub                           bool // [section "subsection"], even "": git keys [s ""] n as s..n
	bare                             bool // "name" without "=": true for booleans, no value for git config --get
}

var errConfigSyntax = errors.New("bad git config syntax")

// parseGitConfig parses git's configuration file syntax: [section],
// [section "subsection"], the deprecated [section.subsection], name = value
// with quotes, escapes, "\"-continued lines and comments.
func parseGitConfig(data []byte) ([]configEntry, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.Contains(data, []byte("\r\n")) {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")) // as git's get_next_char
	}
	var (
		// Every entry ends a line, or the file.
		out                 = make([]configEntry, 0, bytes.Count(data, []byte("\n"))+1)
		section, subsection string
		hasSub              bool
		i                   int
	)
	isSpace := configSpace
	skipComment := func() {
		for i < len(data) && data[i] != '\n' {
			i++
		}
	}
	for i < len(data) {
		c := data[i]
		switch {
		case isSpace(c) || c == '\n':
			i++
		case c == '#' || c == ';':
			skipComment()
		case c == '[':
			i++
			start := i
			for i < len(data) && (isAlnum(data[i]) || data[i] == '-' || data[i] == '.') {
				i++
			}
			if i == len(data) {
				return nil, errConfigSyntax
			}
			section, subsection, hasSub = string(data[start:i]), "", false
			if data[i] == ']' {
				if sec, sub, ok := strings.Cut(section, "."); ok {
					section, subsection, hasSub = sec, strings.ToLower(sub), true
				}
				i++
				continue
			}
			if !isSpace(data[i]) {
				return nil, errConfigSyntax
			}
			for i < len(data) && isSpace(data[i]) {
				i++
			}
			if i == len(data) || data[i] != '"' {
				return nil, errConfigSyntax
			}
			i++
			var sub strings.Builder
			for {
				if i >= len(data) || data[i] == '\n' {
					return nil, errConfigSyntax
				}
				if data[i] == '"' {
					i++
					break
				}
				if data[i] == '\\' {
					i++
					if i >= len(data) || data[i] == '\n' {
						return nil, errConfigSyntax
					}
				}
				sub.WriteByte(data[i])
				i++
			}
			if i >= len(data) || data[i] != ']' {
				return nil, errConfigSyntax
			}
			i++
			subsection, hasSub = sub.String(), true
			if strings.Contains(section, ".") {
				return nil, errConfigSyntax
			}
		case isAlpha(c):
			if section == "" {
				return nil, errConfigSyntax
			}
			start := i
			for i < len(data) && (isAlnum(data[i]) || data[i] == '-') {
				i++
			}
			name := string(data[start:i])
			for i < len(data) && isSpace(data[i]) {
				i++
			}
			if i == len(data) || data[i] == '\n' {
				out = append(out, configEntry{section, subsection, name, "", hasSub, true})
				continue
			}
			if data[i] != '=' {
				return nil, errConfigSyntax
			}
			i++
			v, n, err := parseConfigValue(data[i:])
			if err != nil {
				return nil, err
			}
			i += n
			out = append(out, configEntry{section, subsection, name, v, hasSub, false})
		default:
			return nil, errConfigSyntax
		}
	}
	return out, nil
}

// parseConfigValue reads a value up to the end of its (logical) line, as
// git's parse_value does: leading space dropped, each space character
// inside the value kept as a space (a tab or CR too), trailing space
// outside quotes dropped, a comment ending the value outside quotes.
func parseConfigValue(data []byte) (string, int, error) {
	var (
		b       []byte
		quoted  bool
		comment bool
		spaces  int // held until something follows them
		i       int
	)
	for {
		if i >= len(data) { // git reads EOF as a newline
			break
		}
		c := data[i]
		i++
		if c == '\n' {
			if quoted {
				return "", 0, errConfigSyntax
			}
			break
		}
		if comment {
			continue
		}
		if !quoted && configSpace(c) {
			if len(b) > 0 {
				spaces++
			}
			continue
		}
		if !quoted && (c == '#' || c == ';') {
			comment = true
			continue
		}
		for ; spaces > 0; spaces-- {
			b = append(b, ' ')
		}
		switch c {
		case '"':
			quoted = !quoted
		case '\\':
			if i >= len(data) {
				return "", 0, errConfigSyntax
			}
			e := data[i]
			i++
			switch e {
			case '\n':
				// continuation
			case 't':
				b = append(b, '\t')
			case 'b':
				b = append(b, '\b')
			case 'n':
				b = append(b, '\n')
			case '\\', '"':
				b = append(b, e)
			default:
				return "", 0, errConfigSyntax
			}
		default:
			b = append(b, c)
		}
	}
	if quoted {
		return "", 0, errConfigSyntax
	}
	return string(b), i, nil
}

// configSpace is git's isspace in configuration files: space, tab and CR
// (a CR before LF is gone already), not form feed or vertical tab.
func configSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }
