package front

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestGitDirSpellingsAsGit: includeIf "gitdir:" matches what git matches
// wherever gitsign runs: in subdirectories of bare repositories and .git
// directories, linked worktrees, submodules (a .git file), through links,
// and with GIT_DIR spelled in many ways. git is the judge; a case the reader
// leaves to git (errUnsupported) is git's answer by construction.
func TestGitDirSpellingsAsGit(t *testing.T) {
	home := t.TempDir()
	if real, err := filepath.EvalSymlinks(home); err == nil {
		home = real
	}
	run := func(dir string, args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_ALLOW_PROTOCOL=file")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run(home, "init", "-q", "work/repo")
	run(home, "init", "-q", "--bare", "bare/b.git")
	os.MkdirAll(filepath.Join(home, "work/repo/sub"), 0o755)
	run(filepath.Join(home, "work/repo"), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "x")
	run(filepath.Join(home, "work/repo"), "worktree", "add", "-q", "../wt")
	os.MkdirAll(filepath.Join(home, "work/wt/sub"), 0o755)
	// submodule-like: .git file with a relative gitdir line
	os.MkdirAll(filepath.Join(home, "work/repo/.git/modules"), 0o755)
	run(home, "init", "-q", "--separate-git-dir", filepath.Join(home, "work/repo/.git/modules/sm"), filepath.Join(home, "work/sm"))
	os.WriteFile(filepath.Join(home, "work/sm/.git"), []byte("gitdir: ../repo/.git/modules/sm\n"), 0o644)
	os.MkdirAll(filepath.Join(home, "work/sm/sub"), 0o755)
	os.Symlink(filepath.Join(home, "bare", "b.git"), filepath.Join(home, "lb"))
	os.Symlink(filepath.Join(home, "work"), filepath.Join(home, "lw"))

	patterns := []string{
		"**/.", "**/./**", "**/../**", "**/refs/**", "**/sub/**", "~/lb/**", "~/lw/**", "~/lb/", "~/lw/",
		"**/.git", "**/.git/", "**/b.git", "**/b.git/", "~/bare/b.git/.", "**/sm", "**/modules/**",
		"~/lb", "~/lw/repo/.git", "~/work/wt/**", "~/work/repo/.git/worktrees/**", "**/wt/**", "~/work/repo/.git",
	}
	var cfg strings.Builder
	for i, p := range patterns {
		inc := filepath.Join(home, "inc", fmt.Sprint(i))
		os.MkdirAll(filepath.Dir(inc), 0o755)
		fmt.Fprintf(&cfg, "[includeIf \"gitdir:%s\"]\n\tpath = %s\n", p, inc)
		os.WriteFile(inc, []byte(fmt.Sprintf("[gitsign \"inc\"]\n\tp%d = %q\n", i, p)), 0o644)
	}
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(cfg.String()), 0o644)

	applied, compared := 0, 0
	for _, tc := range []struct {
		name, dir string
		env       map[string]string
	}{
		{"bare refs/heads", "bare/b.git/refs/heads", nil},
		{"bare refs", "bare/b.git/refs", nil},
		{".git/refs", "work/repo/.git/refs", nil},
		{"link .git/refs", "lw/repo/.git/refs", nil},
		{"GIT_DIR trailing slash", ".", map[string]string{"GIT_DIR": home + "/bare/b.git/"}},
		{"GIT_DIR rel trailing slash", "bare", map[string]string{"GIT_DIR": "b.git/"}},
		{"GIT_DIR ./.git", "work/repo", map[string]string{"GIT_DIR": "./.git"}},
		{"GIT_DIR ./.git in sub", "work/repo/sub", map[string]string{"GIT_DIR": "../.git"}},
		{"GIT_DIR //", ".", map[string]string{"GIT_DIR": home + "/bare//b.git"}},
		{"GIT_DIR rel //", "work", map[string]string{"GIT_DIR": "repo//.git"}},
		{"worktree", "work/wt", nil},
		{"worktree sub", "work/wt/sub", nil},
		{"worktree via link", "lw/wt", nil},
		{"link to bare", "lb", nil},
		{"link to bare refs", "lb/refs", nil},
		{"link work .git", "lw/repo/.git", nil},
		{"link work sub", "lw/repo/sub", nil},
		{"link work top", "lw/repo", nil},
		{"submodule", "work/sm", nil},
		{"submodule sub", "work/sm/sub", nil},
		{"submodule via link", "lw/sm", nil},
		{"GIT_DIR gitfile", "work", map[string]string{"GIT_DIR": "sm/.git"}},
		{"GIT_DIR+GIT_WORK_TREE in sub", "work/repo/sub", map[string]string{"GIT_DIR": "../.git", "GIT_WORK_TREE": home + "/work/repo"}},
		{"GIT_DIR . in bare", "bare/b.git", map[string]string{"GIT_DIR": "."}},
		{"GIT_DIR .. from bare refs", "bare/b.git/refs", map[string]string{"GIT_DIR": ".."}},
		{"GIT_DIR via link", "lw/repo", map[string]string{"GIT_DIR": ".git"}},
	} {
		env := map[string]string{"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": filepath.Join(home, "xdg")}
		for k, v := range tc.env {
			env[k] = v
		}
		setEnv(t, env)
		if _, ok := tc.env["GIT_WORK_TREE"]; !ok {
			t.Setenv("GIT_WORK_TREE", "")
			os.Unsetenv("GIT_WORK_TREE")
		}
		dir := filepath.Join(home, tc.dir)
		got, err := readGitConfig(dir, os.Getenv)
		if errors.Is(err, errUnsupported) {
			continue // gitsign asks git
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := gitConfig(context.Background(), dir)
		applied += len(want)
		compared++
		var g, w []string
		for _, v := range got {
			g = append(g, v)
		}
		for _, v := range want {
			w = append(w, v)
		}
		sort.Strings(g)
		sort.Strings(w)
		if strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("%s: git includes %v, gitsign %v", tc.name, w, g)
		}
	}
	if compared < 20 || applied < compared {
		t.Fatalf("%d cases compared, %d includes applied by git: the test proves nothing", compared, applied)
	}
}
