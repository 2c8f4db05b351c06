package gitsign

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign/cms"
	"github.com/waxseal/waxseal/internal/testca"
)

// A log that records a signature that does not verify (a buggy log, or a
// rogue one that signs whatever it is sent) cannot make it good: after the
// log's promises and the certificate, gitsign checks the signature itself.
// The log and CA here are the test's own (internal/testca), with real
// keys, so that it can record what a real log would refuse.
func TestLogRecordingABadSignature(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ca, logKey := testca.New(t), testca.Key(t)
	leaf, leafKey := ca.Issue(t, "alice@example.com", x509.ExtKeyUsageCodeSigning)
	doc, err := trust.NewRoot(trust.RootSpec{CAURI: "https://ca.test", CAChain: ca.Chain(),
		TLogs: []trust.LogSpec{{BaseURL: "https://log.test", Key: logKey.Public()}}, Start: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	root, err := trust.ParseRoot(doc)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nmsg\n")

	// signed is a signature whose value is sign(digest), logged as entry 0
	// of a one-entry log: SET, inclusion proof and checkpoint all real.
	signed := func(sign func(digest []byte) []byte) []byte {
		u, err := cms.Prepare(leaf, payload, now)
		if err != nil {
			t.Fatal(err)
		}
		sig := sign(u.Digest())
		// The body a log would store, written without tlog.Canonicalize,
		// which (as Rekor does) refuses a signature that does not verify;
		// TestHashedRekordBody holds the two to the same bytes.
		entry := hashedRekordEntry(keys.RekorName(u.Hash), u.Digest(), sig, leaf)
		logID, err := tlog.LogID(logKey.Public())
		if err != nil {
			t.Fatal(err)
		}
		set, err := tlog.SignSET(logKey, entry.Body, now.Unix(), hex.EncodeToString(logID), 0)
		if err != nil {
			t.Fatal(err)
		}
		leafHash := tlog.LeafHash(entry.Body)
		checkpoint, err := tlog.SignCheckpoint(logKey, "log.test", 1, 1, leafHash)
		if err != nil {
			t.Fatal(err)
		}
		der, err := u.Finish(sig, &tlog.TLE{
			LogID: logID, Kind: entry.Kind, Version: entry.APIVersion, IntegratedTime: now.Unix(), SET: set,
			Proof: &tlog.Proof{RootHash: leafHash, TreeSize: 1, Checkpoint: string(checkpoint)},
		})
		if err != nil {
			t.Fatal(err)
		}
		return cms.EncodePEM(der)
	}
	v := &Verifier{Root: root}

	// The control: a good signature through the same log and CA is good.
	good := signed(func(digest []byte) []byte {
		sig, err := ecdsa.SignASN1(rand.Reader, leafKey, digest)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	})
	if res, err := v.Verify(payload, good, "alice@example.com"); err != nil || res.Identity != "alice@example.com" {
		t.Fatalf("good signature: %v %+v", err, res)
	}

	// A signature over another digest, logged all the same.
	other := sha256.Sum256([]byte("something else"))
	bad := signed(func([]byte) []byte {
		sig, err := ecdsa.SignASN1(rand.Reader, leafKey, other[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	})
	_, err = v.Verify(payload, bad, "alice@example.com")
	var ve *Error
	if !errors.As(err, &ve) || ve.Kind != Bad || !strings.Contains(err.Error(), "signature value does not verify") {
		t.Errorf("logged bad signature: %v", err)
	}
}
