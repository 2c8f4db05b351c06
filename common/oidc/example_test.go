package oidc_test

import (
	"fmt"
	"time"

	"github.com/waxseal/waxseal/common/oidc"
)

func ExampleInspect() {
	// A token as a development issuer mints it (signature elided: Inspect does not check it).
	tok := "eyJhbGciOiJFUzI1NiJ9." +
		"eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjgwODAvb2lkYyIsInN1YiI6ImFsaWNlQGV4YW1wbGUuY29tIiwiYXVkIjoic2lnc3RvcmUiLCJleHAiOjE4MDAwMDA2MDAsImVtYWlsIjoiYWxpY2VAZXhhbXBsZS5jb20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZX0." +
		"c2ln"
	c, err := oidc.Inspect(tok)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Issuer)
	fmt.Println(c.Check(time.Unix(1_800_000_000, 0), "sigstore"))
	fmt.Println(c.Check(time.Unix(1_800_000_600, 0), "sigstore"))
	subject, err := c.Subject()
	fmt.Println(subject, err)
	// Output:
	// http://127.0.0.1:8080/oidc
	// <nil>
	// identity token expired at 2027-01-15T08:10:00Z (0s ago); obtain a new one
	// alice@example.com <nil>
}
