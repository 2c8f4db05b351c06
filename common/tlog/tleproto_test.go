package tlog_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"reflect"
	"testing"

	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogpb"
	"google.golang.org/protobuf/proto"
)

// sameTLE compares the fields protobuf can tell apart (empty and nil bytes
// are the same value on the wire).
func sameTLE(a, b *tlog.TLE) bool {
	norm := func(t *tlog.TLE) *tlog.TLE {
		c := t.Clone()
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
	full := tlog.SampleTLE(t, key)
	full.LogID, _ = tlog.LogID(key.Public())
	full.Kind, full.Version = "hashedrekord", "0.0.1"
	noBody := full.Clone()
	noBody.Body = nil // as gitsign embeds it
	cases := map[string]*tlog.TLE{
		"full":                   full,
		"no body":                noBody,
		"empty":                  {},
		"no proof":               {LogIndex: 1 << 40, LogID: []byte{1}, IntegratedTime: 1, SET: []byte{2}},
		"negative":               {LogIndex: -1, IntegratedTime: -5},
		"empty set":              {SET: []byte{}, LogID: []byte{}},
		"kind only":              {Kind: "dsse"},
		"empty proof and hashes": {Proof: &tlog.Proof{Hashes: [][]byte{{}, {9}}}},
	}
	for name, tle := range cases {
		t.Run(name, func(t *testing.T) {
			ours := tle.MarshalProto()
			theirs, err := proto.MarshalOptions{Deterministic: true}.Marshal(tlogpb.ToPB(tle))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs) {
				t.Fatalf("encodings differ:\nours   %x\ntheirs %x", ours, theirs)
			}
			var back tlog.TLE
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
	full := tlog.SampleTLE(f, key)
	full.Kind, full.Version = "hashedrekord", "0.0.1"
	f.Add(full.MarshalProto())
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x12, 0x02, 0x0a, 0x00, 0x98, 0x01, 0x05}) // an unknown field (19) after known ones
	f.Fuzz(func(t *testing.T, b []byte) {
		var ours tlog.TLE
		oursErr := ours.UnmarshalProto(b)
		pb := new(rekorv1.TransparencyLogEntry)
		theirsErr := proto.Unmarshal(b, pb)
		if oursErr != nil {
			return // ours may be stricter (wire-type mismatches are errors here)
		}
		if theirsErr != nil {
			t.Fatalf("ours accepted what the runtime rejects (%v): %x", theirsErr, b)
		}
		got := tlogpb.FromPB(pb)
		if !sameTLE(&ours, got) {
			t.Fatalf("decodings differ for %x:\nours   %+v\ntheirs %+v", b, ours, *got)
		}
		re, err := proto.MarshalOptions{Deterministic: true}.Marshal(tlogpb.ToPB(&ours))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, ours.MarshalProto()) {
			t.Fatalf("re-encodings differ for %x", b)
		}
	})
}
