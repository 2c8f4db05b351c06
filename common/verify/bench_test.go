package verify_test

import (
	"bytes"
	"testing"

	"github.com/waxseal/waxseal/common/verify"
	"github.com/waxseal/waxseal/server/servertest"
)

// BenchmarkVerify verifies one bundle offline with every check on.
func BenchmarkVerify(b *testing.B) {
	stack := servertest.Start(b)
	f := newFixture(b, stack, "bench@example.com")
	for b.Loop() {
		if _, err := verify.Verify(f.good, verify.Artifact{Reader: bytes.NewReader(f.artifact)}, stack.Root, f.policy, verify.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
