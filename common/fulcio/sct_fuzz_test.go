package fulcio

import (
	"bytes"
	"encoding/binary"
	"testing"

	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// sctListSeeds are real TLS-encoded SCT lists: from generated certificates (ECDSA and
// RSA logs, SCT extensions, several SCTs) and from the public-good certificates.
func sctListSeeds(t testing.TB) [][]byte {
	ca := newTestCA(t, "ca", nil)
	ecLog, rsaLog := newTestLog(t, false), newTestLog(t, true)
	var leaves []*issued
	leaves = append(leaves,
		issue(t, ca, leafTemplate(false), nowMillis(), nil, ecLog),
		issue(t, ca, leafTemplate(false), nowMillis(), []byte{0, 0, 5, 0, 0, 0, 0, 0, 1}, rsaLog, ecLog))
	var seeds [][]byte
	add := func(ext []byte) {
		in := cryptobyte.String(ext)
		var list cryptobyte.String
		if !in.ReadASN1(&list, cbasn1.OCTET_STRING) {
			t.Fatal("seed is not an OCTET STRING")
		}
		seeds = append(seeds, list)
	}
	for _, is := range leaves {
		for _, e := range is.leaf.Extensions {
			if e.Id.Equal(oidSCTList) {
				add(e.Value)
			}
		}
	}
	for _, name := range []string{"347014354ef1632fd0bcf69189a99ba6295f0f25.commit", "138f9d7cb3097a5f04192621a186e54f86390df0.tag"} {
		for _, e := range signatureLeaf(t, name).Extensions {
			if e.Id.Equal(oidSCTList) {
				add(e.Value)
			}
		}
	}
	return seeds
}

// FuzzParseSCTList checks that parseSCTList never panics and agrees with
// certificate-transparency-go on what is a valid SCT list and what it holds.
func FuzzParseSCTList(f *testing.F) {
	for _, s := range sctListSeeds(f) {
		f.Add(s)
		f.Add(s[:len(s)-1])
		f.Add(append(bytes.Clone(s), 0))
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 2, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ours, err := parseSCTList(b)
		if err == nil && len(ours) == 0 {
			t.Fatal("no error and no SCTs")
		}

		// certificate-transparency-go caps the list at 65335 bytes (sic, not 65535).
		if len(b) >= 2 && binary.BigEndian.Uint16(b) > 65335 {
			return
		}
		var list ctx509.SignedCertificateTimestampList
		rest, ctErr := cttls.Unmarshal(b, &list)
		if ctErr == nil && len(rest) > 0 {
			return // we reject trailing data; ct-go's caller does too
		}
		if ctErr == nil {
			theirs, ctErr := ctx509util.ParseSCTsFromSCTList(&list)
			if (err == nil) != (ctErr == nil) {
				t.Fatalf("we say %v, ct-go says %v", err, ctErr)
			}
			if err != nil {
				return
			}
			if len(ours) != len(theirs) {
				t.Fatalf("%d SCTs, ct-go %d", len(ours), len(theirs))
			}
			for i := range ours {
				sameSCT(t, &ours[i], theirs[i])
			}
			return
		}
		if err == nil {
			t.Fatalf("we parse %d SCTs, ct-go says %v", len(ours), ctErr)
		}
	})
}

// FuzzPrecertTBS checks that precertTBS never panics on a mutated TBSCertificate and,
// when it succeeds, removes exactly one SCT list extension.
func FuzzPrecertTBS(f *testing.F) {
	ca := newTestCA(f, "ca", nil)
	log := newTestLog(f, false)
	f.Add(issue(f, ca, leafTemplate(false), nowMillis(), nil, log).leaf.RawTBSCertificate)
	f.Add(signatureLeaf(f, "347014354ef1632fd0bcf69189a99ba6295f0f25.commit").RawTBSCertificate)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := precertTBS(b)
		if err != nil {
			return
		}
		if _, err := precertTBS(out); err == nil {
			t.Fatal("the rebuilt TBSCertificate still has an SCT list")
		}
		if len(out) >= len(b) {
			t.Fatalf("removing the SCT list did not shrink the TBSCertificate (%d -> %d bytes)", len(b), len(out))
		}
	})
}
