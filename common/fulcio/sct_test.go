package fulcio

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	// certificate-transparency-go is the reference these tests hold our SCT code to; it
	// is imported by tests only.
	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
	"golang.org/x/crypto/cryptobyte"

	"github.com/waxseal/waxseal/internal/testca"
)

var oidCTPoison = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}

// testCA is an issuing certificate and its key.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestCA(t testing.TB, name string, mutate func(*x509.Certificate)) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if mutate != nil {
		mutate(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{c, key}
}

// testLog is a CT log: its key and RFC 6962 log ID.
type testLog struct {
	key crypto.Signer
	id  [32]byte
	alg cttls.SignatureAlgorithm
}

func newTestLog(t testing.TB, rsaKey bool) *testLog {
	t.Helper()
	var key crypto.Signer
	var err error
	alg := cttls.ECDSA
	if rsaKey {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		alg = cttls.RSA
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{key: key, id: sha256.Sum256(spki), alg: alg}
}

// addPreChain is the log's side, done with certificate-transparency-go as the embedded
// CT log does: build the precert entry from the precertificate (removing the poison) and
// sign it.
func (l *testLog) addPreChain(t testing.TB, pre, issuer []byte, ts uint64, exts []byte) *ct.SignedCertificateTimestamp {
	t.Helper()
	p, err := ctx509.ParseCertificate(pre)
	if err != nil && ctx509.IsFatal(err) {
		t.Fatal(err)
	}
	i, err := ctx509.ParseCertificate(issuer)
	if err != nil && ctx509.IsFatal(err) {
		t.Fatal(err)
	}
	leaf, err := ct.MerkleTreeLeafFromChain([]*ctx509.Certificate{p, i}, ct.PrecertLogEntryType, ts)
	if err != nil {
		t.Fatal(err)
	}
	sct := &ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: l.id}, Timestamp: ts, Extensions: exts}
	data, err := ct.SerializeSCTSignatureInput(*sct, ct.LogEntry{Leaf: *leaf})
	if err != nil {
		t.Fatal(err)
	}
	sct.Signature = l.sign(t, data)
	return sct
}

func (l *testLog) sign(t testing.TB, data []byte) ct.DigitallySigned {
	t.Helper()
	d := sha256.Sum256(data)
	sig, err := l.key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return ct.DigitallySigned{Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: l.alg}, Signature: sig}
}

func (l *testLog) keys() map[[32]byte]crypto.PublicKey {
	return map[[32]byte]crypto.PublicKey{l.id: l.key.Public()}
}

// sctListValue encodes SCTs as the extension value, with certificate-transparency-go.
func sctListValue(t testing.TB, scts ...*ct.SignedCertificateTimestamp) []byte {
	t.Helper()
	var list ctx509.SignedCertificateTimestampList
	for _, s := range scts {
		one, err := cttls.Marshal(*s)
		if err != nil {
			t.Fatal(err)
		}
		list.SCTList = append(list.SCTList, ctx509.SerializedSCT{Val: one})
	}
	b, err := cttls.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return octetString(t, b)
}

func octetString(t testing.TB, b []byte) []byte {
	t.Helper()
	v, err := asn1.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// leafTemplate is a Fulcio-like leaf profile. With bare it has no extensions at all, so
// the SCT list is the certificate's only extension.
func leafTemplate(bare bool) *x509.Certificate {
	now := time.Now().Truncate(time.Second)
	t := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "leaf"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(10 * time.Minute),
	}
	if !bare {
		t.Subject = pkix.Name{}
		t.KeyUsage = x509.KeyUsageDigitalSignature
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
		t.EmailAddresses = []string{"someone@example.com"}
		t.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: []byte{12, 3, 'i', 's', 's'}}}
	}
	return t
}

// issued is a certificate with embedded SCTs and what went into it.
type issued struct {
	leaf, pre *x509.Certificate
	ca        *testCA
	scts      []*ct.SignedCertificateTimestamp
	tmpl      *x509.Certificate
	pub       crypto.PublicKey
}

