package gitsign

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/common/verify"
	"github.com/waxseal/waxseal/gitsign/cms"
)

const fixtures = "../testdata/gitsign-public-good"

type fixture struct {
	file, typ, identity, issuer string
	raw                         []byte
}

// loadFixtures reads expect.txt: the objects sigstore's gitsign signed
// against the public-good instance, and who signed them.
func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, "expect.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fixture
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 4 || fs[1] != "valid" {
			t.Fatalf("expect.txt: %q", line)
		}
		raw, err := os.ReadFile(filepath.Join(fixtures, fs[0]))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixture{file: fs[0], typ: strings.TrimPrefix(filepath.Ext(fs[0]), "."), identity: fs[2], issuer: fs[3], raw: raw})
	}
	return out
}

// fixtureSignature parses a fixture's CMS signature.
func fixtureSignature(t testing.TB, fx fixture) *cms.Signature {
	t.Helper()
	o, err := ParseObject(fx.typ, fx.raw, "sha1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := cms.ParsePEM(o.Signature)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func publicGoodRoot(t testing.TB) *trust.Root {
	root, err := trust.LoadRoot(filepath.Join(fixtures, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestPublicGood verifies sigstore gitsign's real commits and tag offline.
func TestPublicGood(t *testing.T) {
	root := publicGoodRoot(t)
	for _, fx := range loadFixtures(t) {
		t.Run(fx.file, func(t *testing.T) {
			o, err := ParseObject(fx.typ, fx.raw, "sha1")
			if err != nil {
				t.Fatal(err)
			}
			if o.Signature == nil || o.Email != fx.identity {
				t.Fatalf("parsed %q, signer email %q", o.Subject, o.Email)
			}
			signers, err := ParseAllowedSigners(strings.NewReader("*@chainguard.dev "+fx.identity+" "+fx.issuer+"\n"), "test")
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []*Verifier{
				{Root: root, Signers: signers},
				{Root: root, Identity: matcher(t, verify.Policy{Identity: fx.identity, Issuer: fx.issuer})},
			} {
				res, err := v.Verify(o.Payload, o.Signature, o.Email)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if res.Trust != TrustFully || res.Identity != fx.identity || res.Issuer != fx.issuer || res.LogIndex == 0 {
					t.Errorf("result %+v", res)
				}
			}

			// Valid, but nobody allowed it: untrusted, never an error.
			res, err := (&Verifier{Root: root}).Verify(o.Payload, o.Signature, o.Email)
			if err != nil || res.Trust != TrustUndefined {
				t.Errorf("no policy: %v %+v", err, res)
			}
			// Another identity than an explicit policy names: valid but
			// untrusted, the signer named and the reason given.
			res, err = (&Verifier{Root: root, Identity: matcher(t, verify.Policy{Identity: "mallory@example.com", Issuer: fx.issuer})}).Verify(o.Payload, o.Signature, o.Email)
			if err != nil || res.Trust != TrustUndefined || res.Identity != fx.identity || !strings.Contains(res.Untrusted, "mallory@example.com") {
				t.Errorf("wrong identity: %v %+v", err, res)
			}
			// Altered payload: bad.
			tampered := bytes.Replace(o.Payload, []byte(o.Subject), []byte(o.Subject+"!"), 1)
			if _, err := (&Verifier{Root: root}).Verify(tampered, o.Signature, o.Email); !isKind(err, Bad) {
				t.Errorf("tampered payload: %v", err)
			}
		})
	}
}

// TestHashedRekordBody holds the directly written entry body equal to the
// core's canonicalization, for every fixture.
func TestHashedRekordBody(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		s := fixtureSignature(t, fx)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate.Raw})
		proposed, err := tlog.NewHashedRekord("sha256", s.AttrsDigest(), s.Signature, certPEM)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tlog.Canonicalize(proposed)
		if err != nil {
			t.Fatal(err)
		}
		got := hashedRekordEntry("sha256", s.AttrsDigest(), s.Signature, s.Certificate)
		if !bytes.Equal(got.Body, want.Body) {
			t.Errorf("%s:\n got %s\nwant %s", fx.file, got.Body, want.Body)
		}
		// The entry handed to provenance.Check in place of the body is
		// what parsing the body yields, in every field the checks read.
		parsed, err := tlog.ParseBody(got.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != parsed.Kind || got.APIVersion != parsed.APIVersion || got.HashAlgorithm != parsed.HashAlgorithm ||
			!bytes.Equal(got.Digest, parsed.Digest) || !bytes.Equal(got.Signature, parsed.Signature) || !bytes.Equal(got.PublicKey, parsed.PublicKey) {
			t.Errorf("%s: entry %+v, parsed body %+v", fx.file, got, parsed)
		}
	}
}

func isKind(err error, kind string) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

func TestAllowedSigners(t *testing.T) {
	a, err := ParseAllowedSigners(strings.NewReader(`
# team
alice@example.com  alice@example.com  https://issuer.example
kim@example.com    kim@example.com    https://issuer.example   # a comment after a rule
*@ci.example.com   https://ci.example/wf@refs/heads/main  https://ci.example
`), "signers")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		email, id, iss string
		ok             bool
		why            string
	}{
		{"alice@example.com", "alice@example.com", "https://issuer.example", true, ""},
		{"Alice@Example.com", "alice@example.com", "https://issuer.example", true, ""},
		{"bob@example.com", "alice@example.com", "https://issuer.example", false, "not bound"},
		{"alice@example.com", "alice@example.com", "https://other.example", false, "logged in through https://other.example, but signers allows it only from https://issuer.example"},
		{"bot@ci.example.com", "https://ci.example/wf@refs/heads/main", "https://ci.example", true, ""},
		{"mallory@example.com", "mallory@example.com", "https://issuer.example", false, "not in"},
		// ASCII case only: U+212A KELVIN SIGN lowers to k in Unicode.
		{"\u212aim@example.com", "kim@example.com", "https://issuer.example", false, "not bound"},
		{"KIM@example.com", "kim@example.com", "https://issuer.example", true, ""},
		// Identities match exactly; one the rule spells in another case
		// is named.
		{"alice@example.com", "Alice@example.com", "https://issuer.example", false, "not in signers: its line 3 names alice@example.com, and identities match exactly, case too"},
	} {
		err := a.Check(tc.email, tc.id, tc.iss)
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), tc.why)) {
			t.Errorf("Check(%q, %q, %q) = %v", tc.email, tc.id, tc.iss, err)
		}
	}
	for _, bad := range []string{"a b\n", "a b c d\n", `1+github-actions\[bot\]@users.noreply.github.com x y` + "\n"} {
		if _, err := ParseAllowedSigners(strings.NewReader(bad), "s"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	// A file an editor began with a UTF-8 byte-order mark: its first rule
	// counts like the others.
	bom, err := ParseAllowedSigners(strings.NewReader("\ufeffalice@example.com alice@example.com https://issuer.example\n"), "bom")
	if err != nil {
		t.Fatal(err)
	}
	if err := bom.Check("alice@example.com", "alice@example.com", "https://issuer.example"); err != nil {
		t.Errorf("the first rule after a byte-order mark: %v", err)
	}
}

// TestEmailWildcards: "*" and "?" are the only special characters, so a
// GitHub bot's address is written as it is.
func TestEmailWildcards(t *testing.T) {
	for _, tc := range []struct {
		pattern, email string
		ok             bool
	}{
		{"alice@example.com", "alice@example.com", true},
		{"*@example.com", "alice@example.com", true},
		{"*@example.com", "@example.com", true},
		{"*@example.com", "alice@example.com.evil", false},
		{"*@example.com", "alice@evil.com", false},
		{"a?ice@example.com", "alice@example.com", true},
		{"a?ice@example.com", "aice@example.com", false},
		{"?@x", "é@x", true},
		{"*a*b*", "xxaxxbxx", true},
		{"*a*b", "xxaxxbxxc", false},
		{"**", "", true},
		{"*", "anything", true},
		{"41898282+github-actions[bot]@users.noreply.github.com", "41898282+github-actions[bot]@users.noreply.github.com", true},
		{"41898282+github-actions[bot]@users.noreply.github.com", "41898282+github-actionsb@users.noreply.github.com", false},
		{"a\\*b@x", "a\\zzb@x", true}, // a backslash is itself
	} {
		if got := wildcard(tc.pattern, tc.email); got != tc.ok {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tc.pattern, tc.email, got, tc.ok)
		}
	}
}

