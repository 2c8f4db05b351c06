package front

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestReadGitConfig holds readGitConfig to what `git config --get-regexp`
// says, in a repository with global, local, worktree and included files.
func TestReadGitConfig(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	home := t.TempDir()
	repo := filepath.Join(home, "work", "repo")
	env := map[string]string{
		"HOME":                home,
		"GIT_CONFIG_NOSYSTEM": "1",
		"XDG_CONFIG_HOME":     filepath.Join(home, "xdg"),
	}
	getenv := func(k string) string { return env[k] }
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	write := func(p, s string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(repo, 0o755)
	git(repo, "init", "-q", "-b", "main")
	git(repo, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-q", "--allow-empty", "-m", "x")

	write(filepath.Join(home, "xdg", "git", "config"), "[gitsign]\n\tissuer = https://xdg.example\n\tserver = xdg\n")
	write(filepath.Join(home, ".gitconfig"), `# global
[user]
	email = "alice@example.com" ; trailing comment
	name = Alice   Smith	  # kept inner space, trimmed end
[gitsign]
	server = https://global.example
	Fulcio=https://ca.example/a\
b
	logPath = "  spaced "
	matchCommitter
[gitsign "sub"]
	server = not-this
[include]
	path = inc/extra
[includeIf "gitdir:~/work/"]
	path = ~/work.inc
[includeIf "gitdir/i:~/WORK/repo/.git"]
	path = ~/i.inc
[includeIf "gitdir:/nowhere/"]
	path = ~/never.inc
`)
	write(filepath.Join(home, "inc", "extra"), "[gitsign]\n\trekor = https://log.example\n\ttrustedRoot = root.json\n")
	write(filepath.Join(home, "work.inc"), "[user]\n\temail = work@example.com\n")
	write(filepath.Join(home, "i.inc"), "[gitsign.tokenProvider]\n\tx = y\n[gitsign]\n\tclientID = \"a\\tb\\\\c\\\"\"\n")
	write(filepath.Join(home, "never.inc"), "[user]\n\temail = never@example.com\n")
	write(filepath.Join(repo, ".git", "config"), readFile(t, filepath.Join(repo, ".git", "config"))+
		"[gitsign]\n\tallowedSigners = .gitsigners\n[extensions]\n\tworktreeConfig\n")
	write(filepath.Join(repo, ".git", "config.worktree"), "[gitsign]\n\tredirectURL = http://localhost:1/cb\n")

	want := func(dir string) map[string]string {
		t.Helper()
		setEnv(t, env)
		return gitConfig(context.Background(), dir)
	}
	for _, dir := range []string{repo, filepath.Join(repo, ".git"), home} {
		got, err := readGitConfig(dir, getenv)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if w := want(dir); !reflect.DeepEqual(w, got) {
			t.Errorf("%s: readGitConfig differs from git:\n ours %q\n  git %q", dir, got, w)
		}
	}
	// A linked worktree reads the main repository's config.
	wt := filepath.Join(home, "wt")
	git(repo, "worktree", "add", "-q", wt)
	got, err := readGitConfig(wt, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if w := want(wt); !reflect.DeepEqual(w, got) {
		t.Errorf("worktree: ours %q\n  git %q", got, w)
	}

	// `git -c` and GIT_CONFIG_COUNT, as git passes them to the programs it
	// runs.
	env["GIT_CONFIG_PARAMETERS"] = strings.TrimSuffix(git(repo, "-c", "alias.penv=!printenv GIT_CONFIG_PARAMETERS",
		"-c", "gitsign.server=it's  here", "-c", "gitsign.matchCommitter", "-c", "gitsign.Sub.x=y", "-c", "USER.EMAIL=c@example.com", "penv"), "\n")
	env["GIT_CONFIG_COUNT"] = "2"
	env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"] = "gitsign.rekor", "https://count.example"
	env["GIT_CONFIG_KEY_1"], env["GIT_CONFIG_VALUE_1"] = "gitsign.server", "overridden by -c"
	got, err = readGitConfig(repo, getenv)
	if err != nil {
		t.Fatalf("%s: %v", env["GIT_CONFIG_PARAMETERS"], err)
	}
	if w := want(repo); !reflect.DeepEqual(w, got) || got["gitsign.server"] != "it's  here" {
		t.Errorf("git -c %s: ours %q\n  git %q", env["GIT_CONFIG_PARAMETERS"], got, w)
	}
	for _, k := range []string{"GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "GIT_CONFIG_KEY_1", "GIT_CONFIG_VALUE_1"} {
		delete(env, k)
	}

	// What it cannot read exactly, it leaves to git.
	for _, s := range []string{
		"[includeIf \"onbranch:main\"]\n\tpath = x\n",
		"[gitsign]\n\tserver = \"unterminated\n",
		"[gitsign]\n\tserver = a\\qb\n",
		"[gitsign]\n\tmatchCommitter # comment\n",
	} {
		write(filepath.Join(home, ".gitconfig"), s)
		if _, err := readGitConfig(repo, getenv); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// setEnv puts env into the process environment for gitConfig's git run
// (restored at the end of the test).
func setEnv(t *testing.T, env map[string]string) {
	for _, k := range []string{"GIT_DIR", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_COMMON_DIR", "GIT_CONFIG"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestParseGitConfigValues(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a = b", "b"},
		{"a=  b  c  ", "b  c"},
		{"a = \"  b \" ", "  b "},
		{"a = b ; c", "b"},
		{"a = \"b ; c\"", "b ; c"},
		{"a = b\\\n c", "b c"},
		{"a = x\\ty\\nz\\b", "x\ty\nz\b"},
		{"a =", ""},
		{"a = \"\"  x", "x"},
	} {
		e, err := parseGitConfig([]byte("[s]\n" + tc.in + "\n"))
		if err != nil || len(e) != 1 || e[0].value != tc.want {
			t.Errorf("%q: %+v %v, want %q", tc.in, e, err, tc.want)
		}
	}
	if e, err := parseGitConfig([]byte("[s]\n\tflag\n")); err != nil || !e[0].bare {
		t.Errorf("bare key: %+v %v", e, err)
	}
	if _, err := parseGitConfig([]byte("x = y\n")); err == nil {
		t.Error("key outside a section: no error")
	}
}

// The parser reads what git reads: keys and values as `git config --list`
// prints them, for the corners of the syntax.
func TestParseGitConfigAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git not installed")
	}
	for _, in := range []string{
		"[gitsign]\n\tallowedSigners = a b\n",
		"[gitsign \"\"]\n\tallowedSigners = x\n",
		"[gitsign \"Sub\"]\n\tallowedSigners = x\n[gitsign.Old]\nk = v\n",
		"[s]\na = x\t\ty\n",
		"[s]\na = x \t y \t \n",
		"[s]\na = x\ry\n",
		"[s]\r\na = x\r\n",
		"[s]\na = x \"  q \"  z\n",
		"[s]\na = \"\" x ; c\n",
		"[s]\na = x\\\n\ty\n",
		"[s]\n\tflag\nb = \"#\" # c\n",
		"[include \"\"]\npath = nowhere\n",
	} {
		f := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(f, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("git", "config", "-f", f, "-z", "--list").Output()
		if err != nil {
			t.Fatalf("%q: git: %v", in, err)
		}
		want := string(out)
		entries, err := parseGitConfig([]byte(in))
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		var got strings.Builder
		for _, e := range entries {
			key := strings.ToLower(e.section)
			if e.hasSub {
				key += "." + e.subsection
			}
			got.WriteString(key + "." + strings.ToLower(e.name))
			if !e.bare {
				got.WriteString("\n" + e.value)
			}
			got.WriteByte(0)
		}
		if got.String() != want {
			t.Errorf("%q:\n got  %q\n git  %q", in, got.String(), want)
		}
	}
}

// wildmatchRegexp is wildmatch written as a regular expression, which is
// how gitsign matched includeIf gitdir patterns before; the matcher must
// agree with it everywhere.
// TestIncludeIfAsGit: which includeIf "gitdir:" sections apply is decided
// as git decides it, for every pattern against repositories at several
// places, with git itself the judge: one global configuration includes a
// file per pattern, each setting a key of its own, and readGitConfig must
// read the same keys as `git config`. The global file is a symbolic link
// into a dotfiles directory, as many people keep it, so that "./" is
// relative to where it really is.
func TestIncludeIfAsGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed to judge includeIf")
	}
	home := t.TempDir()
	if real, err := filepath.EvalSymlinks(home); err == nil {
		home = real
	}
	env := map[string]string{"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": filepath.Join(home, "xdg")}
	getenv := func(k string) string { return env[k] }
	repos := []string{"work/repo", "work/deep/er/repo2", "src-old/proj/repo", "other/repo", "dotfiles/sub/repo", "Work2/Repo"}
	for _, r := range repos {
		if out, err := exec.Command("git", "init", "-q", filepath.Join(home, r)).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v\n%s", err, out)
		}
	}
	// A bare repository: git run in it sees its git directory as ".", and
	// matches "PATH/." on its second try.
	if out, err := exec.Command("git", "init", "-q", "--bare", filepath.Join(home, "bare", "b.git")).CombinedOutput(); err != nil {
		t.Fatalf("git init --bare: %v\n%s", err, out)
	}
	// A repository reached through a link: git tries its real path, then
	// the path as found.
	if err := os.Symlink(filepath.Join(home, "other"), filepath.Join(home, "linked")); err != nil {
		t.Fatal(err)
	}
	patterns := []string{
		"~/work/", "~/work/repo/.git/", "~/work/repo/.git", "~/work/repo/.git/**", "~/work/repo/**",
		"~/src**/repo/.git", "~/wo**", "~/work**", "~/work/**/.git", "~/work/**/repo2/.git", "~/***/repo/.git",
		"**/repo/.git", "repo/.git", "repo2/.git", "work/", "~/work/*/.git", "~/*/repo/.git", "~/**/.git",
		"~/work/re?o/.git", "**", "*", "~/**", "~/*", "./sub/", "./sub/**", "./**/repo/.git", "./", "../",
		"~/linked/", "~/other/", "~/work/repo/.gi?", "~/work/repo/.git*", "~/work/rep*/.git/", "~/WORK/", "~/work2/repo/.git",
		"~/bare/b.git/", "~/bare/b.git", "~/bare/", "~/bare/b.git/.", "~/bare/*",
	}
	dotfiles := filepath.Join(home, "dotfiles")
	var cfg strings.Builder
	for i, p := range patterns {
		for _, kind := range []string{"gitdir", "gitdir/i"} {
			inc := filepath.Join(home, "inc", fmt.Sprintf("%d-%s", i, strings.ReplaceAll(kind, "/", "")))
			os.MkdirAll(filepath.Dir(inc), 0o755)
			fmt.Fprintf(&cfg, "[includeIf \"%s:%s\"]\n\tpath = %s\n", kind, p, inc)
			if err := os.WriteFile(inc, []byte(fmt.Sprintf("[gitsign \"inc\"]\n\tp%d%s = %q\n", i, strings.ReplaceAll(kind, "/", ""), kind+":"+p)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.MkdirAll(dotfiles, 0o755)
	if err := os.WriteFile(filepath.Join(dotfiles, "gitconfig"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("dotfiles", "gitconfig"), filepath.Join(home, ".gitconfig")); err != nil {
		t.Fatal(err)
	}
	setEnv(t, env)
	dirs := []string{home}
	for _, r := range repos {
		dirs = append(dirs, filepath.Join(home, r))
	}
	dirs = append(dirs, filepath.Join(home, "linked", "repo"), filepath.Join(home, "bare", "b.git"), filepath.Join(home, "bare", "b.git", "refs"),
		filepath.Join(home, "work", "repo", ".git"))
	applied := 0
	compare := func(dirs []string) {
		for _, dir := range dirs {
			got, err := readGitConfig(dir, getenv)
			if err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			want := gitConfig(context.Background(), dir)
			applied += len(want)
			for k, v := range want {
				if _, ok := got[k]; !ok {
					t.Errorf("%s: git includes %s, gitsign does not", dir, v)
				}
			}
			for k, v := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: gitsign includes %s, git does not", dir, v)
				}
			}
		}
	}
	compare(dirs)
	// HOME itself a link (/home to /usr/home): git expands "~" in a
	// pattern to its real path.
	homeLink := filepath.Join(t.TempDir(), "home")
	if err := os.Symlink(home, homeLink); err != nil {
		t.Fatal(err)
	}
	env["HOME"] = homeLink
	setEnv(t, env)
	compare([]string{filepath.Join(home, "work", "repo"), filepath.Join(homeLink, "work", "repo"), filepath.Join(homeLink, "linked", "repo")})
	env["HOME"] = home
	// GIT_DIR, relative: git's second try joins it to the working
	// directory as it is, "." and ".." included.
	for _, tc := range []struct{ gitDir, dir string }{
		{".", filepath.Join(home, "bare", "b.git")},
		{"../work/repo/.git", filepath.Join(home, "other")},
		{"../linked/repo/.git", filepath.Join(home, "other")},
		{filepath.Join(home, "bare", ".", "b.git"), home},
	} {
		env["GIT_DIR"] = tc.gitDir
		setEnv(t, env)
		compare([]string{tc.dir})
	}
	delete(env, "GIT_DIR")
	setEnv(t, env)
	if applied < len(dirs) {
		t.Fatalf("git applied %d includes over %d directories: the test proves nothing", applied, len(dirs))
	}

	// What the reader cannot match exactly, it leaves to git.
	for _, p := range []string{"/home/[ab]/**", `/home/a\*/**`} {
		if _, err := compileWildmatch("", p, false); err == nil {
			t.Errorf("%q: no error; git must decide", p)
		}
	}
}

// TestRepositoryExtensionsAsGit: extensions.worktreeConfig counts only in
// the repository's own config, as git reads repository extensions, not
// from the global configuration or a file the repository's includes; and
// GIT_CONFIG, which only `git config` reads, changes nothing.
func TestRepositoryExtensionsAsGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed to judge the configuration")
	}
	home := t.TempDir()
	repo := filepath.Join(home, "repo")
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repoConfig := readFile(t, filepath.Join(repo, ".git", "config")) + "[gitsign]\n\tallowedSigners = strict\n"
	write(filepath.Join(repo, ".git", "config.worktree"), "[gitsign]\n\tallowedSigners = lenient\n")
	write(filepath.Join(home, "ext.inc"), "[extensions]\n\tworktreeConfig = true\n")
	write(filepath.Join(home, "other"), "[gitsign]\n\tallowedSigners = from GIT_CONFIG\n")
	env := map[string]string{"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": filepath.Join(home, "xdg")}
	for _, c := range []struct {
		name, global, repo string
		env                map[string]string
		want               string
	}{
		{"extension in the global config", "[extensions]\n\tworktreeConfig = true\n", repoConfig, nil, "strict"},
		{"extension included by the repository's config", "", repoConfig + "[include]\n\tpath = " + filepath.Join(home, "ext.inc") + "\n", nil, "strict"},
		{"extension in the repository's config", "", repoConfig + "[extensions]\n\tworktreeConfig = true\n", nil, "lenient"},
		{"GIT_CONFIG", "", repoConfig, map[string]string{"GIT_CONFIG": filepath.Join(home, "other")}, "strict"},
	} {
		write(filepath.Join(home, ".gitconfig"), c.global)
		write(filepath.Join(repo, ".git", "config"), c.repo)
		e := maps.Clone(env)
		maps.Copy(e, c.env)
		setEnv(t, e)
		got, err := readGitConfig(repo, func(k string) string { return e[k] })
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// git as the judge, without GIT_CONFIG: only git config reads it
		// ("This variable has no effect on other Git commands", git-config(1)).
		cmd := exec.Command("git", "-C", repo, "config", "--get", "gitsign.allowedSigners")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GIT_CONFIG=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: git: %v", c.name, err)
		}
		if w := strings.TrimSpace(string(out)); w != c.want {
			t.Fatalf("%s: git reads %q, the test expects %q", c.name, w, c.want)
		}
		if got["gitsign.allowedsigners"] != c.want {
			t.Errorf("%s: readGitConfig reads allowedSigners %q, git %q", c.name, got["gitsign.allowedsigners"], c.want)
		}
		if fb := gitConfig(context.Background(), repo); fb["gitsign.allowedsigners"] != c.want {
			t.Errorf("%s: asking git reads allowedSigners %q, git %q", c.name, fb["gitsign.allowedsigners"], c.want)
		}
	}
}

