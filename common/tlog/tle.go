package tlog

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// TLE is a transparency-log entry as signatures carry it: the fields of
// dev.sigstore.rekor.v1.TransparencyLogEntry, which bundles hold as JSON and
// git's CMS signatures as protobuf wire bytes ([TLE.MarshalProto]).
//
// It is a plain struct so that verifiers need no protobuf runtime: the
// gitsign binary git runs once per signature starts noticeably faster
// without one. Package tlogpb converts to and from the protobuf type.
type TLE struct {
	LogIndex       int64
	LogID          []byte // SHA-256 of the log key's DER SPKI
	Kind, Version  string // of the body, e.g. "hashedrekord", "0.0.1"
	IntegratedTime int64
	SET            []byte // signed entry timestamp (inclusion promise); nil if absent
	Proof          *Proof // nil if absent
	Body           []byte // canonicalized body; git signatures leave it out
}

// Proof is an inclusion proof with the checkpoint it was made against.
type Proof struct {
	LogIndex   int64 // index in the shard's tree
	RootHash   []byte
	TreeSize   int64
	Hashes     [][]byte // leaf to root
	Checkpoint string   // signed note
}

// Clone returns a deep copy of t.
func (t *TLE) Clone() *TLE {
	c := *t
	c.LogID = bytes.Clone(t.LogID)
	c.SET = bytes.Clone(t.SET)
	c.Body = bytes.Clone(t.Body)
	if t.Proof != nil {
		p := *t.Proof
		p.RootHash = bytes.Clone(p.RootHash)
		p.Hashes = make([][]byte, len(t.Proof.Hashes))
		for i, h := range t.Proof.Hashes {
			p.Hashes[i] = bytes.Clone(h)
		}
		c.Proof = &p
	}
	return &c
}

// ToTLE converts a log entry as the Rekor API returns it into a [TLE], as
// Rekor's own conversion does.
func ToTLE(e LogEntryValue) (*TLE, error) {
	logID, err := hex.DecodeString(e.LogID)
	if err != nil {
		return nil, fmt.Errorf("log id %q: %v", e.LogID, err)
	}
	parsed, err := ParseBody(e.Body)
	if err != nil {
		return nil, err
	}
	tle := &TLE{
		LogIndex:       e.LogIndex,
		LogID:          logID,
		Kind:           parsed.Kind,
		Version:        parsed.APIVersion,
		IntegratedTime: e.IntegratedTime,
		Body:           e.Body,
	}
	if v := e.Verification; v != nil {
		if len(v.SignedEntryTimestamp) > 0 {
			tle.SET = v.SignedEntryTimestamp
		}
		if p := v.InclusionProof; p != nil {
			root, err := hex.DecodeString(p.RootHash)
			if err != nil {
				return nil, fmt.Errorf("inclusion proof root %q: %v", p.RootHash, err)
			}
			hashes := make([][]byte, len(p.Hashes))
			for i, h := range p.Hashes {
				if hashes[i], err = hex.DecodeString(h); err != nil {
					return nil, fmt.Errorf("inclusion proof hash %q: %v", h, err)
				}
			}
			tle.Proof = &Proof{LogIndex: p.LogIndex, RootHash: root, TreeSize: p.TreeSize, Hashes: hashes, Checkpoint: p.Checkpoint}
		}
	}
	return tle, nil
}

// VerifyTLE verifies a transparency log entry offline against the log keys
// it may come from, keyed by hex log ID: the SET if present, and the
// inclusion proof with its checkpoint if present. At least one of them is
// required. It returns the integration time, which is only trustworthy if the
// SET was present.
func VerifyTLE(tle *TLE, logs map[string]crypto.PublicKey, opts VerifyOptions) (time.Time, error) {
	logID := hex.EncodeToString(tle.LogID)
	pub, ok := logs[logID]
	if !ok {
		return time.Time{}, fmt.Errorf("%w: log id %s", ErrUnknownLog, logID)
	}
	if len(tle.Body) == 0 {
		return time.Time{}, errors.New("entry has no canonicalized body")
	}
	switch {
	case len(tle.SET) == 0 && tle.Proof == nil:
		return time.Time{}, ErrNoProof
	case tle.Proof == nil && opts.RequireInclusionProof:
		return time.Time{}, ErrProofRequired
	}
	if len(tle.SET) > 0 {
		if err := VerifySET(pub, tle.SET, tle.Body, tle.IntegratedTime, logID, tle.LogIndex); err != nil {
			return time.Time{}, err
		}
	}
	if tle.Proof != nil {
		if err := verifyProof(pub, tle.Body, tle.Proof); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(tle.IntegratedTime, 0), nil
}

func verifyProof(pub crypto.PublicKey, body []byte, p *Proof) error {
	if p.LogIndex < 0 || p.TreeSize <= 0 {
		return fmt.Errorf("%w: bad index %d or size %d", ErrBadInclusionProof, p.LogIndex, p.TreeSize)
	}
	if err := VerifyInclusion(uint64(p.LogIndex), uint64(p.TreeSize), LeafHash(body), p.Hashes, p.RootHash); err != nil {
		return err
	}
	_, size, root, err := VerifyCheckpoint(pub, []byte(p.Checkpoint))
	if err != nil {
		return err
	}
	if size != uint64(p.TreeSize) || !bytes.Equal(root, p.RootHash) {
		return fmt.Errorf("%w: checkpoint is size %d root %x, proof is size %d root %x",
			ErrCheckpointMismatch, size, root, p.TreeSize, p.RootHash)
	}
	return nil
}
