package tlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
)

// Entry kinds and the one version of each that this package speaks.
const (
	KindHashedRekord = "hashedrekord"
	KindDSSE         = "dsse"
	APIVersion       = "0.0.1"
)

// Size limits. A proposed entry may be larger than its canonical form
// (a DSSE envelope is replaced by its hash), but the canonical body is a
// Merkle leaf and must fit Tessera's 64 KiB entry limit.
const (
	MaxProposedSize = 1 << 20
	MaxBodySize     = 64 << 10
)

// ErrInvalidEntry is wrapped by every error that rejects a proposed entry or
// a body: malformed JSON, an unknown kind, a bad key, a signature that does
// not verify. A server answers it with 400.
var ErrInvalidEntry = errors.New("invalid entry")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidEntry, fmt.Sprintf(format, a...))
}

// Entry is a parsed, canonical log entry.
type Entry struct {
	Kind       string
	APIVersion string
	// Body is the canonical JSON: the Merkle leaf.
	Body []byte
	// IndexKeys are the search keys of the entry, lowercased: "sha256:<hex>"
	// of the artifact (or DSSE payload), the hex SHA-256 of each canonical
	// PEM key or certificate, and the email and URI SANs of certificates.
	IndexKeys []string

	// hashedrekord
	HashAlgorithm string // "sha256", "sha384" or "sha512"
	Digest        []byte
	Signature     []byte
	PublicKey     []byte // canonical PEM: a CERTIFICATE or a PUBLIC KEY block

	// dsse
	PayloadHash    []byte // SHA-256 of the DSSE payload
	EnvelopeHash   []byte // SHA-256 of the envelope JSON as submitted
	DSSESignatures []DSSESignature
}

// DSSESignature is one signature of a dsse entry with the key that verified it.
type DSSESignature struct {
	Signature []byte
	Verifier  []byte // canonical PEM
}

// UUID is the hex leaf hash of the entry.
func (e *Entry) UUID() string { return hex.EncodeToString(LeafHash(e.Body)) }

// LeafHash is the RFC 6962 leaf hash SHA-256(0x00 || body).
func LeafHash(body []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
}

// EntryID is the 80-hex-digit Rekor entry ID: the tree ID as 16 hex digits
// followed by the UUID.
func EntryID(treeID int64, uuid string) string {
	return fmt.Sprintf("%016x%s", uint64(treeID), uuid)
}

// SplitEntryID accepts a 64-hex UUID or an 80-hex entry ID and returns the
// UUID, lowercased.
func SplitEntryID(id string) (uuid string, err error) {
	id = strings.ToLower(id)
	switch len(id) {
	case 64, 80:
	default:
		return "", fmt.Errorf("entry id %q: want 64 or 80 hex digits", id)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", fmt.Errorf("entry id %q: not hex", id)
	}
	return id[len(id)-64:], nil
}

// Wire shapes. The field order does not matter: JCS sorts keys.

type hashValue struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

type hashedRekordJSON struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Data struct {
			Hash *hashValue `json:"hash,omitempty"`
		} `json:"data"`
		Signature struct {
			Content   []byte `json:"content,omitempty"`
			PublicKey struct {
				Content []byte `json:"content,omitempty"`
			} `json:"publicKey"`
		} `json:"signature"`
	} `json:"spec"`
}

type dsseSigJSON struct {
	Signature string `json:"signature"`
	Verifier  []byte `json:"verifier"`
}

type dsseJSON struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		ProposedContent *struct {
			Envelope  string   `json:"envelope"`
			Verifiers [][]byte `json:"verifiers"`
		} `json:"proposedContent,omitempty"`
		EnvelopeHash *hashValue    `json:"envelopeHash,omitempty"`
		PayloadHash  *hashValue    `json:"payloadHash,omitempty"`
		Signatures   []dsseSigJSON `json:"signatures,omitempty"`
	} `json:"spec"`
}

// Envelope is a DSSE envelope.
type Envelope struct {
	PayloadType string `json:"payloadType"`
	Payload     []byte `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid,omitempty"`
		Sig   string `json:"sig"`
	} `json:"signatures"`
}

// PAE is the DSSE v1 pre-authentication encoding that signatures cover.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	b.Write(payload)
	return b.Bytes()
}

var hashLen = map[string]int{"sha256": 32, "sha384": 48, "sha512": 64}
var hashFunc = map[string]crypto.Hash{"sha256": crypto.SHA256, "sha384": crypto.SHA384, "sha512": crypto.SHA512}