// issue runs the precertificate flow: precertificate with the poison, one SCT from each
// log, then the final certificate with the SCT list in the poison's position.
func issue(t testing.TB, ca *testCA, tmpl *x509.Certificate, ts uint64, exts []byte, logs ...*testLog) *issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	base := tmpl.ExtraExtensions
	tmpl.ExtraExtensions = append(base[:len(base):len(base)], pkix.Extension{Id: oidCTPoison, Critical: true, Value: asn1.NullBytes})
	preDER, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pre, err := x509.ParseCertificate(preDER)
	if err != nil {
		t.Fatal(err)
	}
	var scts []*ct.SignedCertificateTimestamp
	for _, l := range logs {
		scts = append(scts, l.addPreChain(t, preDER, ca.cert.Raw, ts, exts))
	}
	tmpl.ExtraExtensions = base
	is := &issued{pre: pre, ca: ca, scts: scts, tmpl: tmpl, pub: key.Public()}
	is.leaf = is.withList(t, sctListValue(t, scts...))
	return is
}

// withList issues the final certificate again with value as the SCT list extension.
func (is *issued) withList(t testing.TB, value []byte) *x509.Certificate {
	t.Helper()
	tmpl := *is.tmpl
	base := tmpl.ExtraExtensions
	tmpl.ExtraExtensions = append(base[:len(base):len(base)], pkix.Extension{Id: oidSCTList, Value: value})
	return testca.Cert(t, &tmpl, is.ca.cert, is.pub, is.ca.key)
}

func nowMillis() uint64 { return uint64(time.Now().UnixMilli()) }

// resetSCTCache forgets verified SCTs, so that a test sees verification, not the cache.
func resetSCTCache() {
	verifiedSCTs.mu.Lock()
	clear(verifiedSCTs.m)
	verifiedSCTs.mu.Unlock()
}

// ctgoVerify is certificate-transparency-go's verdict on every SCT in leaf.
func ctgoVerify(t testing.TB, leaf, issuer *x509.Certificate, logs map[[32]byte]crypto.PublicKey) []error {
	t.Helper()
	scts, err := ctx509util.ParseSCTsFromCertificate(leaf.Raw)
	if err != nil {
		t.Fatalf("ct-go ParseSCTsFromCertificate: %v", err)
	}
	l, err := ctx509.ParseCertificate(leaf.Raw)
	if err != nil && ctx509.IsFatal(err) {
		t.Fatal(err)
	}
	i, err := ctx509.ParseCertificate(issuer.Raw)
	if err != nil && ctx509.IsFatal(err) {
		t.Fatal(err)
	}
	var errs []error
	for _, s := range scts {
		key, ok := logs[s.LogID.KeyID]
		if !ok {
			errs = append(errs, errors.New("unknown log"))
			continue
		}
		errs = append(errs, ctutil.VerifySCT(key, []*ctx509.Certificate{l, i}, s, true))
	}
	return errs
}

// crossCheck holds every step of our SCT handling of leaf to certificate-transparency-go.
func crossCheck(t *testing.T, leaf, issuer *x509.Certificate, logs map[[32]byte]crypto.PublicKey) {
	t.Helper()
	ours, err := embeddedSCTs(leaf)
	if err != nil {
		t.Fatalf("embeddedSCTs: %v", err)
	}
	theirs, err := ctx509util.ParseSCTsFromCertificate(leaf.Raw)
	if err != nil {
		t.Fatalf("ct-go ParseSCTsFromCertificate: %v", err)
	}
	if len(ours) != len(theirs) {
		t.Fatalf("parsed %d SCTs, ct-go %d", len(ours), len(theirs))
	}
	for i := range ours {
		sameSCT(t, &ours[i], theirs[i])
	}

	tbs, err := precertTBS(leaf.RawTBSCertificate)
	if err != nil {
		t.Fatalf("precertTBS: %v", err)
	}
	want, err := ctx509.RemoveSCTList(leaf.RawTBSCertificate)
	if err != nil {
		t.Fatalf("ct-go RemoveSCTList: %v", err)
	}
	if !bytes.Equal(tbs, want) {
		t.Fatalf("precertTBS differs from ct-go RemoveSCTList\n ours %x\ntheirs %x", tbs, want)
	}

	ikh := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	ctgoErrs := ctgoVerify(t, leaf, issuer, logs)
	for i := range ours {
		data, err := sctSignedData(&ours[i], ikh, tbs)
		if err != nil {
			t.Fatal(err)
		}
		leafEntry, err := ct.MerkleTreeLeafForEmbeddedSCT(mustCTGo(t, leaf, issuer), theirs[i].Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		wantData, err := ct.SerializeSCTSignatureInput(*theirs[i], ct.LogEntry{Leaf: *leafEntry})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, wantData) {
			t.Fatalf("SCT %d: signed data differs from ct-go\n ours %x\ntheirs %x", i, data, wantData)
		}
		key, ok := logs[ours[i].logID]
		if !ok {
			continue
		}
		err = verifySCT(key, &ours[i], ikh, tbs)
		if (err == nil) != (ctgoErrs[i] == nil) {
			t.Fatalf("SCT %d: we say %v, ct-go says %v", i, err, ctgoErrs[i])
		}
	}
}

