package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
)

var (
	oidCTPoison  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}
	oidCTSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	oidSAN       = asn1.ObjectIdentifier{2, 5, 29, 17}
)

// template renders Fulcio's certificate profile for p and pub.
func (c *CA) template(p *principal, pub crypto.PublicKey) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now().UTC().Truncate(time.Second)
	t := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    now,
		NotAfter:     now.Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		SubjectKeyId: subjectKeyID(pub),
		// AuthorityKeyId is taken from the intermediate's SubjectKeyId by CreateCertificate.
	}
	switch {
	case p.email != "":
		// An rfc822Name is an IA5String; control characters in it would
		// reach every tool that shows who signed.
		if strings.ContainsFunc(p.email, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return nil, errBadRequest("the token's email %q cannot be a certificate's: it must be printable ASCII without spaces", p.email)
		}
		t.EmailAddresses = []string{p.email}
	case p.uri != "":
		u, err := parseURI(p.uri)
		if err != nil {
			return nil, errUnauthenticated("identity %q is not a URI: %v", p.uri, err)
		}
		t.URIs = append(t.URIs, u)
	case p.otherName != "":
		// crypto/x509 cannot write an OtherName; a SAN in ExtraExtensions replaces its own.
		san, err := otherNameSAN(p.otherName)
		if err != nil {
			return nil, err
		}
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidSAN, Critical: true, Value: san})
	}
	// With an empty subject crypto/x509 marks the SAN critical, as RFC 5280 requires.
	for _, e := range p.exts {
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: e.oid, Value: e.value})
	}
	return t, nil
}

func otherNameSAN(value string) ([]byte, error) {
	// OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } (RFC
	// 5280), the value a UTF8String.
	on, err := asn1.MarshalWithParams(struct {
		TypeID asn1.ObjectIdentifier
		Value  string `asn1:"utf8,explicit,tag:0"`
	}{oidOtherNameSAN, value}, "tag:0")
	if err != nil {
		return nil, err
	}
	return asn1.Marshal([]asn1.RawValue{{FullBytes: on}})
}

// issue signs the certificate for p and pub. With a CT log it runs the precertificate flow:
// the precertificate is tmpl plus the critical poison extension, the final certificate is
// tmpl plus the SCT list in the same position, so that removing either extension from
// either TBSCertificate gives the same bytes, which is what the SCT signs.
func (c *CA) issue(ctx context.Context, p *principal, pub crypto.PublicKey) (*x509.Certificate, error) {
	tmpl, err := c.template(p, pub)
	if err != nil {
		return nil, err
	}
	base := tmpl.ExtraExtensions
	if c.cfg.CT != nil {
		tmpl.ExtraExtensions = append(base[:len(base):len(base)], pkix.Extension{Id: oidCTPoison, Critical: true, Value: asn1.NullBytes})
		pre, err := x509.CreateCertificate(rand.Reader, tmpl, c.keys.inter, pub, c.keys.interKey)
		if err != nil {
			return nil, fmt.Errorf("sign precertificate: %w", err)
		}
		sct, err := c.cfg.CT.AddPreChain(ctx, [][]byte{pre, c.keys.inter.Raw, c.keys.root.Raw})
		if err != nil {
			return nil, errUnavailable("certificate transparency log: %v", err)
		}
		list, err := sctListExtension(sct)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(base[:len(base):len(base)], pkix.Extension{Id: oidCTSCTList, Value: list})
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.keys.inter, pub, c.keys.interKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// sctListExtension is the RFC 6962 §3.3 extension value: an OCTET STRING holding the
// TLS-encoded SignedCertificateTimestampList.
func sctListExtension(sct *ct.SignedCertificateTimestamp) ([]byte, error) {
	one, err := cttls.Marshal(*sct)
	if err != nil {
		return nil, fmt.Errorf("encode SCT: %w", err)
	}
	list, err := cttls.Marshal(ctx509.SignedCertificateTimestampList{SCTList: []ctx509.SerializedSCT{{Val: one}}})
	if err != nil {
		return nil, fmt.Errorf("encode SCT list: %w", err)
	}
	return asn1.Marshal(list)
}
