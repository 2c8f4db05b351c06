package trust

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/waxseal/waxseal/internal/atomicfile"
)

// Environment variables through which sigstore's own tools (cosign,
// sigstore's gitsign) take trust material as PEM files.
const (
	EnvRootFile  = "SIGSTORE_ROOT_FILE"              // CA certificates
	EnvRekorKey  = "SIGSTORE_REKOR_PUBLIC_KEY"       // transparency log keys
	EnvCTLogKeys = "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE" // certificate-transparency log keys
)

// ExportPEM writes r's CA certificates and log keys into dir as the PEM
// files sigstore's tools read: fulcio.pem, rekor.pub and ctfe.pub. It
// returns their paths by the variable that names each, and what the files
// cannot say.
//
// A PEM file carries no validity window, and those tools read only the
// first key of a key file. So the key files hold the logs current at now,
// the most recently started first, and a log the root has retired is left
// out: exported, its key would be trusted for ever. fulcio.pem holds every
// CA, since signatures made under a retired CA still need its chain.
// Nothing is written unless all three files have something in them.
func ExportPEM(r *Root, dir string, now time.Time) (paths map[string]string, warnings []string, err error) {
	var certs []byte
	for _, ca := range r.CAs {
		for _, c := range ca.Chain {
			certs = append(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		if !ca.ValidFor.End.IsZero() {
			warnings = append(warnings, fmt.Sprintf("the CA %s was trusted until %s; fulcio.pem cannot say so, and tools reading it trust the CA for certificates of any date",
				ca.URI, ca.ValidFor.End.Format(time.DateOnly)))
		}
	}
	keys := func(what, file string, logs []Log) ([]byte, error) {
		var current []Log
		for _, l := range logs {
			if l.ValidFor.Contains(now) {
				current = append(current, l)
			}
		}
		slices.SortStableFunc(current, func(a, b Log) int { return b.ValidFor.Start.Compare(a.ValidFor.Start) })
		if len(current) > 1 {
			warnings = append(warnings, fmt.Sprintf("%d %s are current; sigstore's tools read only the first key in %s, %s's", len(current), what, file, current[0].BaseURL))
		}
		var out []byte
		for _, l := range current {
			der, err := x509.MarshalPKIXPublicKey(l.Key)
			if err != nil {
				return nil, fmt.Errorf("trust: %s key: %w", l.BaseURL, err)
			}
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
		}
		return out, nil
	}
	tlogs, err := keys("transparency logs", "rekor.pub", r.TLogs)
	if err != nil {
		return nil, nil, err
	}
	ctlogs, err := keys("certificate-transparency logs", "ctfe.pub", r.CTLogs)
	if err != nil {
		return nil, nil, err
	}
	files := []struct {
		env, name, what string
		body            []byte
	}{
		{EnvRootFile, "fulcio.pem", "no certificate authority", certs},
		{EnvRekorKey, "rekor.pub", "no transparency log current at " + now.UTC().Format(time.RFC3339), tlogs},
		{EnvCTLogKeys, "ctfe.pub", "no certificate-transparency log current at " + now.UTC().Format(time.RFC3339), ctlogs},
	}
	for _, f := range files {
		if len(f.body) == 0 {
			return nil, nil, fmt.Errorf("trust: the trusted root lists %s: nothing exported", f.what)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, nil, err
	}
	paths = map[string]string{}
	for _, f := range files {
		p := filepath.Join(abs, f.name)
		if err := atomicfile.Write(p, f.body, 0o644); err != nil {
			return nil, nil, err
		}
		paths[f.env] = p
	}
	return paths, warnings, nil
}