func mustCTGo(t testing.TB, leaf, issuer *x509.Certificate) []*ctx509.Certificate {
	t.Helper()
	var out []*ctx509.Certificate
	for _, c := range []*x509.Certificate{leaf, issuer} {
		p, err := ctx509.ParseCertificate(c.Raw)
		if err != nil && ctx509.IsFatal(err) {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func sameSCT(t testing.TB, ours *sct, theirs *ct.SignedCertificateTimestamp) {
	t.Helper()
	if ours.version != uint8(theirs.SCTVersion) || ours.logID != theirs.LogID.KeyID || ours.timestamp != theirs.Timestamp ||
		!bytes.Equal(ours.extensions, theirs.Extensions) || ours.hashAlg != uint8(theirs.Signature.Algorithm.Hash) ||
		ours.sigAlg != uint8(theirs.Signature.Algorithm.Signature) || !bytes.Equal(ours.signature, theirs.Signature.Signature) {
		t.Fatalf("SCT differs from ct-go's parse:\n ours %+v\ntheirs %+v", *ours, *theirs)
	}
	if !ours.time().Equal(ct.TimestampToTime(theirs.Timestamp)) {
		t.Fatalf("SCT time %v, ct-go %v", ours.time(), ct.TimestampToTime(theirs.Timestamp))
	}
}

func TestVerifyEmbeddedSCTsAgreesWithCTGo(t *testing.T) {
	ca := newTestCA(t, "ca", nil)
	ecLog, rsaLog, other := newTestLog(t, false), newTestLog(t, true), newTestLog(t, false)
	// The static-ct-api leaf_index extension our CT log adds to every SCT.
	leafIndex := []byte{0, 0, 5, 0, 0, 0, 0, 0, 7}
	for _, tc := range []struct {
		name  string
		bare  bool
		exts  []byte
		logs  []*testLog
		trust []*testLog
	}{
		{name: "ECDSA", logs: []*testLog{ecLog}, trust: []*testLog{ecLog}},
		{name: "RSA", logs: []*testLog{rsaLog}, trust: []*testLog{rsaLog}},
		{name: "SCT extensions", exts: leafIndex, logs: []*testLog{ecLog}, trust: []*testLog{ecLog}},
		{name: "unknown log first", logs: []*testLog{other, ecLog}, trust: []*testLog{ecLog}},
		{name: "two known logs", logs: []*testLog{rsaLog, ecLog}, trust: []*testLog{ecLog, rsaLog}},
		// The SCT list is the only extension: removing it leaves an empty Extensions
		// SEQUENCE, which is what ct-go (and so the log) signs.
		{name: "SCT list only extension", bare: true, logs: []*testLog{ecLog}, trust: []*testLog{ecLog}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resetSCTCache()
			ca := ca
			if tc.bare {
				// An issuer without a SubjectKeyId, so the leaf has no AuthorityKeyId.
				ca = newTestCA(t, "bare ca", func(c *x509.Certificate) {
					c.SubjectKeyId = nil
					c.IsCA, c.BasicConstraintsValid, c.KeyUsage = false, false, 0
				})
			}
			is := issue(t, ca, leafTemplate(tc.bare), nowMillis(), tc.exts, tc.logs...)
			if tc.bare && len(is.leaf.Extensions) != 1 {
				t.Fatalf("bare leaf has %d extensions", len(is.leaf.Extensions))
			}
			logs := map[[32]byte]crypto.PublicKey{}
			for _, l := range tc.trust {
				logs[l.id] = l.key.Public()
			}
			crossCheck(t, is.leaf, ca.cert, logs)
			for i, err := range ctgoVerify(t, is.leaf, ca.cert, logs) {
				if err != nil && logs[is.scts[i].LogID.KeyID] != nil {
					t.Fatalf("ct-go rejects SCT %d: %v", i, err)
				}
			}
			// The precertificate the log saw and the final certificate rebuild to the same TBS.
			preTBS, err := ctx509.BuildPrecertTBS(is.pre.RawTBSCertificate, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tbs, _ := precertTBS(is.leaf.RawTBSCertificate); !bytes.Equal(tbs, preTBS) {
				t.Fatalf("precertTBS of the final certificate is not the log's precert TBS")
			}
			if err := VerifyEmbeddedSCTs(is.leaf, ca.cert, logs, time.Now()); err != nil {
				t.Fatalf("VerifyEmbeddedSCTs: %v", err)
			}
			scts, err := embeddedSCTs(is.leaf)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.trust {
				for i := range scts {
					if k, ok := sctCacheKey(is.leaf, ca.cert, l.key.Public(), &scts[i]); ok && verifiedSCTs.has(k) {
						return
					}
				}
			}
			t.Fatal("a verified SCT was not cached")
		})
	}
}

func TestVerifyEmbeddedSCTsRejects(t *testing.T) {
	ca := newTestCA(t, "ca", nil)
	log, rsaLog := newTestLog(t, false), newTestLog(t, true)
	ts := nowMillis()
	good := issue(t, ca, leafTemplate(false), ts, nil, log)
	resetSCTCache()

	// sctWith re-encodes the good SCT after mutate, keeping its signature.
	sctWith := func(mutate func(*ct.SignedCertificateTimestamp)) *x509.Certificate {
		s := *good.scts[0]
		s.Signature.Signature = bytes.Clone(s.Signature.Signature)
		mutate(&s)
		return good.withList(t, sctListValue(t, &s))
	}

	type check struct {
		name   string
		leaf   *x509.Certificate
		issuer *x509.Certificate
		logs   map[[32]byte]crypto.PublicKey
		now    time.Time
		want   error  // errors.Is target
		reason string // in the error text
		ctgo   bool   // ct-go's VerifySCT must reject it too
	}
	otherCA := newTestCA(t, "other", nil)
	// The final certificate differs from the precertificate the log signed.
	alteredTmpl := leafTemplate(false)
	alteredTmpl.EmailAddresses = []string{"someone-else@example.com"}
	altered := &issued{ca: ca, tmpl: alteredTmpl, pub: good.pub}
	// Issued by a precertificate signing certificate, which the leaf must not be.
	precertSigner := newTestCA(t, "precert signer", func(c *x509.Certificate) {
		c.UnknownExtKeyUsage = []asn1.ObjectIdentifier{oidPrecertSigningEKU}
	})
	bySigner := (&issued{ca: precertSigner, tmpl: leafTemplate(false), pub: good.pub}).withList(t, sctListValue(t, good.scts...))
	future := issue(t, ca, leafTemplate(false), ts+3_600_000, nil, log)

	checks := []check{
		{name: "flipped signature byte", leaf: sctWith(func(s *ct.SignedCertificateTimestamp) {
			s.Signature.Signature[len(s.Signature.Signature)/2] ^= 1
		}), want: ErrBadSCT, reason: "does not verify", ctgo: true},
		{name: "wrong issuer", leaf: good.leaf, issuer: otherCA.cert, want: ErrBadSCT, reason: "does not verify", ctgo: true},
		{name: "altered TBS", leaf: altered.withList(t, sctListValue(t, good.scts...)), want: ErrBadSCT, reason: "does not verify", ctgo: true},
		{name: "altered timestamp", leaf: sctWith(func(s *ct.SignedCertificateTimestamp) { s.Timestamp-- }), want: ErrBadSCT, reason: "does not verify", ctgo: true},
		{name: "altered SCT extensions", leaf: sctWith(func(s *ct.SignedCertificateTimestamp) { s.Extensions = []byte{0} }), want: ErrBadSCT, reason: "does not verify", ctgo: true},
		{name: "future timestamp", leaf: future.leaf, now: time.UnixMilli(int64(ts + 1000)), want: ErrBadSCT, reason: "in the future"},
		{name: "unknown version", leaf: sctWith(func(s *ct.SignedCertificateTimestamp) { s.SCTVersion = 1 }), want: ErrBadSCT, reason: "unsupported SCT version 1", ctgo: true},
		{name: "SHA-384", leaf: sctWith(func(s *ct.SignedCertificateTimestamp) { s.Signature.Algorithm.Hash = cttls.SHA384 }), want: ErrBadSCT, reason: "hash algorithm 5", ctgo: true},
		{name: "RSA algorithm, ECDSA key", leaf: sctWith(func(s *ct.SignedCertificateTimestamp) { s.Signature.Algorithm.Signature = cttls.RSA }), want: ErrBadSCT, reason: "RSA SCT signature with a *ecdsa.PublicKey", ctgo: true},
		{name: "unknown signature algorithm", leaf: sctWith(func(s *ct.SignedCertificateTimestamp) { s.Signature.Algorithm.Signature = cttls.DSA }), want: ErrBadSCT, reason: "signature algorithm 2", ctgo: true},
		{name: "ECDSA signature, RSA key", leaf: good.leaf, logs: map[[32]byte]crypto.PublicKey{log.id: rsaLog.key.Public()}, want: ErrBadSCT, reason: "ECDSA SCT signature with a *rsa.PublicKey", ctgo: true},
		{name: "wrong ECDSA key", leaf: good.leaf, logs: map[[32]byte]crypto.PublicKey{log.id: otherCA.key.Public()}, want: ErrBadSCT, reason: "does not verify", ctgo: true},
		{name: "P-384 log key", leaf: good.leaf, logs: map[[32]byte]crypto.PublicKey{log.id: mustP384(t)}, want: ErrBadSCT, reason: "not P-256", ctgo: true},
		{name: "Ed25519 log key", leaf: good.leaf, logs: map[[32]byte]crypto.PublicKey{log.id: mustEd25519(t)}, want: ErrBadSCT, reason: "unsupported CT log key type", ctgo: true},
		{name: "precertificate signing issuer", leaf: bySigner, issuer: precertSigner.cert, want: ErrBadSCT, reason: "precertificate signing certificate"},
		{name: "unknown log", leaf: good.leaf, logs: rsaLog.keys(), want: ErrUnknownCTLog},
		{name: "no SCT list", leaf: ca.cert, want: ErrNoSCT},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			resetSCTCache()
			if c.issuer == nil {
				c.issuer = ca.cert
			}
			if c.logs == nil {
				c.logs = log.keys()
			}
			if c.now.IsZero() {
				c.now = time.Now()
			}
			err := VerifyEmbeddedSCTs(c.leaf, c.issuer, c.logs, c.now)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.reason) || !strings.HasPrefix(err.Error(), "fulcio: ") {
				t.Fatalf("error %q does not say %q", err, c.reason)
			}
			if c.ctgo {
				for i, err := range ctgoVerify(t, c.leaf, c.issuer, c.logs) {
					if err == nil {
						t.Fatalf("ct-go accepts SCT %d", i)
					}
				}
			}
		})
	}

	// The future SCT verifies once its time has come.
	if err := VerifyEmbeddedSCTs(future.leaf, ca.cert, log.keys(), time.UnixMilli(int64(ts+3_600_000))); err != nil {
		t.Fatalf("SCT at now: %v", err)
	}
	// A certificate that only verifies from the cache still needs its log trusted.
	if err := VerifyEmbeddedSCTs(future.leaf, ca.cert, rsaLog.keys(), time.Now()); !errors.Is(err, ErrUnknownCTLog) {
		t.Fatalf("cached SCT with its log untrusted: %v", err)
	}
}

