package keys

import (
	"crypto/sha256"
	"errors"
	"testing"
)

func TestSignVerifyEveryType(t *testing.T) {
	msg := []byte("message")
	for _, kt := range Types {
		t.Run(string(kt), func(t *testing.T) {
			s, err := Generate(kt)
			if err != nil {
				t.Fatal(err)
			}
			h, err := Hash(s.Public())
			if err != nil {
				t.Fatal(err)
			}
			d := h.New()
			d.Write(msg)
			digest := d.Sum(nil)
			sig, err := SignDigest(s, digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyDigest(s.Public(), h, digest, sig); err != nil {
				t.Fatalf("own signature: %v", err)
			}
			digest[0] ^= 1
			if err := VerifyDigest(s.Public(), h, digest, sig); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("other digest: %v", err)
			}
			msig, err := SignMessage(s, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyMessage(s.Public(), msg, msig); err != nil {
				t.Fatalf("message: %v", err)
			}
			if err := VerifyMessage(s.Public(), []byte("other"), msig); err == nil {
				t.Fatal("other message verified")
			}
		})
	}
}

func TestRejects(t *testing.T) {
	if _, err := ParseType("dsa"); err == nil {
		t.Error("dsa accepted")
	}
	if kt, err := ParseType("ECDSA-P256"); err != nil || kt != ECDSAP256 {
		t.Errorf("case-insensitive parse: %v %v", kt, err)
	}
	s, _ := Generate(ECDSAP256)
	if _, err := SignDigest(s, make([]byte, 20)); err == nil {
		t.Error("short digest signed")
	}
	d := sha256.Sum256([]byte("x"))
	if err := VerifyDigest(s.Public(), 0, d[:], nil); err == nil {
		t.Error("unknown hash accepted")
	}
}