// NewHashedRekord returns the proposed-entry JSON for a hashedrekord 0.0.1:
// a signature over a digest, with the PEM certificate or public key that
// verifies it. alg is "sha256", "sha384" or "sha512".
func NewHashedRekord(alg string, digest, sig, certOrKeyPEM []byte) ([]byte, error) {
	var h hashedRekordJSON
	h.APIVersion, h.Kind = APIVersion, KindHashedRekord
	h.Spec.Data.Hash = &hashValue{Algorithm: alg, Value: hex.EncodeToString(digest)}
	h.Spec.Signature.Content = sig
	h.Spec.Signature.PublicKey.Content = certOrKeyPEM
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if _, err := canonicalHashedRekord(b, false); err != nil {
		return nil, err
	}
	return b, nil
}

// NewDSSE returns the proposed-entry JSON for a dsse 0.0.1 entry: the
// envelope as submitted and the PEM keys or certificates of its signers.
func NewDSSE(envelopeJSON []byte, verifierPEMs ...[]byte) ([]byte, error) {
	var d dsseJSON
	d.APIVersion, d.Kind = APIVersion, KindDSSE
	d.Spec.ProposedContent = &struct {
		Envelope  string   `json:"envelope"`
		Verifiers [][]byte `json:"verifiers"`
	}{Envelope: string(envelopeJSON), Verifiers: verifierPEMs}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	if _, err := canonicalDSSE(b, false); err != nil {
		return nil, err
	}
	return b, nil
}

// Canonicalize validates a proposed entry, including its signatures, and
// returns its canonical form. Errors wrap [ErrInvalidEntry].
func Canonicalize(proposed []byte) (*Entry, error) {
	if len(proposed) > MaxProposedSize {
		return nil, invalid("entry of %d bytes exceeds %d", len(proposed), MaxProposedSize)
	}
	// Most entries are hashedrekords: try parsing one in a single pass. A
	// document that does not decode as one, or names another kind, takes
	// the general path, which reports the same errors as before.
	var h hashedRekordJSON
	if json.Unmarshal(proposed, &h) == nil && h.Kind == KindHashedRekord && h.APIVersion == APIVersion {
		e, err := hashedRekordFrom(&h, false)
		if err != nil {
			return nil, err
		}
		if len(e.Body) > MaxBodySize {
			return nil, invalid("canonical entry of %d bytes exceeds %d", len(e.Body), MaxBodySize)
		}
		return e, nil
	}
	kind, version, err := peekKind(proposed)
	if err != nil {
		return nil, err
	}
	var e *Entry
	switch {
	case kind == KindHashedRekord && version == APIVersion:
		e, err = canonicalHashedRekord(proposed, false)
	case kind == KindDSSE && version == APIVersion:
		e, err = canonicalDSSE(proposed, false)
	default:
		return nil, invalid("unsupported kind %q version %q", kind, version)
	}
	if err != nil {
		return nil, err
	}
	if len(e.Body) > MaxBodySize {
		return nil, invalid("canonical entry of %d bytes exceeds %d", len(e.Body), MaxBodySize)
	}
	return e, nil
}

// ParseBody parses a canonical body as found in a log entry or a bundle. It
// checks its structure and keys, but not its signatures: a verifier compares
// the parsed fields with what it is verifying. Errors wrap [ErrInvalidEntry].
func ParseBody(body []byte) (*Entry, error) {
	if len(body) > MaxBodySize {
		return nil, invalid("body of %d bytes exceeds %d", len(body), MaxBodySize)
	}
	var h hashedRekordJSON
	if json.Unmarshal(body, &h) == nil && h.Kind == KindHashedRekord && h.APIVersion == APIVersion {
		e, err := hashedRekordFrom(&h, true)
		if err != nil {
			return nil, err
		}
		e.Body = slices.Clone(body)
		return e, nil
	}
	kind, version, err := peekKind(body)
	if err != nil {
		return nil, err
	}
	var e *Entry
	switch {
	case kind == KindHashedRekord && version == APIVersion:
		e, err = canonicalHashedRekord(body, true)
	case kind == KindDSSE && version == APIVersion:
		e, err = canonicalDSSE(body, true)
	default:
		return nil, invalid("unsupported kind %q version %q", kind, version)
	}
	if err != nil {
		return nil, err
	}
	e.Body = slices.Clone(body)
	return e, nil
}

func peekKind(b []byte) (kind, version string, err error) {
	var p struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return "", "", invalid("parsing entry: %v", err)
	}
	return p.Kind, p.APIVersion, nil
}

func jcs(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsoncanonicalizer.Transform(b)
}