// Booleans read as git reads them: a bare key is true, "key =" is false,
// and anything git calls false turns a default-on setting off. Both ways of
// reading the configuration (the files, or git itself) agree.
func TestConfigBooleans(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git not installed")
	}
	for _, c := range []struct {
		config            string
		match, cacheValue bool
	}{
		{"", false, true},
		{"[gitsign]\n\tmatchCommitter\n\tverifyCache\n", true, true},
		{"[gitsign]\n\tmatchCommitter = TRUE\n\tverifyCache = false\n", true, false},
		{"[gitsign]\n\tmatchCommitter = yes\n\tverifyCache = off\n", true, false},
		{"[gitsign]\n\tmatchCommitter =\n\tverifyCache = 0\n", false, false},
		{"[gitsign]\n\tmatchCommitter = no\n\tverifyCache = 1\n", false, true},
		{"[gitsign]\n\tmatchCommitter = 0x10\n\tverifyCache = -1\n", true, true},
		// Not booleans to git: each at its safe end.
		{"[gitsign]\n\tmatchCommitter = maybe\n\tverifyCache = flase\n", true, false},
	} {
		home := t.TempDir()
		if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(c.config), 0o644); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": filepath.Join(home, "xdg")}
		getenv := func(k string) string { return env[k] }
		cfg := LoadConfig(context.Background(), home, getenv)
		if cfg.MatchCommitter != c.match || cfg.VerifyCache != c.cacheValue {
			t.Errorf("%q: matchCommitter %v, verifyCache %v; want %v, %v", c.config, cfg.MatchCommitter, cfg.VerifyCache, c.match, c.cacheValue)
		}
		// As git itself prints them.
		setEnv(t, env)
		vals := gitConfig(context.Background(), home)
		if got, err := readGitConfig(home, getenv); err != nil || !reflect.DeepEqual(got, vals) {
			t.Errorf("%q: read %q, %v; git says %q", c.config, got, err, vals)
		}
	}
	// Only booleans take a bare key as true: a bare path is no path.
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[gitsign]\n\tlogPath\n\ttrustedRoot\n\tallowedSigners\n"), 0o644)
	env := map[string]string{"HOME": home, "GIT_CONFIG_NOSYSTEM": "1"}
	cfg := LoadConfig(context.Background(), home, func(k string) string { return env[k] })
	if cfg.LogPath != "" || cfg.TrustedRoot != "" || cfg.AllowedSigners != "" {
		t.Errorf("bare path keys: %+v", cfg)
	}
	setEnv(t, env)
	if vals := gitConfig(context.Background(), home); vals["gitsign.logpath"] != "" {
		t.Errorf("bare logPath through git: %q", vals["gitsign.logpath"])
	}
}

