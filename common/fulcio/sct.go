package fulcio

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// This file reads and verifies RFC 6962 embedded SCTs with the standard library and
// cryptobyte only. certificate-transparency-go does the same job, but its package
// initialisation costs gitsign, which git runs once per commit, a few milliseconds.
// The tests cross-check every step against certificate-transparency-go.

var (
	// oidSCTList is the RFC 6962 §3.3 embedded SCT list extension.
	oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	// oidPrecertSigningEKU marks an RFC 6962 §3.1 Precertificate Signing Certificate.
	oidPrecertSigningEKU = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4}
)

// RFC 6962 / RFC 5246 enumerations used by SCTs.
const (
	sctVersionV1         = 0 // Version v1
	sigTypeCertTimestamp = 0 // SignatureType certificate_timestamp
	entryTypePrecert     = 1 // LogEntryType precert_entry
	hashSHA256           = 4 // HashAlgorithm sha256
	sigRSA               = 1 // SignatureAlgorithm rsa
	sigECDSA             = 3 // SignatureAlgorithm ecdsa
)

// sct is one SignedCertificateTimestamp (RFC 6962 §3.2). Every version is read with the
// v1 layout, as certificate-transparency-go does; only v1 verifies.
type sct struct {
	version    uint8
	logID      [32]byte
	timestamp  uint64 // milliseconds since the Unix epoch
	extensions []byte
	hashAlg    uint8
	sigAlg     uint8
	signature  []byte
}

// time is the SCT timestamp, converted as certificate-transparency-go's TimestampToTime.
func (s *sct) time() time.Time {
	return time.Unix(int64(s.timestamp/1000), int64(s.timestamp%1000)*int64(time.Millisecond))
}

// embeddedSCTs returns the SCTs in leaf's SCT list extension, or none if it has none.
func embeddedSCTs(leaf *x509.Certificate) ([]sct, error) {
	var value []byte
	found := false
	for _, e := range leaf.Extensions {
		if !e.Id.Equal(oidSCTList) {
			continue
		}
		if found {
			return nil, errors.New("more than one SCT list extension")
		}
		found, value = true, e.Value
	}
	if !found {
		return nil, nil
	}
	in := cryptobyte.String(value)
	var list cryptobyte.String
	if !in.ReadASN1(&list, cbasn1.OCTET_STRING) || !in.Empty() {
		return nil, errors.New("SCT list extension is not a DER OCTET STRING")
	}
	return parseSCTList(list)
}

// parseSCTList reads a TLS-encoded SignedCertificateTimestampList (RFC 6962 §3.3):
// opaque SerializedSCT<1..2^16-1>; SerializedSCT sct_list<1..2^16-1>.
func parseSCTList(b []byte) ([]sct, error) {
	in := cryptobyte.String(b)
	var list cryptobyte.String
	if !in.ReadUint16LengthPrefixed(&list) {
		return nil, errors.New("SCT list: truncated length")
	}
	if !in.Empty() {
		return nil, fmt.Errorf("SCT list: %d trailing bytes", len(in))
	}
	if list.Empty() {
		return nil, errors.New("SCT list: empty")
	}
	var out []sct
	for i := 0; !list.Empty(); i++ {
		var one cryptobyte.String
		if !list.ReadUint16LengthPrefixed(&one) {
			return nil, fmt.Errorf("SCT list: SCT %d: truncated", i)
		}
		if one.Empty() {
			return nil, fmt.Errorf("SCT list: SCT %d: empty", i)
		}
		s, err := parseSCT(one)
		if err != nil {
			return nil, fmt.Errorf("SCT list: SCT %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// parseSCT reads one serialized SCT, which must be exactly b.
func parseSCT(b cryptobyte.String) (sct, error) {
	var s sct
	var logID, exts, sig []byte
	if !b.ReadUint8(&s.version) ||
		!b.ReadBytes(&logID, len(s.logID)) ||
		!b.ReadUint64(&s.timestamp) ||
		!b.ReadUint16LengthPrefixed((*cryptobyte.String)(&exts)) ||
		!b.ReadUint8(&s.hashAlg) ||
		!b.ReadUint8(&s.sigAlg) ||
		!b.ReadUint16LengthPrefixed((*cryptobyte.String)(&sig)) {
		return sct{}, errors.New("truncated")
	}
	if !b.Empty() {
		return sct{}, fmt.Errorf("%d trailing bytes", len(b))
	}
	copy(s.logID[:], logID)
	s.extensions, s.signature = exts, sig
	return s, nil
}

// precertTBS rebuilds the TBSCertificate of the precertificate a log signed for a
// certificate with embedded SCTs: the certificate's TBSCertificate without the SCT list
// extension (RFC 6962 §3.1), other elements and extensions kept byte for byte.
//
// If the SCT list was the only extension, the [3] Extensions element stays, holding an
// empty SEQUENCE: that is what certificate-transparency-go's RemoveSCTList and
// BuildPrecertTBS produce, so it is what logs built on it sign.
//
// certificate-transparency-go re-encodes the whole TBSCertificate rather than copying
// it, which gives different bytes only for a certificate that is not DER (an explicitly
// encoded critical FALSE, say). Go's crypto/x509, which Fulcio and waxseal's CA issue
// with, writes DER.
func precertTBS(rawTBS []byte) ([]byte, error) {
	in := cryptobyte.String(rawTBS)
	var tbs cryptobyte.String
	if !in.ReadASN1(&tbs, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("TBSCertificate is not one DER SEQUENCE")
	}
	extsTag := cbasn1.Tag(3).Constructed().ContextSpecific()
	var b cryptobyte.Builder
	removed, sawExts := false, false
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for !tbs.Empty() {
			var elem cryptobyte.String
			var tag cbasn1.Tag
			if !tbs.ReadAnyASN1Element(&elem, &tag) {
				b.SetError(errors.New("malformed TBSCertificate element"))
				return
			}
			if tag != extsTag {
				b.AddBytes(elem)
				continue
			}
			if sawExts {
				b.SetError(errors.New("TBSCertificate has two Extensions elements"))
				return
			}
			sawExts = true
			var outer, exts cryptobyte.String
			if !elem.ReadASN1(&outer, extsTag) || !outer.ReadASN1(&exts, cbasn1.SEQUENCE) || !outer.Empty() {
				b.SetError(errors.New("malformed TBSCertificate Extensions"))
				return
			}
			b.AddASN1(extsTag, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for !exts.Empty() {
						var ext cryptobyte.String
						if !exts.ReadASN1Element(&ext, cbasn1.SEQUENCE) {
							b.SetError(errors.New("malformed extension"))
							return
						}
						e, body := ext, cryptobyte.String(nil)
						var oid asn1.ObjectIdentifier
						if !e.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1ObjectIdentifier(&oid) {
							b.SetError(errors.New("malformed extension"))
							return
						}
						if !oid.Equal(oidSCTList) {
							b.AddBytes(ext)
							continue
						}
						if removed {
							b.SetError(errors.New("more than one SCT list extension"))
							return
						}
						removed = true
					}
				})
			})
		}
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("rebuilding precertificate TBSCertificate: %w", err)
	}
	if !removed {
		return nil, errors.New("rebuilding precertificate TBSCertificate: no SCT list extension")
	}
	return out, nil
}