// parseKey parses a PEM certificate or public key and returns the key, the
// certificate if any and the canonical PEM re-encoding.
func parseKey(b []byte) (crypto.PublicKey, *x509.Certificate, []byte, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, nil, nil, invalid("key is not PEM")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, nil, nil, invalid("trailing data after PEM block")
	}
	switch block.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, nil, invalid("parsing certificate: %v", err)
		}
		if err := checkKey(c.PublicKey); err != nil {
			return nil, nil, nil, err
		}
		return c.PublicKey, c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), nil
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, nil, nil, invalid("parsing public key: %v", err)
		}
		if err := checkKey(k); err != nil {
			return nil, nil, nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return nil, nil, nil, invalid("re-encoding public key: %v", err)
		}
		return k, nil, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
	default:
		return nil, nil, nil, invalid("unsupported PEM type %q", block.Type)
	}
}

func checkKey(k crypto.PublicKey) error {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256, 384, 521:
			return nil
		}
		return invalid("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return invalid("RSA key of %d bits is too small", k.N.BitLen())
		}
		return nil
	case ed25519.PublicKey:
		return nil
	}
	return invalid("unsupported key type %T", k)
}

// keyIndexKeys returns the key hash and the certificate's identities.
func keyIndexKeys(canonicalPEM []byte, c *x509.Certificate) []string {
	sum := sha256.Sum256(canonicalPEM)
	keys := []string{hex.EncodeToString(sum[:])}
	if c != nil {
		for _, e := range c.EmailAddresses {
			keys = append(keys, strings.ToLower(e))
		}
		for _, u := range c.URIs {
			keys = append(keys, strings.ToLower(u.String()))
		}
	}
	return keys
}

// PublicKeyIndexKey is the search key of a PEM (or DER) certificate or
// public key: the hex SHA-256 of its canonical PEM.
func PublicKeyIndexKey(content []byte) (string, error) {
	if !bytes.Contains(content, []byte("-----BEGIN")) {
		if c, err := x509.ParseCertificate(content); err == nil {
			content = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		} else {
			content = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: content})
		}
	}
	_, _, canon, err := parseKey(content)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

func canonicalHashedRekord(b []byte, parseOnly bool) (*Entry, error) {
	var h hashedRekordJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&h); err != nil {
		return nil, invalid("parsing hashedrekord: %v", err)
	}
	return hashedRekordFrom(&h, parseOnly)
}

// hashedRekordFrom validates a decoded hashedrekord and, unless parseOnly,
// verifies its signature and computes its canonical body.
func hashedRekordFrom(h *hashedRekordJSON, parseOnly bool) (*Entry, error) {
	hv := h.Spec.Data.Hash
	if hv == nil {
		return nil, invalid("hashedrekord: missing spec.data.hash")
	}
	n, ok := hashLen[hv.Algorithm]
	if !ok {
		return nil, invalid("hashedrekord: unsupported hash algorithm %q", hv.Algorithm)
	}
	digest, err := hex.DecodeString(hv.Value)
	if err != nil || len(digest) != n || strings.ToLower(hv.Value) != hv.Value {
		return nil, invalid("hashedrekord: hash value must be %d lowercase hex bytes", n)
	}
	sig := h.Spec.Signature.Content
	if len(sig) == 0 {
		return nil, invalid("hashedrekord: missing signature")
	}
	pk, err := parseKeyCached(h.Spec.Signature.PublicKey.Content)
	if err != nil {
		return nil, err
	}
	if !parseOnly {
		if err := verifyDigest(pk.pub, hv.Algorithm, digest, sig); err != nil {
			return nil, err
		}
	}
	canon := slices.Clone(pk.canon) // the cached one is shared
	h.Spec.Signature.PublicKey.Content = canon
	var body []byte // ParseBody keeps the bytes it was given
	if !parseOnly {
		var ok bool
		if body, ok = hashedRekordBody(h); !ok {
			if body, err = jcs(h); err != nil {
				return nil, err
			}
		}
	}
	keys := make([]string, 0, len(pk.keys)+1)
	keys = append(append(keys, pk.keys...), hv.Algorithm+":"+hv.Value)
	return &Entry{
		Kind: KindHashedRekord, APIVersion: APIVersion, Body: body, IndexKeys: dedup(keys),
		HashAlgorithm: hv.Algorithm, Digest: digest, Signature: sig, PublicKey: canon,
	}, nil
}