func TestParseObject(t *testing.T) {
	sig := "-----BEGIN SIGNED MESSAGE-----\n MIIB\n -----END SIGNED MESSAGE-----"
	commit := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
		"author A <a@example.com> 1 +0000\n" +
		"committer C <c@example.com> 2 +0000\n" +
		"gpgsig " + sig + "\n" +
		"gpgsig-sha256 " + sig + "\n" +
		"\nsubject line\n\nbody\n"
	want := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
		"author A <a@example.com> 1 +0000\n" +
		"committer C <c@example.com> 2 +0000\n" +
		"\nsubject line\n\nbody\n"
	for _, format := range []string{"sha1", "sha256"} {
		o, err := ParseObject("commit", []byte(commit), format)
		if err != nil {
			t.Fatal(err)
		}
		if string(o.Payload) != want || o.Email != "c@example.com" || o.Subject != "subject line" {
			t.Errorf("%s: payload %q email %q subject %q", format, o.Payload, o.Email, o.Subject)
		}
		if string(o.Signature) != "-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----\n" {
			t.Errorf("%s: signature %q", format, o.Signature)
		}
	}
	// Two signature headers for the same format are refused.
	dup := strings.Replace(commit, "gpgsig-sha256 ", "gpgsig ", 1)
	if _, err := ParseObject("commit", []byte(dup), "sha1"); err == nil {
		t.Error("accepted two gpgsig headers")
	}

	tag := "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger T <t@example.com> 1 +0000\n\nv1\n"
	armored := "-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----\n"
	o, err := ParseObject("tag", []byte(tag+armored), "sha1")
	if err != nil {
		t.Fatal(err)
	}
	if string(o.Payload) != tag || string(o.Signature) != armored || o.Email != "t@example.com" || o.Subject != "v1" ||
		o.Target != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" || o.TagName != "v1" {
		t.Errorf("tag: %+v", o)
	}
	p, err := ParsePayload([]byte(tag))
	if err != nil || p.Type != "tag" || p.Signature != nil {
		t.Errorf("payload: %v %+v", err, p)
	}
	if o.Glued {
		t.Error("a signed tag is said to have its signature glued on")
	}

	// A signature glued to a message without its final line break is
	// told from a message that only quotes a signature's first line.
	head := strings.TrimSuffix(tag, "v1\n")
	for body, want := range map[string]bool{
		"v1" + armored: true,
		"v1\n\nquoting -----BEGIN PGP SIGNATURE----- then\n" + "body" + armored: true,
		"v1\n": false,
		"quoting -----BEGIN PGP SIGNATURE----- here\n":           false,
		"quoting -----BEGIN PGP SIGNATURE-----\nand more text\n": false,
		"x-----BEGIN SIGNED MESSAGE-----\nMIIB\n":                false, // no END line
	} {
		o, err := ParseObject("tag", []byte(head+body), "sha1")
		if err != nil {
			t.Fatal(err)
		}
		if o.Glued != want || want && o.Signature != nil {
			t.Errorf("tag body %q: Glued %v, signature %q", body, o.Glued, o.Signature)
		}
	}
}