// sctSignedData is the RFC 6962 §3.2 digitally-signed input of an SCT for a precert_entry.
func sctSignedData(s *sct, issuerKeyHash [32]byte, tbs []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(s.version)
	b.AddUint8(sigTypeCertTimestamp)
	b.AddUint64(s.timestamp)
	b.AddUint16(entryTypePrecert)
	b.AddBytes(issuerKeyHash[:])
	if len(tbs) == 0 || len(tbs) > 1<<24-1 {
		return nil, fmt.Errorf("precertificate TBSCertificate of %d bytes does not fit opaque<1..2^24-1>", len(tbs))
	}
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(tbs) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.extensions) })
	return b.Bytes()
}

// checkLogKey accepts the CT log keys RFC 6962 §2.1.4 allows, as certificate-transparency-go
// does: ECDSA P-256, or RSA of at least 2048 bits.
func checkLogKey(key crypto.PublicKey) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("CT log key is ECDSA on %s, not P-256", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("CT log key is RSA with %d bits, fewer than 2048", k.N.BitLen())
		}
	default:
		return fmt.Errorf("unsupported CT log key type %T", key)
	}
	return nil
}

// verifySCT checks that s, from the log with key, signs the precertificate entry given by
// issuerKeyHash and tbs (from precertTBS).
func verifySCT(key crypto.PublicKey, s *sct, issuerKeyHash [32]byte, tbs []byte) error {
	if err := checkLogKey(key); err != nil {
		return err
	}
	if s.version != sctVersionV1 {
		return fmt.Errorf("unsupported SCT version %d", s.version)
	}
	if s.hashAlg != hashSHA256 {
		return fmt.Errorf("unsupported SCT hash algorithm %d (want SHA-256)", s.hashAlg)
	}
	data, err := sctSignedData(s, issuerKeyHash, tbs)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(data)
	switch s.sigAlg {
	case sigECDSA:
		k, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("cannot verify an ECDSA SCT signature with a %T key", key)
		}
		if !ecdsa.VerifyASN1(k, digest[:], s.signature) {
			return errors.New("ECDSA SCT signature does not verify")
		}
	case sigRSA:
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("cannot verify an RSA SCT signature with a %T key", key)
		}
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], s.signature); err != nil {
			return errors.New("RSA SCT signature does not verify")
		}
	default:
		return fmt.Errorf("unsupported SCT signature algorithm %d", s.sigAlg)
	}
	return nil
}

// isPrecertSigningCert reports whether c carries the Precertificate Signing Certificate EKU.
func isPrecertSigningCert(c *x509.Certificate) bool {
	for _, eku := range c.UnknownExtKeyUsage {
		if eku.Equal(oidPrecertSigningEKU) {
			return true
		}
	}
	return false
}
