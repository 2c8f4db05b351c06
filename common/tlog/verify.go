package tlog

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Verification errors of [VerifyTLE], one per check, so that a caller can
// say which check failed. Checkpoint errors are [ErrCheckpointSignature] and
// [ErrCheckpointMalformed]; SET errors wrap [ErrBadSET].
var (
	ErrUnknownLog         = errors.New("entry is from a log not in the trusted root")
	ErrBadInclusionProof  = errors.New("inclusion proof does not verify")
	ErrCheckpointMismatch = errors.New("checkpoint does not match the inclusion proof")
	ErrNoProof            = errors.New("entry has neither a signed entry timestamp nor an inclusion proof")
	ErrProofRequired      = errors.New("entry has no inclusion proof")
)

// LogID is the Rekor log ID of a key: SHA-256 of its DER SPKI.
func LogID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	s := sha256.Sum256(der)
	return s[:], nil
}

// VerifyInclusion verifies an RFC 6962 inclusion proof of the leaf with the
// given hash.
func VerifyInclusion(index, size uint64, leafHash []byte, hashes [][]byte, root []byte) error {
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leafHash, hashes, root); err != nil {
		return fmt.Errorf("%w: %v", ErrBadInclusionProof, err)
	}
	return nil
}

// VerifyConsistency verifies an RFC 6962 consistency proof between two tree heads.
func VerifyConsistency(size1, size2 uint64, hashes [][]byte, root1, root2 []byte) error {
	return proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, hashes, root1, root2)
}

// VerifyOptions tune [VerifyTLE].
type VerifyOptions struct {
	// RequireInclusionProof rejects entries without an inclusion proof;
	// bundles v0.2 and later require one.
	RequireInclusionProof bool
}

// VerifyTLE verifies a transparency log entry offline against the log keys
// it may come from, keyed by hex log ID: the SET if present, and the
// inclusion proof with its checkpoint if present. At least one of them is
// required. It returns the integration time, which is only trustworthy if the
// SET was present.
func VerifyTLE(tle *rekorv1.TransparencyLogEntry, logs map[string]crypto.PublicKey, opts VerifyOptions) (time.Time, error) {
	logID := hex.EncodeToString(tle.GetLogId().GetKeyId())
	pub, ok := logs[logID]
	if !ok {
		return time.Time{}, fmt.Errorf("%w: log id %s", ErrUnknownLog, logID)
	}
	body := tle.GetCanonicalizedBody()
	if len(body) == 0 {
		return time.Time{}, errors.New("entry has no canonicalized body")
	}
	set := tle.GetInclusionPromise().GetSignedEntryTimestamp()
	p := tle.GetInclusionProof()
	switch {
	case len(set) == 0 && p == nil:
		return time.Time{}, ErrNoProof
	case p == nil && opts.RequireInclusionProof:
		return time.Time{}, ErrProofRequired
	}
	if len(set) > 0 {
		if err := VerifySET(pub, set, body, tle.GetIntegratedTime(), logID, tle.GetLogIndex()); err != nil {
			return time.Time{}, err
		}
	}
	if p != nil {
		if err := verifyProof(pub, body, p); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(tle.GetIntegratedTime(), 0), nil
}

func verifyProof(pub crypto.PublicKey, body []byte, p *rekorv1.InclusionProof) error {
	if p.GetLogIndex() < 0 || p.GetTreeSize() <= 0 {
		return fmt.Errorf("%w: bad index %d or size %d", ErrBadInclusionProof, p.GetLogIndex(), p.GetTreeSize())
	}
	if err := VerifyInclusion(uint64(p.GetLogIndex()), uint64(p.GetTreeSize()), LeafHash(body), p.GetHashes(), p.GetRootHash()); err != nil {
		return err
	}
	_, size, root, err := VerifyCheckpoint(pub, []byte(p.GetCheckpoint().GetEnvelope()))
	if err != nil {
		return err
	}
	if size != uint64(p.GetTreeSize()) || !bytes.Equal(root, p.GetRootHash()) {
		return fmt.Errorf("%w: checkpoint is size %d root %x, proof is size %d root %x",
			ErrCheckpointMismatch, size, root, p.GetTreeSize(), p.GetRootHash())
	}
	return nil
}
