//go:build tools

package deps

import (
	_ "github.com/transparency-dev/tessera"
	_ "github.com/transparency-dev/tessera/storage/posix"
	_ "github.com/transparency-dev/tessera/client"
	_ "github.com/transparency-dev/merkle/proof"
	_ "golang.org/x/mod/sumdb/note"
	_ "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	_ "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	_ "github.com/sigstore/sigstore-go/pkg/verify"
	_ "github.com/google/certificate-transparency-go"
	_ "github.com/google/certificate-transparency-go/x509"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "golang.org/x/oauth2"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/urfave/cli/v2"
	_ "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	_ "github.com/in-toto/attestation/go/v1"
	_ "github.com/rogpeppe/go-internal/testscript"
)
