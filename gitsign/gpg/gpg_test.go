package gpg

import (
	"os"
	"strings"
	"testing"
)

// TestParseRootKept: a trusted root is parsed once per content; another
// content is parsed anew, and a document that does not parse is an error
// each time, naming its file.
func TestParseRootKept(t *testing.T) {
	data, err := os.ReadFile("../../testdata/gitsign-public-good/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	first, err := parseRoot("a.json", data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := parseRoot("b.json", append([]byte(nil), data...))
	if err != nil || again != first {
		t.Fatalf("the same document parsed again: %p, %p, %v", first, again, err)
	}
	edited, err := parseRoot("a.json", append(append([]byte(nil), data...), '\n'))
	if err != nil || edited == first {
		t.Fatalf("an edited document kept its old root: %v", err)
	}
	if len(edited.CAs) != len(first.CAs) {
		t.Fatalf("edited root: %d CAs, want %d", len(edited.CAs), len(first.CAs))
	}
	for range 2 {
		if _, err := parseRoot("bad.json", data[:len(data)/2]); err == nil || !strings.Contains(err.Error(), "bad.json") {
			t.Fatalf("a cut document: %v", err)
		}
	}
	// Kept within bounds.
	for i := range rootsKept + 3 {
		if _, err := parseRoot("a.json", append(append([]byte(nil), data...), strings.Repeat(" ", i+2)...)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(roots.m); n > rootsKept {
		t.Fatalf("%d roots kept", n)
	}
}
