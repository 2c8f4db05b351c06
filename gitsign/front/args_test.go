package front

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestParseGPGArgs(t *testing.T) {
	for _, tc := range []struct {
		args   string
		sign   bool
		fd     int
		user   string
		verify string
	}{
		// What git writes.
		{args: "--status-fd=2 -bsau Test User <t@example.com>", sign: true, fd: 2, user: "Test User <t@example.com>"},
		{args: "--status-fd=1 --verify /tmp/.git_vtag_tmpXYZ -", fd: 1, verify: "/tmp/.git_vtag_tmpXYZ"},
		// Any order and grouping, long forms.
		{args: "-bsau KEY --status-fd=2", sign: true, fd: 2, user: "KEY"},
		{args: "-b -s -a -u KEY --status-fd 3", sign: true, fd: 3, user: "KEY"},
		{args: "-bsauKEY", sign: true, fd: -1, user: "KEY"},
		{args: "-sb -a --local-user=KEY", sign: true, fd: -1, user: "KEY"},
		{args: "--detach-sign --sign --armor --local-user KEY --status-fd=2 --include-certs=-2", sign: true, fd: 2, user: "KEY"},
		{args: "--keyid-format=long --status-fd=1 --verify sig -", fd: 1, verify: "sig"},
	} {
		args := strings.Split(tc.args, " ")
		// "Test User <t@example.com>" is one argument, as git passes it.
		if i := slices.Index(args, "Test"); i >= 0 {
			args = append(args[:i], strings.Join(args[i:], " "))
		}
		g, err := ParseArgs(args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if g.Sign != tc.sign || g.StatusFD != tc.fd || g.LocalUser != tc.user || (tc.verify != "") != g.Verify ||
			(g.Verify && g.Files[0] != tc.verify) {
			t.Errorf("%q: parsed %+v", tc.args, g)
		}
	}
	for _, bad := range []string{"-bsa -u", "--sign --verify x -", "-x", "--frobnicate", "-b", "--verify sig", "--verify sig file", "-bsau K extra", "--status-fd=x -bsau K"} {
		if _, err := ParseArgs(strings.Fields(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A gitsign installed as gitsign-core by mistake would hand the work to
// itself for ever; run with the environment the real gitsign sets, it
// stops and says so instead.
func TestMainRefusesToDelegateTwice(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CoreName), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(DelegatedEnv, "1")
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{filepath.Join(dir, "gitsign"), "verify", "HEAD"}, strings.NewReader(""), &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "is the gitsign that starts gitsign-core, not gitsign-core") || !strings.Contains(errOut.String(), "install gitsign-core") {
		t.Errorf("Main = %d\n%s%s", code, out.String(), errOut.String())
	}
}

type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestLogFirst: with git gone (its stderr a broken pipe), what gitsign
// says still reaches gitsign.logPath.
func TestLogFirst(t *testing.T) {
	var log bytes.Buffer
	w := logFirst{log: &log, w: brokenPipe{}}
	if _, err := fmt.Fprintf(w, "gitsign: error: git has exited\n"); err == nil {
		t.Error("the broken pipe's error is lost")
	}
	if log.String() != "gitsign: error: git has exited\n" {
		t.Errorf("log = %q", log.String())
	}
}
