// Package tlogpb converts transparency-log entries between tlog's plain
// [tlog.TLE] and the protobuf-specs message that Sigstore bundles carry. It
// is apart from tlog so that programs that never handle bundles (gitsign)
// do not link the protobuf runtime.
package tlogpb

import (
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/waxseal/waxseal/common/tlog"
)

// ToPB converts a log entry into the protobuf-specs message, as bundles carry it.
func ToPB(t *tlog.TLE) *rekorv1.TransparencyLogEntry {
	e := &rekorv1.TransparencyLogEntry{LogIndex: t.LogIndex, IntegratedTime: t.IntegratedTime, CanonicalizedBody: t.Body}
	if t.LogID != nil {
		e.LogId = &protocommon.LogId{KeyId: t.LogID}
	}
	if t.Kind != "" || t.Version != "" {
		e.KindVersion = &rekorv1.KindVersion{Kind: t.Kind, Version: t.Version}
	}
	if t.SET != nil {
		e.InclusionPromise = &rekorv1.InclusionPromise{SignedEntryTimestamp: t.SET}
	}
	if p := t.Proof; p != nil {
		e.InclusionProof = &rekorv1.InclusionProof{LogIndex: p.LogIndex, RootHash: p.RootHash, TreeSize: p.TreeSize, Hashes: p.Hashes,
			Checkpoint: &rekorv1.Checkpoint{Envelope: p.Checkpoint}}
	}
	return e
}

// FromPB is the inverse of [ToPB].
func FromPB(e *rekorv1.TransparencyLogEntry) *tlog.TLE {
	t := &tlog.TLE{LogIndex: e.GetLogIndex(), IntegratedTime: e.GetIntegratedTime(), Body: e.GetCanonicalizedBody(),
		Kind: e.GetKindVersion().GetKind(), Version: e.GetKindVersion().GetVersion()}
	if e.LogId != nil {
		t.LogID = e.LogId.GetKeyId()
	}
	if e.InclusionPromise != nil {
		t.SET = e.InclusionPromise.GetSignedEntryTimestamp()
	}
	if p := e.InclusionProof; p != nil {
		t.Proof = &tlog.Proof{LogIndex: p.GetLogIndex(), RootHash: p.GetRootHash(), TreeSize: p.GetTreeSize(), Hashes: p.GetHashes(),
			Checkpoint: p.GetCheckpoint().GetEnvelope()}
	}
	return t
}