// The email checked against the allowed signers is the one git shows:
// split as git's split_ident_line splits it.
func TestIdentEmail(t *testing.T) {
	for ident, want := range map[string]string{
		"Alice <alice@example.com> 1700000000 +0000":                       "alice@example.com",
		"Alice <alice@example.com> <mallory@example.com> 1700000000 +0000": "alice@example.com",
		"Alice <alice@example.com>> 1700000000 +0000":                      "alice@example.com",
		"<<mallory@example.com> 1 +0000":                                   "<mallory@example.com",
		"Alice alice@example.com> 1 +0000":                                 "",
		"Alice <alice@example.com 1 +0000":                                 "",
		"Alice\x00 <alice@example.com> 1 +0000":                            "",
		"A <> 1 +0000":                                                     "",
	} {
		if got := identEmail(ident); got != want {
			t.Errorf("identEmail(%q) = %q, want %q", ident, got, want)
		}
	}
}

// What git refuses or reads differently is refused, not guessed at.
func TestParseObjectRefuses(t *testing.T) {
	const tree = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
	const author = "author A <a@example.com> 1 +0000\n"
	const committer = "committer C <c@example.com> 2 +0000\n"
	const tagHead = "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\n"
	const tagger = "tagger T <t@example.com> 1 +0000\n"
	const armored = "-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----\n"
	for _, tc := range []struct{ name, typ, raw, want string }{
		{"commit without committer", "commit", tree + author + "\nmsg\n", "0 committer headers"},
		{"commit with two committers", "commit", tree + author + committer + committer + "\nmsg\n", "2 committer headers"},
		{"commit not starting with tree", "commit", author + committer + "\nmsg\n", "first header is not tree"},
		{"tag with two taggers", "tag", tagHead + tagger + tagger + "\nv1\n" + armored, "two tagger headers"},
		{"tag with three signature headers", "tag", tagHead + tagger + "gpgsig x\nx-a 1\ngpgsig-sha256 y\nx-b 2\ngpgsig z\n\nv1\n" + armored, "more than two signature headers"},
		{"tag with an unknown signature header", "tag", tagHead + tagger + "gpgsigx y\n\nv1\n" + armored, "unknown signature header"},
		{"tag with adjacent signature headers", "tag", tagHead + tagger + "gpgsig x\n more\ngpgsig-sha256 y\n\nv1\n" + armored, "two adjacent signature headers"},
		{"tag with adjacent headers of one kind", "tag", tagHead + tagger + "gpgsig-sha256 x\ngpgsig-sha256 y\n\nv1\n" + armored, "two adjacent signature headers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseObject(tc.typ, []byte(tc.raw), "sha1")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// The controls: the same objects made well parse.
	for _, raw := range []string{tree + author + committer + "\nmsg\n", tagHead + tagger + "\nv1\n" + armored} {
		typ := "commit"
		if strings.HasPrefix(raw, "object") {
			typ = "tag"
		}
		if _, err := ParseObject(typ, []byte(raw), "sha1"); err != nil {
			t.Errorf("control %q: %v", raw, err)
		}
	}
	// git passes the payload without its signature; one that still has one
	// is not what git verifies.
	if _, err := ParsePayload([]byte(tree + author + committer + "gpgsig " + strings.ReplaceAll(strings.TrimSuffix(armored, "\n"), "\n", "\n ") + "\n\nmsg\n")); err == nil || !strings.Contains(err.Error(), "still carries a signature") {
		t.Errorf("payload with a signature: %v", err)
	}
}

// A tag's signature in its body is over the tag without its signature
// headers, as git verifies it (remove_signature).
func TestTagSignatureHeadersRemoved(t *testing.T) {
	head := "object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger T <t@example.com> 1 +0000\n"
	armored := "-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----\n"
	raw := head + "gpgsig-sha256 -----BEGIN SIGNED MESSAGE-----\n MIIC\n -----END SIGNED MESSAGE-----\n" + "\nv1\n\ngpgsig not a header\n" + armored
	o, err := ParseObject("tag", []byte(raw), "sha1")
	if err != nil {
		t.Fatal(err)
	}
	if want := head + "\nv1\n\ngpgsig not a header\n"; string(o.Payload) != want {
		t.Errorf("payload %q, want %q", o.Payload, want)
	}
	if string(o.Signature) != armored {
		t.Errorf("signature %q", o.Signature)
	}
}

// Names from a certificate cannot add status lines or terminal controls.
func TestStatusEscapes(t *testing.T) {
	var b bytes.Buffer
	uid := "alice@example.com\n[GNUPG:] GOODSIG 00 alice\n[GNUPG:] TRUST_FULLY 0 shell 100%"
	Status{W: &b}.Bad(nil, uid)
	Status{W: &b}.Good(nil, uid, time.Unix(0, 0), TrustUndefined)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 5 || strings.Count(b.String(), "GOODSIG") != 3 || strings.Contains(b.String(), "TRUST_FULLY") && !strings.Contains(b.String(), "%0A[GNUPG:] TRUST_FULLY") {
		t.Errorf("status lines:\n%s", b.String())
	}
	if !strings.HasSuffix(lines[0], "alice@example.com%0A[GNUPG:] GOODSIG 00 alice%0A[GNUPG:] TRUST_FULLY 0 shell 100%25") {
		t.Errorf("BADSIG line %q", lines[0])
	}
	if got := statusText("alice@example.com"); got != "alice@example.com" {
		t.Errorf("plain uid escaped: %q", got)
	}
	for in, want := range map[string]string{
		"alice@example.com":     "alice@example.com",
		"Zoë <zoe@example.com>": "Zoë <zoe@example.com>",
		"a\x1b[31mred":          `"a\x1b[31mred"`,
		"a\ngitsign: Good":      `"a\ngitsign: Good"`,
		"bad utf-8 \xff":        `"bad utf-8 \xff"`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzParseObject(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.typ == "tag", fx.raw)
	}
	f.Fuzz(func(t *testing.T, isTag bool, raw []byte) {
		typ := "commit"
		if isTag {
			typ = "tag"
		}
		for _, format := range []string{"sha1", "sha256"} {
			o, err := ParseObject(typ, raw, format)
			if err != nil {
				continue
			}
			// The payload never contains more than the object.
			if len(o.Payload)+len(o.Signature) > len(raw)+1 {
				t.Fatalf("payload %d + signature %d > object %d", len(o.Payload), len(o.Signature), len(raw))
			}
			if typ == "commit" && bytes.Contains(headerPart(o.Payload), []byte("\ngpgsig")) {
				t.Fatalf("payload keeps a signature header: %q", o.Payload)
			}
		}
	})
}

func headerPart(b []byte) []byte {
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[:i+1]
	}
	return b
}

// BenchmarkVerifyPublicGood is one commit's offline verification: CMS,
// signature, log entry (SET, inclusion proof, checkpoint), P-384 chain at
// integrated time, SCT, identity.
func BenchmarkVerifyPublicGood(b *testing.B) {
	root := publicGoodRoot(b)
	fx := loadFixtures(b)[0]
	o, err := ParseObject(fx.typ, fx.raw, "sha1")
	if err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Root: root, Identity: matcher(b, verify.Policy{Identity: fx.identity, Issuer: fx.issuer})}
	for b.Loop() {
		if _, err := v.Verify(o.Payload, o.Signature, o.Email); err != nil {
			b.Fatal(err)
		}
	}
}

