package provenance_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	ctx509util "github.com/google/certificate-transparency-go/x509util"

	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/internal/testca"
	"github.com/waxseal/waxseal/server/servertest"
)

// These tests hold each check of provenance.Identify to real material: a
// certificate from the embedded stack's CA with an SCT from its CT log, and
// the entry its log recorded. Each failure case comes with the case that
// passes, so that none passes because something else failed.

// signed is a certificate and the log entry of a signature made with its key.
type signed struct {
	stack *servertest.Stack
	cert  *x509.Certificate
	tle   *tlog.TLE
}

// signWithStack logs in to the stack's CA as alice and records a signature.
func signWithStack(t *testing.T) *signed {
	t.Helper()
	stack := servertest.Start(t)
	cred, err := credential.LoginWithToken(context.Background(), &fulcioclient.Client{BaseURL: stack.URL},
		stack.Token(t, "alice@example.com"), keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return &signed{stack: stack, cert: cred.Certificate, tle: record(t, stack, cred.Certificate, cred.Signer)}
}

// record signs an artifact with key and records it, as a hashedrekord
// entry with cert, in the stack's log.
func record(t *testing.T, stack *servertest.Stack, cert *x509.Certificate, key crypto.Signer) *tlog.TLE {
	t.Helper()
	digest := sha256.Sum256([]byte("the artifact " + hex.EncodeToString(cert.SerialNumber.Bytes()) + "\n"))
	sig, err := keys.SignDigest(key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	proposed, err := tlog.NewHashedRekord(keys.RekorName(crypto.SHA256), digest[:], sig,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	if err != nil {
		t.Fatal(err)
	}
	tle, err := (&tlogclient.Client{BaseURL: stack.URL}).Record(context.Background(), proposed)
	if err != nil {
		t.Fatal(err)
	}
	if len(tle.SET) == 0 || tle.Proof == nil {
		t.Fatalf("the log answered without a SET or inclusion proof: %+v", tle)
	}
	return tle
}

// material is what a bundle made from s carries.
func (s *signed) material() provenance.Material {
	return provenance.Material{Certificate: s.cert, Entry: s.tle.Clone(), RequireInclusionProof: true}
}

func (s *signed) integrated() time.Time { return time.Unix(s.tle.IntegratedTime, 0) }

// editRoot returns a copy of root, edited by edit; root is left alone.
func editRoot(root *trust.Root, edit func(*trust.Root)) *trust.Root {
	r := *root
	r.CAs = append([]trust.CA(nil), root.CAs...)
	r.TLogs = append([]trust.Log(nil), root.TLogs...)
	r.CTLogs = append([]trust.Log(nil), root.CTLogs...)
	edit(&r)
	return &r
}

// wantCheck checks that err is a failure of check whose text says each of says.
func wantCheck(t *testing.T, err error, check string, says ...string) {
	t.Helper()
	var pe *provenance.Error
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a %q failure", err, check)
	}
	if pe.Check != check {
		t.Fatalf("failed check %q (%v), want %q", pe.Check, err, check)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not say %q", err, s)
		}
	}
}

func identify(t *testing.T, m provenance.Material, root *trust.Root) error {
	t.Helper()
	res, _, err := provenance.Identify(m, root)
	if err == nil && (res.Identity == nil || res.Identity.SAN == "") {
		t.Fatalf("verified without an identity: %+v", res)
	}
	return err
}

func mustPass(t *testing.T, what string, m provenance.Material, root *trust.Root) {
	t.Helper()
	if err := identify(t, m, root); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestIdentifyStack is the positive control the other tests start from:
// the stack's material verifies against its own trusted root.
func TestIdentifyStack(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	res, _, err := provenance.Check(s.material(), s.stack.Root,
		provenance.Policy{Identity: "alice@example.com", Issuer: s.stack.Issuer()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity.SAN != "alice@example.com" || !res.IntegratedTime.Equal(s.integrated()) {
		t.Fatalf("result %+v", res)
	}
}

// TestSETRequired: an entry with only an inclusion proof has no signed
// time, and its unsigned integratedTime must not decide when the
// certificate is checked.
func TestSETRequired(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	mustPass(t, "with its SET", s.material(), s.stack.Root)

	m := s.material()
	m.Entry.SET = nil
	wantCheck(t, identify(t, m, s.stack.Root), provenance.CheckTLog, "no signed entry timestamp")

	// Not even when the inclusion proof verifies and the claimed time makes
	// an expired certificate look valid: the claimed time is the attacker's.
	m = s.material()
	m.Entry.SET = nil
	m.Entry.IntegratedTime = s.cert.NotAfter.Add(time.Hour).Unix()
	wantCheck(t, identify(t, m, s.stack.Root), provenance.CheckTLog, "no signed entry timestamp")
}

// TestTLogValidFor: the log key must be trusted at the integrated time,
// both ends of its window included.
func TestTLogValidFor(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	at := s.integrated()
	window := func(v trust.Validity) *trust.Root {
		return editRoot(s.stack.Root, func(r *trust.Root) { r.TLogs[0].ValidFor = v })
	}
	mustPass(t, "window of one second", s.material(), window(trust.Validity{Start: at, End: at}))
	wantCheck(t, identify(t, s.material(), window(trust.Validity{Start: at.Add(-time.Hour), End: at.Add(-time.Second)})),
		provenance.CheckTLog, "log key was not trusted at integrated time "+at.UTC().Format(time.RFC3339))
	wantCheck(t, identify(t, s.material(), window(trust.Validity{Start: at.Add(time.Second)})),
		provenance.CheckTLog, "log key was not trusted at integrated time")
}

// TestCAValidFor: the CA must be trusted at the integrated time, both ends
// of its window included.
func TestCAValidFor(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	at := s.integrated()
	window := func(v trust.Validity) *trust.Root {
		return editRoot(s.stack.Root, func(r *trust.Root) { r.CAs[0].ValidFor = v })
	}
	mustPass(t, "window of one second", s.material(), window(trust.Validity{Start: at, End: at}))
	uri := s.stack.Root.CAs[0].URI
	wantCheck(t, identify(t, s.material(), window(trust.Validity{Start: at.Add(-time.Hour), End: at.Add(-time.Second)})),
		provenance.CheckChain, "CA "+uri+" was not trusted at "+at.UTC().Format(time.RFC3339))
	wantCheck(t, identify(t, s.material(), window(trust.Validity{Start: at.Add(time.Second)})),
		provenance.CheckChain, "was not trusted at")
}

// sctTime is the timestamp of the certificate's one SCT, read with
// certificate-transparency-go.
func sctTime(t *testing.T, cert *x509.Certificate) time.Time {
	t.Helper()
	scts, err := ctx509util.ParseSCTsFromCertificate(cert.Raw)
	if err != nil || len(scts) != 1 {
		t.Fatalf("parsing SCTs: %v (%d SCTs)", err, len(scts))
	}
	return ct.TimestampToTime(scts[0].Timestamp)
}

// TestCTLogValidFor: an SCT counts only if the trusted root trusted its CT
// log at the SCT's timestamp. A log retired after the SCT still vouches for
// it; one retired before does not, and the error names the log.
func TestCTLogValidFor(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	at := sctTime(t, s.cert)
	if at.After(s.integrated().Add(time.Second)) || at.Before(s.cert.NotBefore) {
		t.Fatalf("SCT time %v, certificate from %v, integrated %v", at, s.cert.NotBefore, s.integrated())
	}
	window := func(v trust.Validity) *trust.Root {
		return editRoot(s.stack.Root, func(r *trust.Root) { r.CTLogs[0].ValidFor = v })
	}
	log := s.stack.Root.CTLogs[0].BaseURL
	if log == "" {
		t.Fatal("the stack's CT log has no URL")
	}
	ms := time.Millisecond
	mustPass(t, "retired at the SCT", s.material(), window(trust.Validity{Start: at.Add(-time.Hour), End: at}))
	mustPass(t, "trusted from the SCT", s.material(), window(trust.Validity{Start: at}))
	wantCheck(t, identify(t, s.material(), window(trust.Validity{Start: at.Add(-time.Hour), End: at.Add(-ms)})),
		provenance.CheckSCT, "CT log "+log+": SCT timestamp", "outside the log's validity in the trusted root")
	wantCheck(t, identify(t, s.material(), window(trust.Validity{Start: at.Add(ms)})),
		provenance.CheckSCT, "CT log "+log+": SCT timestamp", "outside the log's validity in the trusted root")

	// Through trusted_root.json, as a verifier reads it: the stack's root
	// with its CT log retired before the SCT.
	retired := trustedRootJSON(t, s.stack, at.Add(-time.Hour), at.Add(-ms))
	wantCheck(t, identify(t, s.material(), retired), provenance.CheckSCT, "CT log "+log+": SCT timestamp")
	mustPass(t, "retired after the SCT", s.material(), trustedRootJSON(t, s.stack, at.Add(-time.Hour), at.Add(ms)))
}

// trustedRootJSON is the stack's trusted_root.json with the CT log's
// validFor set to start..end.
func trustedRootJSON(t *testing.T, stack *servertest.Stack, start, end time.Time) *trust.Root {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(stack.Root.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ctlogs, _ := doc["ctlogs"].([]any)
	if len(ctlogs) != 1 {
		t.Fatalf("the stack's root lists %d CT logs", len(ctlogs))
	}
	key := ctlogs[0].(map[string]any)["publicKey"].(map[string]any)
	key["validFor"] = map[string]any{"start": start.UTC().Format(time.RFC3339Nano), "end": end.UTC().Format(time.RFC3339Nano)}
	edited, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := trust.ParseRoot(edited)
	if err != nil {
		t.Fatalf("%v\n%s", err, edited)
	}
	if got := r.CTLogs[0].ValidFor; !got.Start.Equal(start) || !got.End.Equal(end) {
		t.Fatalf("edited root's CT log is valid %v, want %v to %v", got, start, end)
	}
	return r
}

// timedLog is a transparency log the test runs, trusted from a day before
// s's certificate, whose SETs put s's entry at any time.
type timedLog struct {
	t   *testing.T
	s   *signed
	key *ecdsa.PrivateKey
	id  []byte
}

func newTimedLog(t *testing.T, s *signed) *timedLog {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tlog.LogID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return &timedLog{t: t, s: s, key: key, id: id}
}

// trust makes the log r's only transparency log; for editRoot.
func (l *timedLog) trust(r *trust.Root) {
	r.TLogs = []trust.Log{{BaseURL: "https://log.test", ID: l.id, Key: l.key.Public(),
		ValidFor: trust.Validity{Start: l.s.cert.NotBefore.Add(-24 * time.Hour)}}}
}

// at is s's certificate and entry, logged by l at time when, with memo.
func (l *timedLog) at(when time.Time, memo provenance.Memo) provenance.Material {
	l.t.Helper()
	set, err := tlog.SignSET(l.key, l.s.tle.Body, when.Unix(), hex.EncodeToString(l.id), 7)
	if err != nil {
		l.t.Fatal(err)
	}
	return provenance.Material{Certificate: l.s.cert, Memo: memo, Entry: &tlog.TLE{
		LogIndex: 7, LogID: l.id, Kind: l.s.tle.Kind, Version: l.s.tle.Version,
		IntegratedTime: when.Unix(), SET: set, Body: l.s.tle.Body,
	}}
}

// TestChainCacheRechecksValidity: a certificate verified once is refused
// later at a time outside its validity, when its chain comes from the cache.
// The times come from SETs of a log the test runs, over the stack's entry.
func TestChainCacheRechecksValidity(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	log := newTimedLog(t, s)
	root := editRoot(s.stack.Root, log.trust)
	at := func(when time.Time) provenance.Material { return log.at(when, nil) }
	expired := s.cert.NotAfter.Add(time.Second)
	early := s.cert.NotBefore.Add(-time.Second)

	// Before the chain is cached, crypto/x509 refuses it.
	wantCheck(t, identify(t, at(expired), root), provenance.CheckChain, "certificate was not valid when the log saw the signature")
	// Verified, and so cached, within the validity; its last second included.
	mustPass(t, "at the integrated time", at(s.integrated()), root)
	mustPass(t, "at NotAfter", at(s.cert.NotAfter), root)
	// From the cache, refused outside it.
	wantCheck(t, identify(t, at(expired), root), provenance.CheckChain,
		"certificate was not valid when the log saw the signature ("+expired.UTC().Format(time.RFC3339))
	wantCheck(t, identify(t, at(early), root), provenance.CheckChain,
		"certificate was not valid when the log saw the signature ("+early.UTC().Format(time.RFC3339))
	mustPass(t, "at the integrated time, again", at(s.integrated()), root)
}

// trustedRootFor is a trusted_root.json around a test CA, the stack's log
// and the given CT logs.
func trustedRootFor(t *testing.T, ca *testca.CA, stack *servertest.Stack, ctlogs ...trust.LogSpec) *trust.Root {
	t.Helper()
	return trustedRootForChain(t, ca.Chain(), stack, ctlogs...)
}

// trustedRootForChain is trustedRootFor with the CA's chain as given.
func trustedRootForChain(t *testing.T, chain []*x509.Certificate, stack *servertest.Stack, ctlogs ...trust.LogSpec) *trust.Root {
	t.Helper()
	doc, err := trust.NewRoot(trust.RootSpec{
		CAURI:   "https://ca.test",
		CAChain: chain,
		TLogs:   []trust.LogSpec{{BaseURL: stack.URL, Key: stack.Root.TLogs[0].Key}},
		CTLogs:  ctlogs,
		Start:   time.Now().Add(-time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := trust.ParseRoot(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCodeSigningRequired: the certificate must be for code signing; one
// for TLS servers or email, from the same CA, is refused.
func TestCodeSigningRequired(t *testing.T) {
	t.Parallel()
	stack := servertest.Start(t)
	ca := testca.New(t)
	root := trustedRootFor(t, ca, stack)
	material := func(eku ...x509.ExtKeyUsage) provenance.Material {
		leaf, key := ca.Issue(t, "bob@example.com", eku...)
		return provenance.Material{Certificate: leaf, Entry: record(t, stack, leaf, key), RequireInclusionProof: true}
	}
	mustPass(t, "code signing", material(x509.ExtKeyUsageCodeSigning), root)
	for name, eku := range map[string][]x509.ExtKeyUsage{
		"server auth":      {x509.ExtKeyUsageServerAuth},
		"email protection": {x509.ExtKeyUsageEmailProtection},
		"none":             nil, // crypto/x509 alone would take it for any use
	} {
		t.Run(name, func(t *testing.T) {
			wantCheck(t, identify(t, material(eku...), root), provenance.CheckChain, "not issued for code signing")
		})
	}
}

// TestSCTRequired: when the trusted root lists CT logs, a certificate needs
// an SCT from one of them.
func TestSCTRequired(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	stackCT := trust.LogSpec{BaseURL: s.stack.Root.CTLogs[0].BaseURL, Key: s.stack.Root.CTLogs[0].Key}

	// Without an SCT at all: it verifies only where the root lists no CT log.
	ca := testca.New(t)
	leaf, key := ca.Issue(t, "bob@example.com", x509.ExtKeyUsageCodeSigning)
	m := provenance.Material{Certificate: leaf, Entry: record(t, s.stack, leaf, key), RequireInclusionProof: true}
	mustPass(t, "no SCT, no CT log in the root", m, trustedRootFor(t, ca, s.stack))
	wantCheck(t, identify(t, m, trustedRootFor(t, ca, s.stack, stackCT)), provenance.CheckSCT, "no embedded SCT")

	// With an SCT from a log the root does not list.
	mustPass(t, "SCT from the root's CT log", s.material(), s.stack.Root)
	otherLog := testca.Key(t).Public()
	der, err := x509.MarshalPKIXPublicKey(otherLog)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	other := editRoot(s.stack.Root, func(r *trust.Root) {
		r.CTLogs = []trust.Log{{BaseURL: "https://ct.test", ID: id[:], Key: otherLog, ValidFor: r.CTLogs[0].ValidFor}}
	})
	wantCheck(t, identify(t, s.material(), other), provenance.CheckSCT, "no embedded SCT is from a known CT log")
	// With the right log ID but another key: the signature does not verify.
	impostor := editRoot(s.stack.Root, func(r *trust.Root) { r.CTLogs[0].Key = otherLog })
	wantCheck(t, identify(t, s.material(), impostor), provenance.CheckSCT, "does not verify")
}

// mapMemo is a provenance.Memo in memory that counts what it is asked.
type mapMemo struct {
	m                  map[[32]byte][]byte
	recalls, remembers int
	keys               [][32]byte // every key recalled or remembered, in order
}

func (m *mapMemo) Recall(key [32]byte) ([]byte, bool) {
	m.recalls++
	m.keys = append(m.keys, key)
	v, ok := m.m[key]
	return v, ok
}

func (m *mapMemo) Remember(key [32]byte, value []byte) {
	if m.m == nil {
		m.m = map[[32]byte][]byte{}
	}
	m.remembers++
	m.keys = append(m.keys, key)
	m.m[key] = append([]byte(nil), value...)
}

// TestMemoRechecksTime: a certificate check kept in a Memo is recalled, not
// made again, and counts only at times when it still holds: within the
// certificate's validity and while the root trusts the CA. Outside them the
// failure is the one reported without a Memo. The times come from SETs of a
// log the test runs, over the stack's entry, as in
// TestChainCacheRechecksValidity.
func TestMemoRechecksTime(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	log := newTimedLog(t, s)
	root := editRoot(s.stack.Root, log.trust)
	memo := &mapMemo{}
	at := func(when time.Time) provenance.Material { return log.at(when, memo) }
	mustPass(t, "at the integrated time", at(s.integrated()), root)
	if memo.remembers != 1 || len(memo.m) != 1 {
		t.Fatalf("after one check the memo was given %d facts, holds %d; want 1", memo.remembers, len(memo.m))
	}
	mustPass(t, "at NotAfter", at(s.cert.NotAfter), root)
	if memo.remembers != 1 || memo.recalls != 2 {
		t.Fatalf("the second check remembered again (%d) or did not recall (%d recalls)", memo.remembers, memo.recalls)
	}
	expired := s.cert.NotAfter.Add(time.Second)
	wantCheck(t, identify(t, at(expired), root), provenance.CheckChain,
		"certificate was not valid when the log saw the signature ("+expired.UTC().Format(time.RFC3339))
	early := s.cert.NotBefore.Add(-time.Second)
	wantCheck(t, identify(t, at(early), root), provenance.CheckChain,
		"certificate was not valid when the log saw the signature ("+early.UTC().Format(time.RFC3339))
	now := s.integrated()
	retired := editRoot(root, func(r *trust.Root) {
		r.CAs[0].ValidFor = trust.Validity{Start: now.Add(-time.Hour), End: now.Add(-time.Second)}
	})
	wantCheck(t, identify(t, at(now), retired), provenance.CheckChain, "was not trusted at")
	if memo.remembers != 1 {
		t.Fatalf("failures were remembered: %d facts given", memo.remembers)
	}
}

// TestMemoKeys: a fact is kept for one certificate, CA chain and set of CT
// logs; another certificate, or a root whose CT log is trusted for another
// window, looks up another key, and its failure is not hidden by the first
// certificate's fact.
func TestMemoKeys(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	memo := &mapMemo{}
	m := s.material()
	m.Memo = memo
	mustPass(t, "first check", m, s.stack.Root)
	first := memo.keys[len(memo.keys)-1]

	// Another certificate from the same CA.
	cred, err := credential.LoginWithToken(context.Background(), &fulcioclient.Client{BaseURL: s.stack.URL},
		s.stack.Token(t, "bob@example.com"), keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	other := provenance.Material{Certificate: cred.Certificate, Entry: record(t, s.stack, cred.Certificate, cred.Signer),
		RequireInclusionProof: true, Memo: memo}
	mustPass(t, "another certificate", other, s.stack.Root)
	if k := memo.keys[len(memo.keys)-1]; k == first || len(memo.m) != 2 {
		t.Fatalf("another certificate shares the first one's key (%d facts)", len(memo.m))
	}

	// The same certificate against a root whose CT log was retired before
	// the SCT: another key, and the SCT's failure is reported.
	at := sctTime(t, s.cert)
	retired := trustedRootJSON(t, s.stack, at.Add(-time.Hour), at.Add(-time.Millisecond))
	before := len(memo.m)
	wantCheck(t, identify(t, m, retired), provenance.CheckSCT, "outside the log's validity in the trusted root")
	if k := memo.keys[len(memo.keys)-1]; k == first || len(memo.m) != before {
		t.Fatal("the retired CT log's root looked up the first root's fact, or a failure was kept")
	}
	mustPass(t, "first check, recalled", m, s.stack.Root)
	if memo.keys[len(memo.keys)-1] != first {
		t.Fatal("the first certificate's fact was not looked up again under its key")
	}
}

// TestMemoKeysNameWindowsExactly: a CT log's validity window is in a fact's
// key to the nanosecond for any year. UnixNano wraps every 2^64 ns (about
// 584 years), so a log trusted until the 27th century once named the same
// fact as one retired before the SCT, which must be refused.
func TestMemoKeysNameWindowsExactly(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	at := sctTime(t, s.cert)
	retiredEnd := at.Add(-time.Millisecond)
	far := retiredEnd
	for range 4 {
		far = far.Add(time.Duration(1 << 62)) // 2^64 ns in all
	}
	if retiredEnd.UnixNano() != far.UnixNano() {
		t.Fatalf("%v and %v do not share a UnixNano", retiredEnd, far)
	}
	retired := trustedRootJSON(t, s.stack, at.Add(-time.Hour), retiredEnd)
	wantCheck(t, identify(t, s.material(), retired), provenance.CheckSCT, "outside the log's validity")
	m := s.material()
	m.Memo = &mapMemo{}
	mustPass(t, "CT log trusted until "+far.UTC().Format(time.RFC3339), m, trustedRootJSON(t, s.stack, at.Add(-time.Hour), far))
	wantCheck(t, identify(t, m, retired), provenance.CheckSCT, "outside the log's validity")
}

// TestCAOrder: a certificate counts if it chains to any CA the root trusts
// and an SCT verifies with that chain's issuer; which CA the root lists
// first does not matter, with a Memo or without. Here the first CA's
// issuing certificate has the stack's CA key but is a precertificate
// signing certificate, which SCT verification refuses: the stack's CA,
// listed second, still vouches for the certificate, and the first alone
// does not. Before, the first CA whose chain verified decided alone, and
// a Memo's fact kept for the second CA contradicted it.
func TestCAOrder(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	log := newTimedLog(t, s)
	stackIssuer := s.stack.Root.CAs[0].Chain[0]
	now := time.Now()
	rootKey := testca.Key(t)
	rootA := testca.Cert(t, caTemplate(1, "root A", now.Add(-time.Hour), now.Add(time.Hour)), nil, rootKey.Public(), rootKey)
	tmpl := caTemplate(2, "", now.Add(-time.Hour), now.Add(time.Hour))
	tmpl.RawSubject, tmpl.SubjectKeyId = stackIssuer.RawSubject, stackIssuer.SubjectKeyId
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4}}
	precertSigner := testca.Cert(t, tmpl, rootA, stackIssuer.PublicKey, rootKey)
	t1, t2 := s.integrated(), s.cert.NotAfter
	caA := trust.CA{URI: "https://a.test", Chain: []*x509.Certificate{precertSigner, rootA}, ValidFor: trust.Validity{Start: t1.Add(time.Second)}}
	both := editRoot(s.stack.Root, func(r *trust.Root) { log.trust(r); r.CAs = append([]trust.CA{caA}, r.CAs...) })
	onlyA := editRoot(s.stack.Root, func(r *trust.Root) { log.trust(r); r.CAs = []trust.CA{caA} })
	at := log.at
	wantCheck(t, identify(t, at(t2, nil), onlyA), provenance.CheckSCT, "precertificate signing certificate")
	mustPass(t, "both CAs, the stack's second", at(t2, nil), both)
	memo := &mapMemo{}
	mustPass(t, "before the first CA is trusted", at(t1, memo), both)
	mustPass(t, "both CAs trusted, the fact recalled", at(t2, memo), both)
	if memo.remembers != 1 {
		t.Fatalf("the fact was kept %d times, want once", memo.remembers)
	}
	wantCheck(t, identify(t, at(t2, memo), onlyA), provenance.CheckSCT, "precertificate signing certificate")
}

// caTemplate is a CA certificate's template: it signs certificates.
func caTemplate(serial int64, name string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
}

// TestCertificateIsTheAnchor: a signing certificate that is itself the
// CA's trust anchor chains to nothing it was issued by, and is refused as
// a chain failure, whether or not the root lists CT logs (with them it
// once made the SCT check index past the chain; without, it was accepted).
func TestCertificateIsTheAnchor(t *testing.T) {
	t.Parallel()
	stack := servertest.Start(t)
	key := testca.Key(t)
	now := time.Now()
	tmpl := caTemplate(1, "signing anchor", now.Add(-time.Hour), now.Add(time.Hour))
	tmpl.KeyUsage |= x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	anchor := testca.Cert(t, tmpl, nil, key.Public(), key)
	withCT := editRoot(stack.Root, func(r *trust.Root) {
		r.CAs = []trust.CA{{URI: "https://ca.test", Chain: []*x509.Certificate{anchor}}}
	})
	if len(withCT.CTLogs) == 0 {
		t.Fatal("the stack's root lists no CT log")
	}
	for _, root := range []*trust.Root{withCT, trustedRootForChain(t, []*x509.Certificate{anchor}, stack)} {
		wantCheck(t, provenance.CheckCertificate(anchor, root, now), provenance.CheckChain, "the certificate is CA https://ca.test's own")
	}
}

// TestChainErrorsSayWhatFailed: the error names the certificate that was
// not valid (the signing certificate, or a CA's), and a CA the root had
// retired by then does not hide the failure of one it still trusted,
// wherever the root lists it.
func TestChainErrorsSayWhatFailed(t *testing.T) {
	t.Parallel()
	s := signWithStack(t)
	expired := s.cert.NotAfter.Add(time.Second)
	retiredCA := trust.CA{URI: "https://retired.test", Chain: s.stack.Root.CAs[0].Chain,
		ValidFor: trust.Validity{Start: s.cert.NotBefore.Add(-time.Hour), End: s.cert.NotBefore.Add(-time.Minute)}}
	for _, cas := range [][]trust.CA{
		{s.stack.Root.CAs[0], retiredCA},
		{retiredCA, s.stack.Root.CAs[0]},
	} {
		root := editRoot(s.stack.Root, func(r *trust.Root) { r.CAs = cas })
		wantCheck(t, provenance.CheckCertificate(s.cert, root, expired), provenance.CheckChain,
			"certificate was not valid when the log saw the signature ("+expired.UTC().Format(time.RFC3339))
	}
	onlyRetired := editRoot(s.stack.Root, func(r *trust.Root) { r.CAs = []trust.CA{retiredCA} })
	wantCheck(t, provenance.CheckCertificate(s.cert, onlyRetired, s.integrated()), provenance.CheckChain,
		"CA https://retired.test was not trusted at")

	// An issuing CA certificate that expired before the signature.
	now := time.Now().Truncate(time.Second)
	rootKey, interKey, leafKey := testca.Key(t), testca.Key(t), testca.Key(t)
	anchor := testca.Cert(t, caTemplate(1, "test root", now.Add(-2*time.Hour), now.Add(2*time.Hour)), nil, rootKey.Public(), rootKey)
	inter := testca.Cert(t, caTemplate(2, "expired intermediate", now.Add(-2*time.Hour), now.Add(-time.Hour)), anchor, interKey.Public(), rootKey)
	leaf := testca.Cert(t, &x509.Certificate{
		SerialNumber: big.NewInt(3), NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(5 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{"bob@example.com"},
	}, inter, leafKey.Public(), interKey)
	expiredInter := `CA certificate "CN=expired intermediate" was not valid when the log saw the signature (` + now.UTC().Format(time.RFC3339) +
		"; valid " + inter.NotBefore.UTC().Format(time.RFC3339) + " to " + inter.NotAfter.UTC().Format(time.RFC3339)
	issuing := trustedRootForChain(t, []*x509.Certificate{inter, anchor}, s.stack)
	wantCheck(t, provenance.CheckCertificate(leaf, issuing, now), provenance.CheckChain, expiredInter)
	// Beside another trusted CA, which did not issue the certificate, in
	// either order: what failed on the way to its own CA is said, not that
	// the other does not know its issuer.
	other := s.stack.Root.CAs[0]
	for _, cas := range [][]trust.CA{{issuing.CAs[0], other}, {other, issuing.CAs[0]}} {
		root := editRoot(issuing, func(r *trust.Root) { r.CAs = cas })
		wantCheck(t, provenance.CheckCertificate(leaf, root, now), provenance.CheckChain, expiredInter)
	}
	// Where no CA knows the issuer, that is what is said.
	stranger := editRoot(issuing, func(r *trust.Root) { r.CAs = []trust.CA{other} })
	wantCheck(t, provenance.CheckCertificate(leaf, stranger, now), provenance.CheckChain, "certificate signed by unknown authority")
}

// anchorTest is a CA of a root and an issuing certificate, made from
// templates the test may add to, issuing leaves that are valid for code
// signing from an hour ago to an hour ahead.
type anchorTest struct {
	t          *testing.T
	root       *trust.Root
	inter      *x509.Certificate
	interKey   crypto.Signer
	issueCount int64
}

func newAnchorTest(t *testing.T, now time.Time, rootEdit, interEdit func(*x509.Certificate)) *anchorTest {
	rootKey, interKey := testca.Key(t), testca.Key(t)
	rt := caTemplate(1, "anchor test root", now.Add(-3*time.Hour), now.Add(3*time.Hour))
	it := caTemplate(2, "anchor test issuer", now.Add(-3*time.Hour), now.Add(3*time.Hour))
	if rootEdit != nil {
		rootEdit(rt)
	}
	if interEdit != nil {
		interEdit(it)
	}
	anchor := testca.Cert(t, rt, nil, rootKey.Public(), rootKey)
	inter := testca.Cert(t, it, anchor, interKey.Public(), rootKey)
	return &anchorTest{t: t, inter: inter, interKey: interKey, issueCount: 10,
		root: &trust.Root{CAs: []trust.CA{{URI: "https://anchor.test", Chain: []*x509.Certificate{inter, anchor}}}}}
}

func (a *anchorTest) issue(now time.Time, email string, edit func(*x509.Certificate)) *x509.Certificate {
	a.issueCount++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(a.issueCount), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{email},
	}
	if edit != nil {
		edit(tmpl)
	}
	return testca.Cert(a.t, tmpl, a.inter, testca.Key(a.t).Public(), a.interKey)
}

// check checks cert at time at, and that crypto/x509 built the chain up
// to the root (whole) or stopped at the issuing certificate.
func (a *anchorTest) check(cert *x509.Certificate, at time.Time, whole bool) error {
	a.t.Helper()
	before := provenance.FullChainVerifications()
	err := provenance.CheckCertificate(cert, a.root, at)
	if got := provenance.FullChainVerifications() - before; got != map[bool]int{true: 1, false: 0}[whole] {
		a.t.Fatalf("%s: %d chains verified up to the root, want whole=%v", cert.EmailAddresses, got, whole)
	}
	return err
}

// TestChainAnchoredAtIssuer: once a CA's chain has verified whole, a new
// certificate it issued is verified against its issuing certificate alone
// (one signature check, not two), with the same verdicts as a whole
// verification: where the certificates above the issuing one would judge
// the new certificate differently (name constraints, policy constraints,
// their validity), it is still refused. Not parallel: it counts the
// process's chain verifications.
func TestChainAnchoredAtIssuer(t *testing.T) {
	now := time.Now().Truncate(time.Second)

	t.Run("anchored", func(t *testing.T) {
		a := newAnchorTest(t, now, nil, nil)
		if err := a.check(a.issue(now, "first@example.com", nil), now, true); err != nil {
			t.Fatal(err)
		}
		second := a.issue(now, "second@example.com", nil)
		if err := a.check(second, now, false); err != nil {
			t.Fatal(err)
		}
		if err := a.check(second, now, false); err != nil { // from the cache
			t.Fatal(err)
		}
		// The leaf's own checks still hold.
		wantCheck(t, a.check(a.issue(now, "late@example.com", nil), now.Add(2*time.Hour), false), provenance.CheckChain,
			"certificate was not valid when the log saw the signature")
	})

	t.Run("root expired", func(t *testing.T) {
		// The root is valid until 30 minutes ago: the first certificate
		// verifies at a time before that, the second after, and is refused.
		a := newAnchorTest(t, now, func(c *x509.Certificate) { c.NotAfter = now.Add(-30 * time.Minute) }, nil)
		if err := a.check(a.issue(now, "first@example.com", nil), now.Add(-time.Hour), true); err != nil {
			t.Fatal(err)
		}
		wantCheck(t, a.check(a.issue(now, "second@example.com", nil), now, false), provenance.CheckChain,
			`CA certificate "CN=anchor test root" was not valid`)
	})

	t.Run("root constrains names", func(t *testing.T) {
		a := newAnchorTest(t, now, func(c *x509.Certificate) { c.PermittedEmailAddresses = []string{"example.com"} }, nil)
		if err := a.check(a.issue(now, "first@example.com", nil), now, true); err != nil {
			t.Fatal(err)
		}
		wantCheck(t, a.check(a.issue(now, "eve@evil.test", nil), now, true), provenance.CheckChain)
	})

	t.Run("issuer requires explicit policy", func(t *testing.T) {
		policy, _ := x509.OIDFromInts([]uint64{1, 3, 6, 1, 4, 1, 57264, 9, 9})
		a := newAnchorTest(t, now, nil, func(c *x509.Certificate) {
			c.Policies = []x509.OID{policy}
			// PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] 0 }
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 36}, Critical: true, Value: []byte{0x30, 0x03, 0x80, 0x01, 0x00}})
		})
		if err := a.check(a.issue(now, "first@example.com", func(c *x509.Certificate) { c.Policies = []x509.OID{policy} }), now, true); err != nil {
			t.Fatal(err)
		}
		wantCheck(t, a.check(a.issue(now, "nopolicy@example.com", nil), now, true), provenance.CheckChain)
	})

	t.Run("leaf requires explicit policy", func(t *testing.T) {
		p1, _ := x509.OIDFromInts([]uint64{1, 3, 6, 1, 4, 1, 57264, 9, 1})
		p2, _ := x509.OIDFromInts([]uint64{1, 3, 6, 1, 4, 1, 57264, 9, 2})
		a := newAnchorTest(t, now, nil, func(c *x509.Certificate) { c.Policies = []x509.OID{p1} })
		if err := a.check(a.issue(now, "first@example.com", nil), now, true); err != nil {
			t.Fatal(err)
		}
		wantCheck(t, a.check(a.issue(now, "p2@example.com", func(c *x509.Certificate) {
			c.Policies = []x509.OID{p2}
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 36}, Value: []byte{0x30, 0x03, 0x80, 0x01, 0x00}})
		}), now, true), provenance.CheckChain)
	})

	t.Run("leaf repeats the root", func(t *testing.T) {
		// Signed by the issuing certificate with the root's subject and
		// key: x509 finds it no chain, so it is refused, before and after
		// another leaf has verified.
		a := newAnchorTest(t, now, nil, nil)
		root := a.root.CAs[0].Chain[1]
		twin := testca.Cert(t, &x509.Certificate{
			SerialNumber: big.NewInt(99), Subject: root.Subject,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		}, a.inter, root.PublicKey, a.interKey)
		wantCheck(t, a.check(twin, now, true), provenance.CheckChain)
		if err := a.check(a.issue(now, "first@example.com", nil), now, true); err != nil {
			t.Fatal(err)
		}
		wantCheck(t, a.check(twin, now, true), provenance.CheckChain)
	})
}