// TestBoolAsGit reads each value as git itself does (git config
// --type=bool), which is the oracle: parseBool agrees wherever git
// accepts the value and refuses what git refuses, and gitBool counts
// what git refuses as set.
func TestBoolAsGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git not installed")
	}
	file := filepath.Join(t.TempDir(), "config")
	for _, v := range []string{
		"true", "TRUE", "Yes", "on", "false", "No", "OFF", "",
		"0", "1", "-1", "+0", "00", "010", "08", "0x0", "0x10", "0X1", "0x", "-0x1",
		"1k", "0k", "1M", "0m", "1g", "2g", "2147483647", "2147483648", "-2147483647", "-2147483648",
		"9223372036854775807", "99999999999999999999", "0b1", "0b0", "0o7", "1_0", "1x", "1kk", "k",
		"maybe", "flase", "- 1", "--1", "+-1", " true", "true ", " 1", "1 ", "\t0",
		"1\u212a", "0\u212a", "TRUE\u0130", // KELVIN SIGN folds to k, and İ to i, outside ASCII only
	} {
		if out, err := exec.Command("git", "config", "--file", file, "gitsign.x", v).CombinedOutput(); err != nil {
			t.Fatalf("git config %q: %v\n%s", v, err, out)
		}
		out, err := exec.Command("git", "config", "--file", file, "--type=bool", "gitsign.x").Output()
		gitOK := err == nil
		gitB := strings.TrimSpace(string(out)) == "true"
		b, ok := parseBool(v)
		if strings.HasPrefix(v, "0b") && !ok {
			continue // git takes 0b where its C library does (glibc 2.38 and later); refusing is the safe end
		}
		if ok != gitOK || (ok && b != gitB) {
			t.Errorf("%q: parseBool says %v (valid %v); git says %q (valid %v)", v, b, ok, strings.TrimSpace(string(out)), gitOK)
		}
		if gitOK && gitBool(v) != gitB {
			t.Errorf("%q: gitBool says %v; git says %v", v, gitBool(v), gitB)
		}
		if !gitOK && !gitBool(v) {
			t.Errorf("%q: git refuses it, gitBool reads it as unset", v)
		}
	}
}