func mustP384(t testing.TB) crypto.PublicKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

func mustEd25519(t testing.TB) crypto.PublicKey {
	k, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// tlsList builds an SCT list from raw serialized SCTs.
func tlsList(scts ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, s := range scts {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s) })
		}
	})
	return b.BytesOrPanic()
}

func TestParseSCTListMalformed(t *testing.T) {
	ca := newTestCA(t, "ca", nil)
	log := newTestLog(t, false)
	good := issue(t, ca, leafTemplate(false), nowMillis(), []byte{1, 2, 3}, log)
	one, err := cttls.Marshal(*good.scts[0])
	if err != nil {
		t.Fatal(err)
	}
	list := tlsList(one)
	if s, err := parseSCTList(list); err != nil || len(s) != 1 {
		t.Fatalf("good list: %v, %d SCTs", err, len(s))
	}
	if s, err := parseSCTList(tlsList(one, one, one)); err != nil || len(s) != 3 {
		t.Fatalf("three SCTs: %v, %d SCTs", err, len(s))
	}

	overLong := bytes.Clone(list)
	overLong[1]++ // list length one more than there is
	innerOverLong := bytes.Clone(list)
	innerOverLong[3]++ // SCT length one more than there is
	innerShort := tlsList(one[:len(one)-1])
	innerLong := tlsList(append(bytes.Clone(one), 0))
	extLong := bytes.Clone(one)
	extLong[1+32+8+1] += 100 // extensions length past the end
	for name, b := range map[string][]byte{
		"nil":                      nil,
		"one byte":                 {0},
		"empty list":               {0, 0},
		"empty SCT":                tlsList(nil),
		"truncated list":           list[:len(list)-1],
		"over-long list":           overLong,
		"trailing bytes":           append(bytes.Clone(list), 0),
		"over-long SCT":            innerOverLong,
		"truncated SCT":            innerShort,
		"SCT with trailing byte":   innerLong,
		"over-long SCT extensions": tlsList(extLong),
		"only version":             tlsList([]byte{0}),
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := parseSCTList(b); err == nil {
				t.Fatalf("parsed %d SCTs", len(s))
			}
			// ct-go refuses it too.
			var l ctx509.SignedCertificateTimestampList
			rest, err := cttls.Unmarshal(b, &l)
			if err == nil && len(rest) == 0 {
				if _, err := ctx509util.ParseSCTsFromSCTList(&l); err == nil {
					t.Fatal("ct-go parses it")
				}
			}
			// In a certificate, VerifyEmbeddedSCTs reports it as unparseable.
			leaf := good.withList(t, octetString(t, b))
			err = VerifyEmbeddedSCTs(leaf, ca.cert, log.keys(), time.Now())
			if err == nil || errors.Is(err, ErrNoSCT) || errors.Is(err, ErrBadSCT) || errors.Is(err, ErrUnknownCTLog) ||
				!strings.HasPrefix(err.Error(), "fulcio: parsing embedded SCTs: ") {
				t.Fatalf("VerifyEmbeddedSCTs: %v", err)
			}
		})
	}

	// The extension value must be exactly one OCTET STRING.
	for name, v := range map[string][]byte{
		"bare list":            list,
		"trailing after":       append(octetString(t, list), 0),
		"UTF8String":           append([]byte{12, byte(len(list))}, list...),
		"truncated":            octetString(t, list)[:len(list)],
		"non-minimal length":   append([]byte{4, 0x82, byte(len(list) >> 8), byte(len(list))}, list...),
		"indefinite length":    append(append([]byte{4, 0x80}, list...), 0, 0),
		"empty extension body": {},
	} {
		t.Run(name, func(t *testing.T) {
			leaf := good.withList(t, v)
			if _, err := embeddedSCTs(leaf); err == nil {
				t.Fatal("parsed")
			}
			if err := VerifyEmbeddedSCTs(leaf, ca.cert, log.keys(), time.Now()); err == nil || !strings.HasPrefix(err.Error(), "fulcio: parsing embedded SCTs: ") {
				t.Fatalf("VerifyEmbeddedSCTs: %v", err)
			}
		})
	}
}

