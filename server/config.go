package server

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/waxseal/waxseal/server/internal/ca"
)

// LoadIssuers reads the CA's OIDC issuers from a file in Fulcio's
// configuration format, so an existing Fulcio config works unchanged:
//
//	{"OIDCIssuers": {
//	   "https://accounts.google.com": {"IssuerURL": "https://accounts.google.com",
//	                                   "ClientID": "sigstore", "Type": "email"},
//	   "https://token.actions.githubusercontent.com": {
//	       "IssuerURL": "https://token.actions.githubusercontent.com",
//	       "ClientID": "sigstore", "Type": "github-workflow"}}}
//
// Type is one of email, github-workflow, uri or username; ClientID is the
// audience tokens must carry; SubjectDomain restricts uri and username
// identities.
func LoadIssuers(path string) ([]ca.Issuer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		OIDCIssuers map[string]struct {
			IssuerURL     string
			ClientID      string
			Type          string
			SubjectDomain string
		}
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.OIDCIssuers) == 0 {
		return nil, fmt.Errorf("%s: no OIDCIssuers", path)
	}
	var out []ca.Issuer
	for key, v := range f.OIDCIssuers {
		if v.IssuerURL == "" {
			v.IssuerURL = key
		}
		if v.ClientID == "" {
			v.ClientID = "sigstore"
		}
		out = append(out, ca.Issuer{URL: v.IssuerURL, ClientID: v.ClientID, Type: v.Type, SubjectDomain: v.SubjectDomain})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out, nil
}
