package tlog

import (
	"regexp"
	"testing"
)

// isV1Origin replaced a regexp; it must accept exactly what the regexp did.
func TestIsV1OriginMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^.* - [0-9]+$`)
	for _, o := range []string{
		"rekor.sigstore.dev - 1193050959916656506", "127.0.0.1:3000 - 0", " - 1", "a - 12 - 34", "a - 12 - x",
		"a - ", "a -1", "a  - 1", "a - 1a", "a - ١", "- 1", "", "a - 1\n", "\xff - 7", "a - 12 - ",
	} {
		if got, want := isV1Origin(o), re.MatchString(o); got != want {
			t.Errorf("isV1Origin(%q) = %v, the regexp says %v", o, got, want)
		}
	}
}