func TestPrecertTBSMalformed(t *testing.T) {
	ca := newTestCA(t, "ca", nil)
	log := newTestLog(t, false)
	good := issue(t, ca, leafTemplate(false), nowMillis(), nil, log)
	tbs := good.leaf.RawTBSCertificate
	for name, b := range map[string][]byte{
		"empty":          nil,
		"truncated":      tbs[:len(tbs)-1],
		"trailing":       append(bytes.Clone(tbs), 0),
		"no SCT list":    good.pre.RawTBSCertificate,
		"not a SEQUENCE": append([]byte{0x31}, tbs[1:]...),
	} {
		if _, err := precertTBS(b); err == nil {
			t.Errorf("%s: precertTBS accepted it", name)
		}
	}
}

// TestSCTCacheIsPerKey: a verdict cached for one log key is not taken for
// another key filed under the same log ID, as a second trusted root could
// file it in a long-running verifier.
func TestSCTCacheIsPerKey(t *testing.T) {
	ca := newTestCA(t, "ca", nil)
	log, impostor := newTestLog(t, false), newTestLog(t, false)
	is := issue(t, ca, leafTemplate(false), nowMillis(), nil, log)
	resetSCTCache()
	if err := VerifyEmbeddedSCTs(is.leaf, ca.cert, log.keys(), time.Now()); err != nil {
		t.Fatalf("the log's own key: %v", err)
	}
	other := map[[32]byte]crypto.PublicKey{log.id: impostor.key.Public()}
	if err := VerifyEmbeddedSCTs(is.leaf, ca.cert, other, time.Now()); !errors.Is(err, ErrBadSCT) {
		t.Fatalf("another key under the log's ID, after a cached success: err %v, want ErrBadSCT", err)
	}
}

