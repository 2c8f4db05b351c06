package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/gitsign"
)

// TestStatusLines pins the exact status lines git parses.
func TestStatusLines(t *testing.T) {
	cert := &x509.Certificate{Raw: []byte("cert")}
	var b bytes.Buffer
	st := gitsign.Status{W: &b}
	at := time.Unix(1785883374, 0)
	st.BeginSigning()
	st.SigCreated(cert, at)
	st.NewSig()
	st.Good(cert, "alice@example.com", at, gitsign.TrustFully)
	st.Good(cert, "bob@example.com", at, gitsign.TrustUndefined)
	st.Bad(cert, "eve@example.com")
	st.Err(nil, at)
	fpr := gitsign.Fingerprint(cert)
	want := "[GNUPG:] BEGIN_SIGNING\n" +
		"[GNUPG:] SIG_CREATED D 19 8 00 1785883374 " + fpr + "\n" +
		"[GNUPG:] NEWSIG\n" +
		"[GNUPG:] GOODSIG " + fpr + " alice@example.com\n" +
		"[GNUPG:] VALIDSIG " + fpr + " 2026-08-04 1785883374 0 0 0 19 8 00 " + fpr + "\n" +
		"[GNUPG:] TRUST_FULLY 0 shell\n" +
		"[GNUPG:] GOODSIG " + fpr + " bob@example.com\n" +
		"[GNUPG:] VALIDSIG " + fpr + " 2026-08-04 1785883374 0 0 0 19 8 00 " + fpr + "\n" +
		"[GNUPG:] TRUST_UNDEFINED 0 shell\n" +
		"[GNUPG:] BADSIG " + fpr + " eve@example.com\n" +
		"[GNUPG:] TRUST_UNDEFINED 0 shell\n" +
		"[GNUPG:] ERRSIG 0000000000000000000000000000000000000000 19 8 00 1785883374 9 0000000000000000000000000000000000000000\n" +
		"[GNUPG:] TRUST_UNDEFINED 0 shell\n"
	if b.String() != want {
		t.Errorf("status lines:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestUsage checks the human side of the CLI in-process.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"gitsign", "--help"}, 0, "gpg.x509.program"},
		{[]string{"gitsign", "version"}, 0, "gitsign (waxseal)"},
		{[]string{"gitsign", "--version"}, 0, "devel"},
		{[]string{"gitsign", "frobnicate"}, 2, "unknown command"},
		{[]string{"gitsign"}, 2, "COMMANDS"},
		{[]string{"gitsign", "verify", "--help"}, 0, "--certificate-identity"},
		{[]string{"gitsign", "help", "verify"}, 0, "--allowed-signers"},
		{[]string{"gitsign", "verify", "--frob"}, 2, "flag provided but not defined"},
		{[]string{"gitsign", "verify", "--json=maybe"}, 2, "invalid"},
		{[]string{"gitsign", "-x"}, 2, "unknown option -x"},
		{[]string{"gitsign", "--verify", "sig"}, 2, "usage: gitsign --verify SIGFILE -"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errOut)
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.out) {
			t.Errorf("%v = %d\n%s%s", tc.args, code, out.String(), errOut.String())
		}
	}
}
