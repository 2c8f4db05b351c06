package tlog

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// setPayload is the canonical JSON a SET signs.
func setPayload(body []byte, integratedTime int64, logIDHex string, logIndex int64) ([]byte, error) {
	// The fast path writes the JCS form directly: the keys are already in
	// JCS order, and base64, lower-case hex and integers below 2^53 need no
	// escaping or number reformatting. TestSETPayloadIsJCS holds it to the
	// generic canonicalizer.
	if integratedTime >= 0 && integratedTime < 1<<53 && logIndex >= 0 && logIndex < 1<<53 && isLowerHex(logIDHex) {
		p := make([]byte, 0, base64.StdEncoding.EncodedLen(len(body))+len(logIDHex)+80)
		p = append(p, `{"body":"`...)
		p = base64.StdEncoding.AppendEncode(p, body)
		p = append(p, `","integratedTime":`...)
		p = strconv.AppendInt(p, integratedTime, 10)
		p = append(p, `,"logID":"`...)
		p = append(p, logIDHex...)
		p = append(p, `","logIndex":`...)
		p = strconv.AppendInt(p, logIndex, 10)
		return append(p, '}'), nil
	}
	return setPayloadJCS(body, integratedTime, logIDHex, logIndex)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func setPayloadJCS(body []byte, integratedTime int64, logIDHex string, logIndex int64) ([]byte, error) {
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