// TestWorkTreeTopAsksGitOnce: each question costs a git process, and
// `gitsign verify` needs the answer for several paths.
func TestWorkTreeTopAsksGitOnce(t *testing.T) {
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git not installed")
	}
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	gitInit(t, repo)
	// A git on PATH that notes each run, then runs the real one.
	bin, runs := filepath.Join(tmp, "bin"), filepath.Join(tmp, "runs")
	os.Mkdir(bin, 0o755)
	script := "#!/bin/sh\necho \"$*\" >> '" + runs + "'\nexec '" + realGit + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("GIT_CEILING_DIRECTORIES", tmp) // whatever holds the temporary directory
	sub := filepath.Join(repo, "sub")
	os.Mkdir(sub, 0o755)
	want, _ := filepath.EvalSymlinks(repo)
	bare := filepath.Join(tmp, "bare.git")
	if out, err := exec.Command(realGit, "init", "-q", "--bare", bare).CombinedOutput(); err != nil {
		t.Fatalf("git init --bare: %v\n%s", err, out)
	}
	bareReal, _ := filepath.EvalSymlinks(bare)
	for range 3 {
		if top, ok, err := WorkTreeTop(context.Background(), sub); !ok || err != nil || top != want {
			t.Fatalf("WorkTreeTop = %q, %v, %v; want %q", top, ok, err, want)
		}
		if l, err := RepoLayout(context.Background(), sub); err != nil || l.GitDir != filepath.Join(want, ".git") {
			t.Fatalf("RepoLayout = %+v, %v; want the git directory %s", l, err, filepath.Join(want, ".git"))
		}
		// A repository without a work tree: no top, and no error.
		if top, ok, err := WorkTreeTop(context.Background(), bare); ok || err != nil {
			t.Fatalf("bare repository: %q, %v, %v", top, ok, err)
		}
		if l, _ := RepoLayout(context.Background(), bare); l.GitDir != bareReal {
			t.Fatalf("bare repository: git directory %q, want %q", l.GitDir, bareReal)
		}
		// Outside any repository git gives no answer: an error, which
		// callers must not take for "no work tree".
		if _, ok, err := WorkTreeTop(context.Background(), tmp); ok || err == nil {
			t.Fatalf("outside any repository: %v, %v", ok, err)
		}
	}
	data, _ := os.ReadFile(runs)
	if n := strings.Count(string(data), "rev-parse --absolute-git-dir --is-inside-work-tree --show-toplevel"); n != 3 {
		t.Fatalf("git asked %d times for 3 directories:\n%s", n, data)
	}
}