// hashedRekordBody writes the JCS form of a hashedrekord directly, without
// the generic canonicalizer: the keys below are in JCS order, base64 needs
// no escaping, and the other strings are taken only if they are printable
// ASCII without '"' or '\' (JCS then copies them as they are). Otherwise
// it returns false and the caller uses the generic path.
// TestHashedRekordBodyIsJCS and FuzzHashedRekordBody hold it to jcs.
func hashedRekordBody(h *hashedRekordJSON) ([]byte, bool) {
	hv := h.Spec.Data.Hash
	sig, key := h.Spec.Signature.Content, h.Spec.Signature.PublicKey.Content
	if hv == nil || len(sig) == 0 || len(key) == 0 ||
		!plainJSONString(h.APIVersion) || !plainJSONString(h.Kind) ||
		!plainJSONString(hv.Algorithm) || !plainJSONString(hv.Value) {
		return nil, false
	}
	enc := base64.StdEncoding
	n := 140 + len(h.APIVersion) + len(h.Kind) + len(hv.Algorithm) + len(hv.Value) +
		enc.EncodedLen(len(sig)) + enc.EncodedLen(len(key))
	b := make([]byte, 0, n)
	b = append(b, `{"apiVersion":"`...)
	b = append(b, h.APIVersion...)
	b = append(b, `","kind":"`...)
	b = append(b, h.Kind...)
	b = append(b, `","spec":{"data":{"hash":{"algorithm":"`...)
	b = append(b, hv.Algorithm...)
	b = append(b, `","value":"`...)
	b = append(b, hv.Value...)
	b = append(b, `"}},"signature":{"content":"`...)
	b = enc.AppendEncode(b, sig)
	b = append(b, `","publicKey":{"content":"`...)
	b = enc.AppendEncode(b, key)
	b = append(b, `"}}}}`...)
	return b, true
}

// plainJSONString reports whether s is printable ASCII other than '"' and
// '\': a JSON string that JCS writes back byte for byte.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func verifyDigest(pub crypto.PublicKey, alg string, digest, sig []byte) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(k, digest, sig) {
			return nil
		}
	case *rsa.PublicKey:
		h := hashFunc[alg]
		if rsa.VerifyPKCS1v15(k, h, digest, sig) == nil {
			return nil
		}
		if rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil {
			return nil
		}
	case ed25519.PublicKey:
		if alg != "sha512" {
			return invalid("hashedrekord: Ed25519 keys sign SHA-512 digests (Ed25519ph), got %s", alg)
		}
		if ed25519.VerifyWithOptions(k, digest, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil {
			return nil
		}
	}
	return invalid("signature does not verify against the entry's key")
}

// verifyMessage verifies a signature over a whole message, hashing it as
// Sigstore does for the key type (SHA-256 for P-256 and RSA, SHA-384 for
// P-384, SHA-512 for P-521; Ed25519 signs the message itself).
func verifyMessage(pub crypto.PublicKey, msg, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var d []byte
		switch k.Curve.Params().BitSize {
		case 384:
			s := sha512.Sum384(msg)
			d = s[:]
		case 521:
			s := sha512.Sum512(msg)
			d = s[:]
		default:
			s := sha256.Sum256(msg)
			d = s[:]
		}
		return ecdsa.VerifyASN1(k, d, sig)
	case *rsa.PublicKey:
		s := sha256.Sum256(msg)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, s[:], sig) == nil ||
			rsa.VerifyPSS(k, crypto.SHA256, s[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	}
	return false
}

