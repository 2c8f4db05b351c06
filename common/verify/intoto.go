package verify

import (
	"crypto"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/waxseal/waxseal/common/dsse"
)

// checkSubject checks that an in-toto statement names the artifact among its
// subjects, by a digest of an algorithm we can compute.
func checkSubject(payloadType string, payload []byte, art Artifact) error {
	if payloadType != dsse.InTotoPayloadType {
		return fail(CheckArtifact, "payload type %q is not an in-toto statement, so it names no artifact", payloadType)
	}
	var st struct {
		Type    string `json:"_type"`
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return fail(CheckArtifact, "in-toto statement: %v", err)
	}
	if !strings.HasPrefix(st.Type, "https://in-toto.io/Statement/") {
		return fail(CheckArtifact, "in-toto statement has _type %q", st.Type)
	}
	want := map[string]crypto.Hash{"sha256": crypto.SHA256, "sha384": crypto.SHA384, "sha512": crypto.SHA512}
	digests := map[string]string{}
	if art.Reader != nil {
		// One pass over the artifact: SHA-256 is what statements carry.
		d, err := artifactDigest(art, crypto.SHA256)
		if err != nil {
			return err
		}
		digests["sha256"] = hex.EncodeToString(d)
	} else {
		for name, h := range want {
			if h == art.Hash {
				digests[name] = hex.EncodeToString(art.Digest)
			}
		}
	}
	for _, s := range st.Subject {
		for alg, v := range s.Digest {
			if d, ok := digests[strings.ToLower(alg)]; ok && strings.EqualFold(v, d) {
				return nil
			}
		}
	}
	return fail(CheckArtifact, "the artifact is not a subject of the in-toto statement")
}