// TestVerifyEmbeddedSCTsFromLogsWindows: an SCT counts only if its log was
// trusted at the SCT's timestamp, both ends of the window included, and the
// error names each log whose SCT did not count and why.
func TestVerifyEmbeddedSCTsFromLogsWindows(t *testing.T) {
	ca := newTestCA(t, "ca", nil)
	retired, current := newTestLog(t, false), newTestLog(t, true)
	ts := nowMillis() - 60_000
	at := time.UnixMilli(int64(ts))
	ms := time.Millisecond
	both := issue(t, ca, leafTemplate(false), ts, nil, retired, current)
	one := issue(t, ca, leafTemplate(false), ts, nil, retired)

	ctlog := func(l *testLog, url string, from, to time.Time) map[[32]byte]CTLog {
		return map[[32]byte]CTLog{l.id: {URL: url, Key: l.key.Public(), NotBefore: from, NotAfter: to}}
	}
	var zero time.Time
	for _, tc := range []struct {
		name   string
		leaf   *x509.Certificate
		logs   map[[32]byte]CTLog
		now    time.Time
		reason []string // nil: must verify
	}{
		{name: "open window", leaf: one.leaf, logs: ctlog(retired, "https://ct.test/a", zero, zero)},
		{name: "window around the SCT", leaf: one.leaf, logs: ctlog(retired, "https://ct.test/a", at.Add(-time.Hour), at.Add(time.Hour))},
		{name: "window ends at the SCT", leaf: one.leaf, logs: ctlog(retired, "https://ct.test/a", at.Add(-time.Hour), at)},
		{name: "window starts at the SCT", leaf: one.leaf, logs: ctlog(retired, "https://ct.test/a", at, zero)},
		{name: "retired before the SCT", leaf: one.leaf, logs: ctlog(retired, "https://ct.test/a", at.Add(-time.Hour), at.Add(-ms)),
			reason: []string{"CT log https://ct.test/a: SCT timestamp " + at.UTC().Format("2006-01-02T15:04:05.999Z07:00") +
				" is outside the log's validity in the trusted root (from " + at.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.999Z07:00") +
				" to " + at.Add(-ms).UTC().Format("2006-01-02T15:04:05.999Z07:00") + ")"}},
		{name: "trusted only after the SCT", leaf: one.leaf, logs: ctlog(retired, "https://ct.test/a", at.Add(ms), zero),
			reason: []string{"CT log https://ct.test/a:", "outside the log's validity", "(from " + at.Add(ms).UTC().Format("2006-01-02T15:04:05.999Z07:00") + ")"}},
		{name: "unnamed log", leaf: one.leaf, logs: ctlog(retired, "", zero, at.Add(-ms)),
			reason: []string{fmt.Sprintf("CT log %x:", retired.id), "(until "}},
		{name: "in the window but in the future", leaf: one.leaf, logs: ctlog(retired, "https://ct.test/a", zero, zero), now: at.Add(-ms),
			reason: []string{"CT log https://ct.test/a: SCT timestamp", "in the future"}},
		{name: "one retired log, one current", leaf: both.leaf, logs: map[[32]byte]CTLog{
			retired.id: {URL: "https://ct.test/a", Key: retired.key.Public(), NotAfter: at.Add(-ms)},
			current.id: {URL: "https://ct.test/b", Key: current.key.Public(), NotBefore: at},
		}},
		{name: "both retired", leaf: both.leaf, logs: map[[32]byte]CTLog{
			retired.id: {URL: "https://ct.test/a", Key: retired.key.Public(), NotAfter: at.Add(-ms)},
			current.id: {URL: "https://ct.test/b", Key: current.key.Public(), NotBefore: at.Add(ms)},
		}, reason: []string{"CT log https://ct.test/a: SCT timestamp", "; CT log https://ct.test/b: SCT timestamp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = time.Now()
			}
			// First with an open window, so that a cached verdict is there to
			// be wrongly taken.
			open := map[[32]byte]CTLog{}
			for id, l := range tc.logs {
				open[id] = CTLog{URL: l.URL, Key: l.Key}
			}
			if err := VerifyEmbeddedSCTsFromLogs(tc.leaf, ca.cert, open, time.Now()); err != nil {
				t.Fatalf("with open windows: %v", err)
			}
			err := VerifyEmbeddedSCTsFromLogs(tc.leaf, ca.cert, tc.logs, now)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadSCT) {
				t.Fatalf("got %v, want ErrBadSCT", err)
			}
			for _, r := range tc.reason {
				if !strings.Contains(err.Error(), r) {
					t.Fatalf("error %q does not say %q", err, r)
				}
			}
			// Keys alone trust every log at every time.
			keys := map[[32]byte]crypto.PublicKey{}
			for id, l := range tc.logs {
				keys[id] = l.Key
			}
			if err := VerifyEmbeddedSCTs(tc.leaf, ca.cert, keys, time.Now()); err != nil {
				t.Fatalf("VerifyEmbeddedSCTs without windows: %v", err)
			}
		})
	}
}

