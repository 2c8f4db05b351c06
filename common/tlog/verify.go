package tlog

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

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
