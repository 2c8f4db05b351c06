// Package bundle reads and writes Sigstore bundles, the one file that carries
// everything a verifier needs offline: the signer's certificate, the
// transparency-log entry with its signed entry timestamp and inclusion proof,
// and the signature itself — over an artifact digest (messageSignature) or as
// a DSSE envelope (dsseEnvelope).
//
// We write application/vnd.dev.sigstore.bundle.v0.3+json, in which keyless
// verification material is a single leaf certificate, and read v0.1 to v0.3:
//
//	{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//	 "verificationMaterial": {"certificate": {"rawBytes": "<DER>"},
//	                          "tlogEntries": [{"logIndex": "7", "logId": {...}, ...}]},
//	 "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": "<b64>"},
//	                      "signature": "<b64>"}}
//
// The JSON is protojson over the protobuf-specs types, the encoding every
// Sigstore client reads.
package bundle

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	bundlepb "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	commonpb "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogpb"
)

// Media types.
const (
	MediaType   = "application/vnd.dev.sigstore.bundle.v0.3+json"
	mediaType01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	mediaType02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
	mediaType03 = "application/vnd.dev.sigstore.bundle+json;version=0.3"
)

// MaxSize bounds the bundles we read; real ones are a few KiB.
const MaxSize = 16 << 20

// Bundle is a parsed Sigstore bundle.
type Bundle struct {
	*bundlepb.Bundle
}

// Parse decodes and structurally validates a bundle.
func Parse(data []byte) (*Bundle, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("bundle: larger than %d bytes", MaxSize)
	}
	var pb bundlepb.Bundle
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("bundle: not a Sigstore bundle (its JSON does not parse: %w)", err)
	}
	b := &Bundle{&pb}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// Load reads and parses a bundle file.