func canonicalDSSE(b []byte, parseOnly bool) (*Entry, error) {
	var d dsseJSON
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, invalid("parsing dsse: %v", err)
	}
	e := &Entry{Kind: KindDSSE, APIVersion: APIVersion}
	var keys []string
	if parseOnly {
		if d.Spec.ProposedContent != nil {
			return nil, invalid("dsse: canonical body carries proposedContent")
		}
		for _, hv := range []*hashValue{d.Spec.EnvelopeHash, d.Spec.PayloadHash} {
			if hv == nil || hv.Algorithm != "sha256" {
				return nil, invalid("dsse: missing or non-sha256 envelopeHash/payloadHash")
			}
			if v, err := hex.DecodeString(hv.Value); err != nil || len(v) != 32 {
				return nil, invalid("dsse: bad hash value %q", hv.Value)
			}
		}
		e.EnvelopeHash, _ = hex.DecodeString(d.Spec.EnvelopeHash.Value)
		e.PayloadHash, _ = hex.DecodeString(d.Spec.PayloadHash.Value)
		if len(d.Spec.Signatures) == 0 {
			return nil, invalid("dsse: no signatures")
		}
		for _, s := range d.Spec.Signatures {
			sig, err := base64.StdEncoding.DecodeString(s.Signature)
			if err != nil {
				return nil, invalid("dsse: signature is not base64")
			}
			_, cert, canon, err := parseKey(s.Verifier)
			if err != nil {
				return nil, err
			}
			keys = append(keys, keyIndexKeys(canon, cert)...)
			e.DSSESignatures = append(e.DSSESignatures, DSSESignature{Signature: sig, Verifier: canon})
		}
		keys = append(keys, "sha256:"+d.Spec.PayloadHash.Value)
		e.IndexKeys = dedup(keys)
		return e, nil
	}

	pc := d.Spec.ProposedContent
	if pc == nil || d.Spec.EnvelopeHash != nil || d.Spec.PayloadHash != nil || d.Spec.Signatures != nil {
		return nil, invalid("dsse: want spec.proposedContent only")
	}
	var env Envelope
	if err := json.Unmarshal([]byte(pc.Envelope), &env); err != nil {
		return nil, invalid("dsse: parsing envelope: %v", err)
	}
	if env.PayloadType == "" || len(env.Signatures) == 0 || len(pc.Verifiers) == 0 {
		return nil, invalid("dsse: envelope needs a payloadType, signatures and verifiers")
	}
	type verifier struct {
		pub   crypto.PublicKey
		canon []byte
	}
	var vs []verifier
	for _, v := range pc.Verifiers {
		pub, cert, canon, err := parseKey(v)
		if err != nil {
			return nil, err
		}
		vs = append(vs, verifier{pub, canon})
		keys = append(keys, keyIndexKeys(canon, cert)...)
	}
	pae := PAE(env.PayloadType, env.Payload)
	var sigs []dsseSigJSON
	for i, s := range env.Signatures {
		raw, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			return nil, invalid("dsse: signature %d is not base64", i)
		}
		found := false
		for _, v := range vs {
			if verifyMessage(v.pub, pae, raw) {
				sigs = append(sigs, dsseSigJSON{Signature: s.Sig, Verifier: v.canon})
				e.DSSESignatures = append(e.DSSESignatures, DSSESignature{Signature: raw, Verifier: v.canon})
				found = true
				break
			}
		}
		if !found {
			return nil, invalid("dsse: signature %d does not verify against any verifier", i)
		}
	}
	slices.SortFunc(sigs, func(a, b dsseSigJSON) int { return strings.Compare(a.Signature, b.Signature) })
	envSum := sha256.Sum256([]byte(pc.Envelope))
	paySum := sha256.Sum256(env.Payload)
	d.Spec.ProposedContent = nil
	d.Spec.EnvelopeHash = &hashValue{"sha256", hex.EncodeToString(envSum[:])}
	d.Spec.PayloadHash = &hashValue{"sha256", hex.EncodeToString(paySum[:])}
	d.Spec.Signatures = sigs
	body, err := jcs(d)
	if err != nil {
		return nil, err
	}
	keys = append(keys, "sha256:"+d.Spec.PayloadHash.Value)
	keys = append(keys, inTotoSubjectKeys(env)...)
	e.Body = body
	e.EnvelopeHash, e.PayloadHash = envSum[:], paySum[:]
	e.IndexKeys = dedup(keys)
	return e, nil
}

// inTotoSubjectKeys indexes the subject digests of an in-toto statement.
func inTotoSubjectKeys(env Envelope) []string {
	if env.PayloadType != "application/vnd.in-toto+json" {
		return nil
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if json.Unmarshal(env.Payload, &st) != nil {
		return nil
	}
	var keys []string
	for _, s := range st.Subject {
		for alg, v := range s.Digest {
			if _, ok := hashLen[alg]; ok {
				keys = append(keys, alg+":"+strings.ToLower(v))
			}
		}
	}
	return keys
}

func dedup(keys []string) []string {
	for i := range keys {
		keys[i] = strings.ToLower(keys[i])
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// NormalizeHashKey turns a search hash ("sha256:<hex>" or bare hex) into an
// index key.
func NormalizeHashKey(h string) (string, error) {
	h = strings.ToLower(h)
	alg, v, ok := strings.Cut(h, ":")
	if !ok {
		alg, v = "sha256", h
	}
	n, known := hashLen[alg]
	if b, err := hex.DecodeString(v); !known || err != nil || len(b) != n {
		return "", fmt.Errorf("hash %q: want <alg>:<hex> with alg sha256, sha384 or sha512", h)
	}
	return alg + ":" + v, nil
}
