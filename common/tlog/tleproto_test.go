package tlog

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"reflect"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/proto"
)

func cloneTLE(t *TLE) *TLE {
	c := *t
	c.LogID = bytes.Clone(t.LogID)
	c.SET = bytes.Clone(t.SET)
	c.Body = bytes.Clone(t.Body)
	if t.Proof != nil {
		p := *t.Proof
		p.RootHash = bytes.Clone(p.RootHash)
		p.Hashes = nil
		for _, h := range t.Proof.Hashes {
			p.Hashes = append(p.Hashes, bytes.Clone(h))
		}
		c.Proof = &p
	}
	return &c
}

// toPB is the protobuf-specs message with the same content as t.
func toPB(t *TLE) *rekorv1.TransparencyLogEntry {
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

// sameTLE compares the fields protobuf can tell apart (empty and nil bytes
// are the same value on the wire).
func sameTLE(a, b *TLE) bool {
	norm := func(t *TLE) *TLE {
		c := cloneTLE(t)
		for _, p := range []*[]byte{&c.LogID, &c.SET, &c.Body} {
			if len(*p) == 0 {
				*p = nil
			}
		}
		if c.Proof != nil && len(c.Proof.RootHash) == 0 {
			c.Proof.RootHash = nil
		}
		if c.Proof != nil {
			for i, h := range c.Proof.Hashes {
				if len(h) == 0 {
					c.Proof.Hashes[i] = []byte{}
				}
			}
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestTLEProtoMatchesRuntime holds our hand-written encoding to the protobuf
// runtime's, both ways, on a real-shaped entry and on odd ones.
func TestTLEProtoMatchesRuntime(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	full := testTLE(t, key)
	full.LogID, _ = LogID(key.Public())
	full.Kind, full.Version = "hashedrekord", "0.0.1"
	noBody := cloneTLE(full)
	noBody.Body = nil // as gitsign embeds it
	cases := map[string]*TLE{
		"full":                   full,
		"no body":                noBody,
		"empty":                  {},
		"no proof":               {LogIndex: 1 << 40, LogID: []byte{1}, IntegratedTime: 1, SET: []byte{2}},
		"negative":               {LogIndex: -1, IntegratedTime: -5},
		"empty set":              {SET: []byte{}, LogID: []byte{}},
		"kind only":              {Kind: "dsse"},
		"empty proof and hashes": {Proof: &Proof{Hashes: [][]byte{{}, {9}}}},
	}
	for name, tle := range cases {
		t.Run(name, func(t *testing.T) {
			ours := tle.MarshalProto()
			theirs, err := proto.MarshalOptions{Deterministic: true}.Marshal(toPB(tle))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs) {
				t.Fatalf("encodings differ:\nours   %x\ntheirs %x", ours, theirs)
			}
			var back TLE
			if err := back.UnmarshalProto(theirs); err != nil {
				t.Fatal(err)
			}
			if !sameTLE(&back, tle) {
				t.Fatalf("round trip changed the entry:\n%+v\n%+v", back, *tle)
			}
		})
	}
}

// FuzzTLEProto: whatever the protobuf runtime decodes, ours decodes to the
// same entry; whatever ours decodes re-encodes as the runtime would.
func FuzzTLEProto(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	full := testTLE(f, key)
	full.Kind, full.Version = "hashedrekord", "0.0.1"
	f.Add(full.MarshalProto())
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x12, 0x02, 0x0a, 0x00, 0x98, 0x01, 0x05}) // an unknown field (19) after known ones
	f.Fuzz(func(t *testing.T, b []byte) {
		var ours TLE
		oursErr := ours.UnmarshalProto(b)
		pb := new(rekorv1.TransparencyLogEntry)
		theirsErr := proto.Unmarshal(b, pb)
		if oursErr != nil {
			return // ours may be stricter (wire-type mismatches are errors here)
		}
		if theirsErr != nil {
			t.Fatalf("ours accepted what the runtime rejects (%v): %x", theirsErr, b)
		}
		got := fromPBForTest(pb)
		if !sameTLE(&ours, got) {
			t.Fatalf("decodings differ for %x:\nours   %+v\ntheirs %+v", b, ours, *got)
		}
		re, err := proto.MarshalOptions{Deterministic: true}.Marshal(toPB(&ours))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, ours.MarshalProto()) {
			t.Fatalf("re-encodings differ for %x", b)
		}
	})
}

func fromPBForTest(e *rekorv1.TransparencyLogEntry) *TLE {
	t := &TLE{LogIndex: e.GetLogIndex(), IntegratedTime: e.GetIntegratedTime(), Body: e.GetCanonicalizedBody(),
		Kind: e.GetKindVersion().GetKind(), Version: e.GetKindVersion().GetVersion()}
	if e.LogId != nil {
		t.LogID = e.LogId.GetKeyId()
	}
	if e.InclusionPromise != nil {
		t.SET = e.InclusionPromise.GetSignedEntryTimestamp()
	}
	if p := e.InclusionProof; p != nil {
		t.Proof = &Proof{LogIndex: p.GetLogIndex(), RootHash: p.GetRootHash(), TreeSize: p.GetTreeSize(), Hashes: p.GetHashes(),
			Checkpoint: p.GetCheckpoint().GetEnvelope()}
	}
	return t
}
