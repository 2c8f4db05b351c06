// Package dsse implements the Dead Simple Signing Envelope: a signature over
// the pre-authentication encoding (PAE) of a payload and its type,
//
//	PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// where LEN is the decimal byte length. The JSON envelope is
//
//	{"payloadType": "application/vnd.in-toto+json", "payload": "<b64>",
//	 "signatures": [{"keyid": "", "sig": "<b64>"}]}
package dsse

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// InTotoPayloadType is the payload type of in-toto statements.
const InTotoPayloadType = "application/vnd.in-toto+json"

// PAE returns the bytes that are signed.
func PAE(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(payload))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// Envelope is the JSON form. encoding/json encodes []byte as standard base64,
// as DSSE specifies.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     []byte      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an envelope.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   []byte `json:"sig"`
}

// Parse decodes an envelope and checks that it is complete.
func Parse(data []byte) (*Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("dsse: %w", err)
	}
	if e.PayloadType == "" {
		return nil, errors.New("dsse: missing payloadType")
	}
	if len(e.Signatures) == 0 {
		return nil, errors.New("dsse: no signatures")
	}
	for i, s := range e.Signatures {
		if len(s.Sig) == 0 {
			return nil, fmt.Errorf("dsse: signature #%d is empty", i)
		}
	}
	return &e, nil
}
