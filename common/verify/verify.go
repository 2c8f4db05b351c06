// Package verify checks a Sigstore bundle offline against a trusted root and
// an identity policy. Who signed and when is established by package
// provenance, whose checks (and [Error] names) apply to bundles as to every
// other format; this package adds what is particular to bundles: the
// artifact or its digest, the message signature or DSSE envelope, and the
// in-toto subject. A bundle is valid only when all of these hold:
//
//  1. the transparency-log entry verifies against a log in the trusted root
//     (check "transparency log");
//  2. the entry records this bundle's signature, digest and certificate
//     (check "log entry");
//  3. the certificate chains to a CA in the trusted root at the log's time
//     (check "certificate chain"), with an SCT from a trusted CT log (check
//     "certificate transparency");
//  4. the signature verifies over the artifact (checks "artifact", "signature");
//  5. the certificate's identity matches the policy (check "identity").
//
// There is no default policy: a [Policy] without an identity and an issuer is
// an error, never "any valid certificate".
package verify

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"io"

	bundlepb "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/dsse"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/trust"
)

// Names of the checks, as they appear in [Error].
const (
	CheckBundle     = provenance.CheckBundle
	CheckTLog       = provenance.CheckTLog
	CheckEntry      = provenance.CheckEntry
	CheckChain      = provenance.CheckChain
	CheckSCT        = provenance.CheckSCT
	CheckArtifact   = provenance.CheckArtifact
	CheckSignature  = provenance.CheckSignature
	CheckIdentity   = provenance.CheckIdentity
	CheckPolicyArgs = provenance.CheckPolicyArgs
)

type (
	// Error says which check failed.
	Error = provenance.Error
	// Policy is who must have signed.
	Policy = provenance.Policy
)

var fail = provenance.Fail

// Artifact is what was signed: its bytes, or only its digest.
type Artifact struct {
	Reader io.Reader   // read once; nil when only the digest is known
	Digest []byte      // used when Reader is nil
	Hash   crypto.Hash // algorithm of Digest
}

// Options tunes verification. The zero value is the safe default.
type Options struct {
	// Key verifies a key-signed bundle instead of a certificate (the
	// conformance suite's --key). Identity policy does not apply then.
	Key crypto.PublicKey
}

// Result describes a valid signature: who signed and when, and for
// envelopes the statement.
type Result struct {
	provenance.Result
	// Statement is the DSSE payload, for envelope bundles.
	PayloadType string
	Payload     []byte
}

// Verify checks b against root and policy. For certificate bundles the policy
// is mandatory.
func Verify(b *bundle.Bundle, art Artifact, root *trust.Root, policy Policy, opts Options) (*Result, error) {
	cert, err := b.Certificate()
	if err != nil {
		return nil, &Error{Check: CheckBundle, Err: err}
	}
	if opts.Key == nil && cert == nil {
		return nil, fail(CheckBundle, "bundle carries no certificate (key-signed bundles need --key)")
	}
	tles := b.TLogEntries()
	switch {
	case len(tles) == 0:
		return nil, fail(CheckTLog, "bundle has no transparency log entry")
	case len(tles) > 1:
		// One signature, one entry: others would be carried unchecked.
		return nil, fail(CheckTLog, "bundle has %d transparency log entries; a signature is logged once", len(tles))
	}
	if opts.Key != nil {
		cert = nil
	}
	if tles[0].Kind == "" {
		return nil, fail(CheckTLog, "transparency log entry has no kind")
	}
	pr, entry, err := provenance.Check(provenance.Material{
		Certificate:           cert,
		Key:                   opts.Key,
		Entry:                 tles[0],
		RequireInclusionProof: b.Version() != "0.1",
	}, root, policy)
	if err != nil {
		return nil, err
	}
	res := &Result{Result: *pr}
	signerKey := opts.Key
	if cert != nil {
		signerKey = cert.PublicKey
	}
	switch c := b.GetContent().(type) {
	case *bundlepb.Bundle_MessageSignature:
		if err := verifyMessage(c, art, entry, signerKey, cert); err != nil {
			return nil, err
		}
	case *bundlepb.Bundle_DsseEnvelope:
		env := c.DsseEnvelope
		if err := verifyDSSE(env.GetPayloadType(), env.GetPayload(), env.GetSignatures()[0].GetSig(), art, entry, signerKey, cert); err != nil {
			return nil, err
		}
		res.PayloadType, res.Payload = env.GetPayloadType(), env.GetPayload()
	}
	return res, nil
}

func verifyMessage(c *bundlepb.Bundle_MessageSignature, art Artifact, entry *tlog.Entry, key crypto.PublicKey, cert *x509.Certificate) error {
	ms := c.MessageSignature
	sig := ms.GetSignature()
	var (
		h      crypto.Hash
		digest []byte
		err    error
	)
	if md := ms.GetMessageDigest(); md != nil {
		if h, err = bundle.CryptoHash(md.GetAlgorithm()); err != nil {
			return &Error{Check: CheckBundle, Err: err}
		}
		digest = md.GetDigest()
	} else if h, err = keys.Hash(key); err != nil {
		return &Error{Check: CheckSignature, Err: err}
	}
	actual, err := artifactDigest(art, h)
	if err != nil {
		return err
	}
	if digest != nil && !bytes.Equal(actual, digest) {
		return fail(CheckArtifact, "artifact digest does not match the bundle: the file was modified or is not the one signed")
	}
	return provenance.CheckHashedRekord(entry, h, actual, sig, key, cert)
}

func verifyDSSE(payloadType string, payload, sig []byte, art Artifact, entry *tlog.Entry, key crypto.PublicKey, cert *x509.Certificate) error {
	if entry.Kind != tlog.KindDSSE {
		return fail(CheckEntry, "envelope recorded as %q, want dsse", entry.Kind)
	}
	ph := sha256.Sum256(payload)
	if !bytes.Equal(entry.PayloadHash, ph[:]) {
		return fail(CheckEntry, "log entry records a different payload")
	}
	found := false
	for _, s := range entry.DSSESignatures {
		if bytes.Equal(s.Signature, sig) {
			if err := provenance.SameKey(s.Verifier, key, cert); err != nil {
				return err
			}
			found = true
		}
	}
	if !found {
		return fail(CheckEntry, "log entry does not record the envelope's signature")
	}
	if err := keys.VerifyMessage(key, dsse.PAE(payloadType, payload), sig); err != nil {
		return &Error{Check: CheckSignature, Err: err}
	}
	if art.Reader != nil || art.Digest != nil {
		if err := checkSubject(payloadType, payload, art); err != nil {
			return err
		}
	}
	return nil
}

func artifactDigest(art Artifact, h crypto.Hash) ([]byte, error) {
	if art.Reader == nil {
		if art.Digest == nil {
			return nil, fail(CheckArtifact, "no artifact or digest given")
		}
		if art.Hash != h {
			return nil, fail(CheckArtifact, "artifact digest is %v, the signature is over %v", art.Hash, h)
		}
		return art.Digest, nil
	}
	d := h.New()
	if _, err := io.Copy(d, art.Reader); err != nil {
		return nil, fail(CheckArtifact, "reading artifact: %v", err)
	}
	return d.Sum(nil), nil
}
