package ctlog

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
)

// noteSigner signs Tessera's checkpoints with the log's ECDSA key as a static-ct-api
// RFC6962NoteSignature (c2sp.org/static-ct-api): the signature is
//
//	struct { uint64 timestamp; TreeHeadSignature signature; } RFC6962NoteSignature;
//
// so a checkpoint carries the same information as an RFC 6962 get-sth response, and the
// key ID is SHA-256(name || "\n" || 0x05 || logID)[:4].
type noteSigner struct {
	name   string
	hash   uint32
	signer crypto.Signer
	logID  [32]byte
	now    func() time.Time
}

func noteKeyHash(name string, logID [32]byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', 0x05})
	h.Write(logID[:])
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return s.hash }

func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	lines := strings.Split(string(msg), "\n")
	// origin, size, root hash, then the empty string after the final newline; a checkpoint
	// with extension lines cannot be expressed as a TreeHeadSignature.
	if len(lines) != 4 || lines[3] != "" || lines[0] != s.name {
		return nil, errors.New("ctlog: checkpoint is not origin/size/hash")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return nil, errors.New("ctlog: checkpoint size is malformed")
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != sha256.Size {
		return nil, errors.New("ctlog: checkpoint root hash is malformed")
	}
	ts := uint64(s.now().UnixMilli())
	input, err := ct.SerializeSTHSignatureInput(ct.SignedTreeHead{
		Version:        ct.V1,
		TreeSize:       size,
		Timestamp:      ts,
		SHA256RootHash: ct.SHA256Hash(root),
	})
	if err != nil {
		return nil, err
	}
	d := sha256.Sum256(input)
	sig, err := s.signer.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	ds, err := cttls.Marshal(cttls.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, ts)
	b.Write(ds)
	return b.Bytes(), nil
}