func Load(path string) (*Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Version returns "0.1", "0.2" or "0.3".
func (b *Bundle) Version() string {
	switch b.GetMediaType() {
	case mediaType01:
		return "0.1"
	case mediaType02:
		return "0.2"
	}
	return "0.3"
}

func (b *Bundle) validate() error {
	switch b.GetMediaType() {
	case MediaType, mediaType03, mediaType02, mediaType01:
	default:
		return fmt.Errorf("bundle: unsupported media type %q", b.GetMediaType())
	}
	vm := b.GetVerificationMaterial()
	if vm == nil {
		return errors.New("bundle: missing verificationMaterial")
	}
	switch vm.GetContent().(type) {
	case *bundlepb.VerificationMaterial_Certificate, *bundlepb.VerificationMaterial_PublicKey:
	case *bundlepb.VerificationMaterial_X509CertificateChain:
		if b.Version() == "0.3" {
			return errors.New("bundle: v0.3 bundles must carry a single certificate, not a chain")
		}
	default:
		return errors.New("bundle: missing certificate or public key")
	}
	for i, e := range vm.GetTlogEntries() {
		if e.GetKindVersion() == nil || len(e.GetCanonicalizedBody()) == 0 || e.GetLogId() == nil {
			return fmt.Errorf("bundle: transparency log entry #%d is incomplete", i)
		}
		if b.Version() != "0.1" && e.GetInclusionProof() == nil {
			return fmt.Errorf("bundle: transparency log entry #%d has no inclusion proof (required since v0.2)", i)
		}
	}
	switch c := b.GetContent().(type) {
	case *bundlepb.Bundle_MessageSignature:
		if len(c.MessageSignature.GetSignature()) == 0 {
			return errors.New("bundle: empty message signature")
		}
	case *bundlepb.Bundle_DsseEnvelope:
		if len(c.DsseEnvelope.GetSignatures()) != 1 {
			return fmt.Errorf("bundle: DSSE envelope must carry exactly one signature, has %d", len(c.DsseEnvelope.GetSignatures()))
		}
	default:
		return errors.New("bundle: no messageSignature or dsseEnvelope")
	}
	return nil
}

// Certificate returns the signer's leaf certificate, or nil for key-based
// bundles.
func (b *Bundle) Certificate() (*x509.Certificate, error) {
	var der []byte
	switch c := b.GetVerificationMaterial().GetContent().(type) {
	case *bundlepb.VerificationMaterial_Certificate:
		der = c.Certificate.GetRawBytes()
	case *bundlepb.VerificationMaterial_X509CertificateChain:
		certs := c.X509CertificateChain.GetCertificates()
		if len(certs) == 0 {
			return nil, errors.New("bundle: empty certificate chain")
		}
		der = certs[0].GetRawBytes()
	default:
		return nil, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("bundle: certificate: %w", err)
	}
	return cert, nil
}

// Marshal encodes the bundle as JSON.
func (b *Bundle) Marshal() ([]byte, error) {
	return protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(b.Bundle)
}

// NewMessageSignature builds a v0.3 bundle for a signature over an artifact
// digest.
func NewMessageSignature(cert *x509.Certificate, h crypto.Hash, digest, sig []byte, tles ...*tlog.TLE) (*Bundle, error) {
	alg, err := HashAlgorithm(h)
	if err != nil {
		return nil, err
	}
	return &Bundle{&bundlepb.Bundle{
		MediaType:            MediaType,
		VerificationMaterial: material(cert, tles),
		Content: &bundlepb.Bundle_MessageSignature{MessageSignature: &commonpb.MessageSignature{
			MessageDigest: &commonpb.HashOutput{Algorithm: alg, Digest: digest},
			Signature:     sig,
		}},
	}}, nil
}

// NewDSSE builds a v0.3 bundle for a DSSE envelope with one signature.
func NewDSSE(cert *x509.Certificate, payloadType string, payload, sig []byte, tles ...*tlog.TLE) *Bundle {
	return &Bundle{&bundlepb.Bundle{
		MediaType:            MediaType,
		VerificationMaterial: material(cert, tles),
		Content: &bundlepb.Bundle_DsseEnvelope{DsseEnvelope: &dssepb.Envelope{
			Payload:     payload,
			PayloadType: payloadType,
			Signatures:  []*dssepb.Signature{{Sig: sig}},
		}},
	}}
}

func material(cert *x509.Certificate, tles []*tlog.TLE) *bundlepb.VerificationMaterial {
	vm := &bundlepb.VerificationMaterial{
		Content: &bundlepb.VerificationMaterial_Certificate{Certificate: &commonpb.X509Certificate{RawBytes: cert.Raw}},
	}
	for _, t := range tles {
		vm.TlogEntries = append(vm.TlogEntries, tlogpb.ToPB(t))
	}
	return vm
}

// TLogEntries returns the bundle's transparency-log entries.
func (b *Bundle) TLogEntries() []*tlog.TLE {
	var out []*tlog.TLE
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		out = append(out, tlogpb.FromPB(e))
	}
	return out
}

// HashAlgorithm maps a crypto.Hash to the bundle's enum.
func HashAlgorithm(h crypto.Hash) (commonpb.HashAlgorithm, error) {
	switch h {
	case crypto.SHA256:
		return commonpb.HashAlgorithm_SHA2_256, nil
	case crypto.SHA384:
		return commonpb.HashAlgorithm_SHA2_384, nil
	case crypto.SHA512:
		return commonpb.HashAlgorithm_SHA2_512, nil
	}
	return 0, fmt.Errorf("unsupported hash %v", h)
}

// CryptoHash is the inverse of [HashAlgorithm].
func CryptoHash(a commonpb.HashAlgorithm) (crypto.Hash, error) {
	switch a {
	case commonpb.HashAlgorithm_SHA2_256:
		return crypto.SHA256, nil
	case commonpb.HashAlgorithm_SHA2_384:
		return crypto.SHA384, nil
	case commonpb.HashAlgorithm_SHA2_512:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported hash algorithm %v", a)
}
