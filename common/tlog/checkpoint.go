package tlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint errors. A caller that reports which check failed branches on these.
var (
	ErrCheckpointSignature = errors.New("checkpoint signature does not verify")
	ErrCheckpointMalformed = errors.New("malformed checkpoint")
)

// CheckpointOrigin is the Rekor v1 origin line, "<hostname> - <treeID>".
func CheckpointOrigin(hostname string, treeID int64) string {
	return fmt.Sprintf("%s - %d", hostname, treeID)
}

// isV1Origin reports whether origin has Rekor v1's form, "<anything> - <digits>".
func isV1Origin(origin string) bool {
	i := strings.LastIndex(origin, " - ")
	if i < 0 || i+3 == len(origin) {
		return false
	}
	for _, c := range origin[i+3:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return !strings.ContainsAny(origin, "\n")
}

// KeyHint is the Rekor v1 note key hash: the first four bytes of
// SHA-256(DER SubjectPublicKeyInfo).
func KeyHint(pub crypto.PublicKey) (uint32, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return 0, err
	}
	s := sha256.Sum256(der)
	return binary.BigEndian.Uint32(s[:4]), nil
}

// noteKey implements note.Signer and note.Verifier for an ECDSA key the
// way Rekor v1 does: the signature is ASN.1 ECDSA over SHA-256 of the text.
type noteKey struct {
	name   string
	hint   uint32
	signer crypto.Signer
	pub    *ecdsa.PublicKey
}

func (k *noteKey) Name() string    { return k.name }
func (k *noteKey) KeyHash() uint32 { return k.hint }
func (k *noteKey) Sign(msg []byte) ([]byte, error) {
	d := sha256.Sum256(msg)
	return k.signer.Sign(rand.Reader, d[:], crypto.SHA256)
}
func (k *noteKey) Verify(msg, sig []byte) bool {
	d := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(k.pub, d[:], sig)
}

func newNoteKey(name string, pub crypto.PublicKey) (*noteKey, error) {
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("checkpoint key is %T, want ECDSA", pub)
	}
	hint, err := KeyHint(ec)
	if err != nil {
		return nil, err
	}
	return &noteKey{name: name, hint: hint, pub: ec}, nil
}

// SignCheckpoint returns a Rekor v1 checkpoint for a tree of the given size
// and root, signed by signer (an ECDSA key) under the name hostname.
func SignCheckpoint(signer crypto.Signer, hostname string, treeID int64, size uint64, root []byte) ([]byte, error) {
	k, err := newNoteKey(hostname, signer.Public())
	if err != nil {
		return nil, err
	}
	k.signer = signer
	text := fmt.Sprintf("%s\n%d\n%s\n", CheckpointOrigin(hostname, treeID), size, base64.StdEncoding.EncodeToString(root))
	return note.Sign(&note.Note{Text: text}, k)
}

// VerifyCheckpoint verifies a Rekor v1 checkpoint signed by pub and returns
// its origin, size and root hash. The signature line's name must be the
// origin's hostname; a checkpoint carrying any signature by another key is
// rejected, as Rekor's verifier does.
func VerifyCheckpoint(pub crypto.PublicKey, text []byte) (origin string, size uint64, root []byte, err error) {
	body, _, ok := bytes.Cut(text, []byte("\n"))
	if !ok {
		return "", 0, nil, ErrCheckpointMalformed
	}
	origin = string(body)
	if !isV1Origin(origin) {
		return "", 0, nil, fmt.Errorf("%w: origin %q is not \"<host> - <treeID>\"", ErrCheckpointMalformed, origin)
	}
	host := origin[:strings.LastIndex(origin, " - ")]
	k, err := newNoteKey(host, pub)
	if err != nil {
		return "", 0, nil, err
	}
	if err := canonicalSignatures(text); err != nil {
		return "", 0, nil, err
	}
	n, err := note.Open(text, note.VerifierList(k))
	if err != nil {
		var inv *note.InvalidSignatureError
		var unv *note.UnverifiedNoteError
		if errors.As(err, &inv) || errors.As(err, &unv) {
			return "", 0, nil, fmt.Errorf("%w: %v", ErrCheckpointSignature, err)
		}
		return "", 0, nil, fmt.Errorf("%w: %v", ErrCheckpointMalformed, err)
	}
	if len(n.UnverifiedSigs) != 0 {
		return "", 0, nil, fmt.Errorf("%w: carries a signature by another key (%s %08x)",
			ErrCheckpointSignature, n.UnverifiedSigs[0].Name, n.UnverifiedSigs[0].Hash)
	}
	origin, size, root, err = parseCheckpointText(n.Text)
	if err != nil {
		return "", 0, nil, err
	}
	return origin, size, root, nil
}

// canonicalSignatures rejects signature lines whose base64 is not in
// canonical form. The decoder note.Open uses ignores the unused low bits of
// the last character, so without this check one checkpoint would have
// several spellings that all verify.
func canonicalSignatures(text []byte) error {
	i := bytes.LastIndex(text, []byte("\n\n"))
	if i < 0 {
		return ErrCheckpointMalformed
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(text[i+2:]), "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "\u2014" {
			continue // note.Open reports malformed lines
		}
		if _, err := base64.StdEncoding.Strict().DecodeString(f[2]); err != nil {
			return fmt.Errorf("%w: signature is not canonical base64", ErrCheckpointSignature)
		}
	}
	return nil
}

// parseCheckpointText parses origin, size and root hash; further lines
// (Rekor's optional "other content") are allowed.
func parseCheckpointText(text string) (string, uint64, []byte, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return "", 0, nil, fmt.Errorf("%w: want origin, size and root lines", ErrCheckpointMalformed)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return "", 0, nil, fmt.Errorf("%w: bad size %q", ErrCheckpointMalformed, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != sha256.Size {
		return "", 0, nil, fmt.Errorf("%w: bad root hash %q", ErrCheckpointMalformed, lines[2])
	}
	return lines[0], size, root, nil
}