// A parsed entry handed to provenance.Check must be the entry's own body:
// one written for another signature is refused, not trusted.
func TestCheckRefusesAnotherBody(t *testing.T) {
	root := publicGoodRoot(t)
	fxs := loadFixtures(t)
	if len(fxs) < 2 {
		t.Fatal("want two fixtures")
	}
	sigs := []*cms.Signature{fixtureSignature(t, fxs[0]), fixtureSignature(t, fxs[1])}
	entry := func(s *cms.Signature) *tlog.Entry {
		return hashedRekordEntry("sha256", s.AttrsDigest(), s.Signature, s.Certificate)
	}
	s := sigs[0]
	s.Entry.Body = entry(s).Body
	m := provenance.Material{Certificate: s.Certificate, Entry: s.Entry, RequireInclusionProof: true, Body: entry(s)}
	if _, _, err := provenance.Identify(m, root); err != nil {
		t.Fatalf("its own body: %v", err)
	}
	m.Body = entry(sigs[1])
	_, _, err := provenance.Identify(m, root)
	var pe *provenance.Error
	if !errors.As(err, &pe) || pe.Check != provenance.CheckEntry {
		t.Errorf("another signature's body: %v", err)
	}
}

// matcher compiles an identity policy for Verifier.Identity.
func matcher(t testing.TB, p verify.Policy) func(*fulcio.CertIdentity) error {
	t.Helper()
	m, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return m.Check
}