// TestSCTCacheIsPerSCT: whether an SCT counts depends on its own timestamp,
// so a verdict cached for one SCT does not stand for another from the same
// log: here a forged SCT that only a second root's window lets through.
func TestSCTCacheIsPerSCT(t *testing.T) {
	ca := newTestCA(t, "ca", nil)
	log := newTestLog(t, false)
	ts := nowMillis() - 60_000
	good := issue(t, ca, leafTemplate(false), ts, nil, log)
	forged := *good.scts[0]
	forged.Timestamp = ts - 3_600_000
	forged.Signature.Signature = bytes.Clone(forged.Signature.Signature)
	forged.Signature.Signature[len(forged.Signature.Signature)/2] ^= 1
	leaf := good.withList(t, sctListValue(t, good.scts[0], &forged))
	resetSCTCache()

	at := time.UnixMilli(int64(ts))
	key := log.key.Public()
	if err := VerifyEmbeddedSCTsFromLogs(leaf, ca.cert, map[[32]byte]CTLog{log.id: {Key: key, NotBefore: at}}, time.Now()); err != nil {
		t.Fatalf("the genuine SCT in its window: %v", err)
	}
	err := VerifyEmbeddedSCTsFromLogs(leaf, ca.cert, map[[32]byte]CTLog{log.id: {Key: key, NotAfter: at.Add(-time.Millisecond)}}, time.Now())
	if !errors.Is(err, ErrBadSCT) || !strings.Contains(err.Error(), "does not verify") || !strings.Contains(err.Error(), "outside the log's validity") {
		t.Fatalf("only the forged SCT in the window, after the genuine one was cached: %v", err)
	}
}
