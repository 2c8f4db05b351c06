//go:build !linux

package main

import (
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/gitsign/gpg"
)

// The verify server runs on Linux only. Elsewhere gitsign links the
// verifier and checks each signature git asks about in its own process,
// rather than start gitsign-core, which links signing too, for every one.
func init() { front.VerifyHere = gpg.VerifyHere }
