package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// gitsign is the program git starts once for every signature `git log
// --show-signature` shows, and what a Go program links it initializes at
// every start, which in a fresh process means page faults. So gitsign links
// no verifier: it hands the signature to the verify server, a gitsign-core
// kept running (gitsign/front). Of this module it links gitsign/front
// alone (and internal/clierr and readfile), of others none, and of the standard library
// nothing for crypto, networking, regular expressions or big numbers:
// crypto/x509 alone costs a check 0.39 ms of start-up (bench/gitbench).
var (
	ours  = []string{"github.com/waxseal/waxseal/cmd/gitsign", "github.com/waxseal/waxseal/gitsign/front", "github.com/waxseal/waxseal/internal/clierr", "github.com/waxseal/waxseal/internal/readfile"}
	heavy = []string{"crypto", "net", "regexp", "math/big", "encoding/asn1", "encoding/pem", "compress", "text/template", "html"}
)

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
	if len(deps) < 20 || !slices.Contains(deps, "github.com/waxseal/waxseal/gitsign/front") {
		t.Fatalf("go list -deps printed %d packages; expected gitsign's whole import graph:\n%s", len(deps), out)
	}
	for _, pkg := range deps {
		first, _, _ := strings.Cut(pkg, "/")
		switch {
		case slices.Contains(ours, pkg):
		case strings.Contains(first, "."):
			t.Errorf("gitsign links %s (`go mod why %s` says why); it may link only the standard library and gitsign/front", pkg, pkg)
		default:
			for _, h := range heavy {
				if pkg == h || strings.HasPrefix(pkg, h+"/") {
					t.Errorf("gitsign links %s (`go mod why %s` says why), whose initialization slows every git signature check", pkg, pkg)
				}
			}
		}
	}
}