// TestFindGitDirAsGit: a directory in a work tree that has a HEAD, objects
// and refs is a repository only if git's validate_headref takes its HEAD;
// otherwise git (and so gitsign) looks further up. A pull request can add
// such a directory with a config naming its own allowed signers.
func TestFindGitDirAsGit(t *testing.T) {
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	gitInit(t, repo)
	pkg := filepath.Join(repo, "pkg")
	for _, d := range []string{"objects", "refs"} {
		if err := os.MkdirAll(filepath.Join(pkg, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hex := strings.Repeat("0123456789", 4)
	for _, tc := range []struct {
		name, head, link string
		dir              bool
		isRepo           bool
	}{
		{name: "garbage", head: "garbage\n"},
		{name: "empty", head: ""},
		{name: "symbolic ref", head: "ref: refs/heads/main\n", isRepo: true},
		{name: "symbolic ref, tab", head: "ref:\trefs/heads/main", isRepo: true},
		{name: "symbolic ref, vertical tab", head: "ref:\vrefs/heads/main"},
		{name: "symbolic ref outside refs/", head: "ref: heads/main\n"},
		{name: "object ID", head: hex + "\n", isRepo: true},
		{name: "object ID, upper case", head: strings.ToUpper(hex[:10]) + hex[10:], isRepo: true},
		{name: "object ID, then anything", head: hex + "zz", isRepo: true},
		{name: "short object ID", head: hex[:39]},
		{name: "link into refs/", link: "refs/heads/main", isRepo: true},
		{name: "link elsewhere", link: "../.git/HEAD"},
		{name: "directory", dir: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := filepath.Join(pkg, "HEAD")
			os.RemoveAll(head)
			var err error
			switch {
			case tc.dir:
				err = os.Mkdir(head, 0o755)
			case tc.link != "":
				err = os.Symlink(tc.link, head)
			default:
				err = os.WriteFile(head, []byte(tc.head), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("git", "rev-parse", "--absolute-git-dir")
			cmd.Dir = pkg
			// git's own discovery: no GIT_DIR or the like from the caller.
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "GIT_CONFIG_NOSYSTEM=1", "GIT_CEILING_DIRECTORIES=" + tmp}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("git rev-parse: %v", err)
			}
			want := strings.TrimSuffix(string(out), "\n")
			got, _, _, err := findGitDir(pkg, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			got, _ = filepath.EvalSymlinks(got)
			if got != want {
				t.Errorf("findGitDir = %s, git finds %s", got, want)
			}
			if isRepo := got == pkg || got == mustEval(t, pkg); isRepo != tc.isRepo {
				t.Errorf("pkg taken for a repository: %v, want %v", isRepo, tc.isRepo)
			}
		})
	}
}

// gitInit runs git init -q ARGS.
func gitInit(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("git", append([]string{"init", "-q"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("git init %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRepoLayoutFromEnvironment: with GIT_DIR and GIT_WORK_TREE naming a
// repository elsewhere, git commands run from any directory use that work
// tree, and so must relative paths in the configuration.
func TestRepoLayoutFromEnvironment(t *testing.T) {
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	gitInit(t, repo)
	outside := filepath.Join(tmp, "elsewhere")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_DIR", filepath.Join(repo, ".git"))
	t.Setenv("GIT_WORK_TREE", repo)
	l, err := RepoLayout(context.Background(), outside)
	want := mustEval(t, repo)
	if err != nil || l.Top != want || l.GitDir != filepath.Join(want, ".git") {
		t.Errorf("RepoLayout from outside GIT_WORK_TREE = %+v, %v; want top %s", l, err, want)
	}
}

// TestRepoLayoutLineBreaks: git prints one path per line, and a path may
// hold line breaks, even lines that read "true" or "false".
func TestRepoLayoutLineBreaks(t *testing.T) {
	tmp := t.TempDir()
	for _, name := range []string{"a\nb", "a\nfalse\n/c", "a\ntrue\nb"} {
		for _, bare := range []bool{false, true} {
			repo := filepath.Join(tmp, name)
			if bare {
				repo += ".git"
			}
			if bare {
				gitInit(t, "--bare", repo)
			} else {
				gitInit(t, repo)
			}
			real := mustEval(t, repo)
			want := Layout{GitDir: filepath.Join(real, ".git"), Top: real}
			if bare {
				want = Layout{GitDir: real}
			}
			if l, err := RepoLayout(context.Background(), repo); err != nil || l != want {
				t.Errorf("RepoLayout(%q) = %+v, %v; want %+v", repo, l, err, want)
			}
		}
	}
}

// TestKeyNames: the spellings suggested for a misspelt key are the known
// keys', every one of them.
func TestKeyNames(t *testing.T) {
	want := []string{"gitsign.matchcommitter", "gitsign.verifycache", "gitsign.verifyserver"}
	for _, k := range configKeys {
		want = append(want, k.git)
	}
	var got []string
	for _, n := range keyNames {
		got = append(got, strings.ToLower(n))
		if !known(strings.ToLower(n)) {
			t.Errorf("%s is suggested but not known", n)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("keyNames = %v, want %v", got, want)
	}
	for _, u := range unusedSettings {
		if u.git != "" && (u.git != strings.ToLower(u.name) || !known(u.git)) {
			t.Errorf("unused setting %s (%s)", u.name, u.git)
		}
	}
	for _, tc := range []struct{ key, want string }{
		{"gitsign.allowedsigner", "did you mean gitsign.allowedSigners?"},
		{"gitsign.rekormod", "did you mean gitsign.rekorMode?"},
		{"gitsign.zzzzzzzzzzzz", "is not used\x00"},
	} {
		got := unknownKeys(map[string]string{tc.key: "x"})
		if len(got) != 1 || !strings.Contains(got[0]+"\x00", tc.want) {
			t.Errorf("unknownKeys(%s) = %q, want %q", tc.key, got, tc.want)
		}
	}
	if got := unknownKeys(map[string]string{"gitsign.fulcioroot": "x", "gitsign.autoclose": "false", "gitsign.sub.key": "x", "user.email": "x"}); len(got) != 0 {
		t.Errorf("known keys said to be unknown: %q", got)
	}
}
