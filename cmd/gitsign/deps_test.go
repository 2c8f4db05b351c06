package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// heavyInit lists packages whose package initialization costs a cold
// process time. git starts gitsign once per commit that `git log
// --show-signature` shows, so none of them may be linked into it:
// protobuf's runtime registers every message type and hashes the
// executable at start-up (internal/detrand), certificate-transparency-go
// pulls in its own x509 fork, protobuf and klog; net/http, crypto/tls and
// the OIDC and JOSE libraries are for signing and logging in, and go-git
// for reading repositories, which gitsign hands to gitsign-core. Our code
// keeps them out with its own transparency-log entry codec (common/tlog),
// JSON trust documents (common/trust) and SCT verification (common/fulcio),
// and keeps the HTTP clients in packages of their own.
var heavyInit = []string{
	"google.golang.org/protobuf",
	"github.com/sigstore/protobuf-specs",
	"github.com/google/certificate-transparency-go",
	"k8s.io/klog",
	"google.golang.org/grpc",
	"net/http",
	"crypto/tls",
	"github.com/coreos/go-oidc",
	"github.com/go-jose/go-jose",
	"golang.org/x/oauth2",
	"github.com/go-git/go-git",
}

func TestImportGraphStaysLight(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test lists gitsign's imports with the go command: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/waxseal/waxseal/cmd/gitsign").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps printed %d packages; expected gitsign's whole import graph:\n%s", len(deps), out)
	}
	for _, heavy := range heavyInit {
		for _, pkg := range deps {
			if pkg == heavy || strings.HasPrefix(pkg, heavy+"/") {
				t.Errorf("gitsign links %s, whose initialization slows every git signature check (`go mod why -m %s` says why)", pkg, heavy)
				break
			}
		}
	}
}

// TestVerifyingReachesNoRegexp: no regular expression is compiled or
// matched on the way to a verdict. provenance imports regexp for the
// identity policies gitsign-core and waxseal take on the command line, and
// the linker keeps the package's initialization, but none of its code may
// be reachable from gitsign: compiling a pattern builds unicode's tables,
// and matching allocated 37 KB per verification when gitsign matched every
// signer against ".*".
func TestVerifyingReachesNoRegexp(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test builds gitsign with the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "gitsign")
	build := exec.Command(goBin, "build", "-o", bin, "github.com/waxseal/waxseal/cmd/gitsign")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(goBin, "tool", "nm", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool nm: %v\n%s", err, out)
	}
	funcs := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[1] != "T" {
			continue
		}
		funcs++
		name := f[2]
		if (strings.HasPrefix(name, "regexp.") || strings.HasPrefix(name, "regexp/syntax.")) &&
			!strings.HasSuffix(name, ".init") && !strings.Contains(name, ".init.") {
			t.Errorf("gitsign reaches %s", name)
		}
	}
	if funcs < 1000 {
		t.Fatalf("go tool nm listed %d functions; expected gitsign's symbol table:\n%.2000s", funcs, out)
	}
}
