package agent

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/waxseal/waxseal/common/oidc"
)

// MaxMessage bounds a message: a whole DSSE payload signed with pure Ed25519 travels in
// one.
const MaxMessage = 40 << 20

type request struct {
	Op string `json:"op"`

	// login; status and certificate
	CAURL string `json:"caUrl,omitempty"`

	// login
	Token   string     `json:"token,omitempty"`
	KeyType string     `json:"keyType,omitempty"`
	Refresh *oidc.Spec `json:"refresh,omitempty"`

	// sign
	Certificate   []byte `json:"certificate,omitempty"` // SHA-256 of the leaf's DER
	Hash          string `json:"hash,omitempty"`
	PSSSaltLength *int   `json:"pssSaltLength,omitempty"`
	Data          []byte `json:"data,omitempty"`
}

type response struct {
	Error     string   `json:"error,omitempty"`
	Code      string   `json:"code,omitempty"`
	Status    *Status  `json:"status,omitempty"`
	Sessions  []Status `json:"sessions,omitempty"` // status: one per CA
	Chain     [][]byte `json:"chain,omitempty"`
	Signature []byte   `json:"signature,omitempty"`
}

func writeMessage(w io.Writer, v any) error {
	msg, err := encodeMessage(v)
	if err != nil {
		return err
	}
	_, err = w.Write(msg)
	return err
}

// encodeMessage is v as written on the socket: its length, then its JSON.
func encodeMessage(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("agent: message of %d bytes exceeds %d", len(b), MaxMessage)
	}
	buf := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	return append(buf, b...), nil
}

func readMessage(r io.Reader, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > MaxMessage {
		return fmt.Errorf("agent: message of %d bytes exceeds %d", size, MaxMessage)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("agent: truncated message: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("agent: malformed message: %w", err)
	}
	return nil
}
