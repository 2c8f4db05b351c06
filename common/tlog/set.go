package tlog

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// setPayload is the canonical JSON a SET signs.
func setPayload(body []byte, integratedTime int64, logIDHex string, logIndex int64) ([]byte, error) {
	return jcs(struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogID          string `json:"logID"`
		LogIndex       int64  `json:"logIndex"`
	}{base64.StdEncoding.EncodeToString(body), integratedTime, logIDHex, logIndex})
}

// SignSET signs a signed entry timestamp: an ASN.1 ECDSA signature over
// SHA-256 of JCS({"body","integratedTime","logID","logIndex"}). logIndex is
// the global index.
func SignSET(signer crypto.Signer, body []byte, integratedTime int64, logIDHex string, logIndex int64) ([]byte, error) {
	p, err := setPayload(body, integratedTime, logIDHex, logIndex)
	if err != nil {
		return nil, err
	}
	d := sha256.Sum256(p)
	return signer.Sign(rand.Reader, d[:], crypto.SHA256)
}

// ErrBadSET is wrapped by [VerifySET] errors.
var ErrBadSET = errors.New("signed entry timestamp does not verify")

// VerifySET verifies a signed entry timestamp. Like sigstore-go, it accepts
// only ECDSA log keys.
func VerifySET(pub crypto.PublicKey, set, body []byte, integratedTime int64, logIDHex string, logIndex int64) error {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: log key is %T, want ECDSA", ErrBadSET, pub)
	}
	p, err := setPayload(body, integratedTime, logIDHex, logIndex)
	if err != nil {
		return err
	}
	d := sha256.Sum256(p)
	if !ecdsa.VerifyASN1(k, d[:], set) {
		return ErrBadSET
	}
	return nil
}
