package tlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The protobuf wire encoding of dev.sigstore.rekor.v1.TransparencyLogEntry,
// which sigstore's gitsign embeds in CMS signatures. It is written here by
// hand, for this one message, so that verifiers link no protobuf runtime:
//
//	TransparencyLogEntry {
//	  int64 log_index = 1;  LogId log_id = 2 { bytes key_id = 1; }
//	  KindVersion kind_version = 3 { string kind = 1; string version = 2; }
//	  int64 integrated_time = 4;
//	  InclusionPromise inclusion_promise = 5 { bytes signed_entry_timestamp = 1; }
//	  InclusionProof inclusion_proof = 6 { int64 log_index = 1; bytes root_hash = 2;
//	    int64 tree_size = 3; repeated bytes hashes = 4; Checkpoint checkpoint = 5 { string envelope = 1; } }
//	  bytes canonicalized_body = 7;
//	}
//
// MarshalProto writes what the Go protobuf runtime's deterministic
// marshalling writes (fields in number order, proto3 zero values left out);
// tests hold the two to the same bytes.

// Wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

type protoWriter []byte

func (w *protoWriter) tag(field, wire int) {
	*w = binary.AppendUvarint(*w, uint64(field)<<3|uint64(wire))
}

func (w *protoWriter) int64(field int, v int64) {
	if v != 0 {
		w.tag(field, wireVarint)
		*w = binary.AppendUvarint(*w, uint64(v))
	}
}

// bytes writes a bytes or string field; empty values are left out, as proto3
// does for singular fields.
func (w *protoWriter) bytes(field int, v []byte) {
	if len(v) > 0 {
		w.always(field, v)
	}
}

// always writes a length-delimited field even when empty: repeated elements
// and present sub-messages.
func (w *protoWriter) always(field int, v []byte) {
	w.tag(field, wireBytes)
	*w = binary.AppendUvarint(*w, uint64(len(v)))
	*w = append(*w, v...)
}

// MarshalProto encodes the entry as protobuf wire bytes.
func (t *TLE) MarshalProto() []byte {
	var w protoWriter
	w.int64(1, t.LogIndex)
	if t.LogID != nil {
		var id protoWriter
		id.bytes(1, t.LogID)
		w.always(2, id)
	}
	if t.Kind != "" || t.Version != "" {
		var kv protoWriter
		kv.bytes(1, []byte(t.Kind))
		kv.bytes(2, []byte(t.Version))
		w.always(3, kv)
	}
	w.int64(4, t.IntegratedTime)
	if t.SET != nil {
		var ip protoWriter
		ip.bytes(1, t.SET)
		w.always(5, ip)
	}
	if p := t.Proof; p != nil {
		var pw protoWriter
		pw.int64(1, p.LogIndex)
		pw.bytes(2, p.RootHash)
		pw.int64(3, p.TreeSize)
		for _, h := range p.Hashes {
			pw.always(4, h)
		}
		var cp protoWriter
		cp.bytes(1, []byte(p.Checkpoint))
		pw.always(5, cp)
		w.always(6, pw)
	}
	w.bytes(7, t.Body)
	return w
}

var errTruncated = errors.New("truncated protobuf")

// protoFields calls f for each field of a message; f gets the varint value
// or the length-delimited bytes. Fields of other wire types are skipped, as
// unknown fields are.
func protoFields(b []byte, f func(field, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errTruncated
		}
		b = b[n:]
		field, wire := key>>3, int(key&7)
		if field == 0 || field > 1<<29-1 {
			return fmt.Errorf("protobuf: bad field number %d", field)
		}
		var (
			v    uint64
			data []byte
		)
		switch wire {
		case wireVarint:
			if v, n = binary.Uvarint(b); n <= 0 {
				return errTruncated
			}
			b = b[n:]
		case wireFixed64:
			if len(b) < 8 {
				return errTruncated
			}
			b = b[8:]
		case wireFixed32:
			if len(b) < 4 {
				return errTruncated
			}
			b = b[4:]
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errTruncated
			}
			data, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return fmt.Errorf("protobuf: unsupported wire type %d", wire)
		}
		if err := f(int(field), wire, v, data); err != nil {
			return err
		}
	}
	return nil
}

// want checks that a known field arrived with its declared wire type.
func want(field, got, wire int) error {
	if got != wire {
		return fmt.Errorf("protobuf: field %d has wire type %d, want %d", field, got, wire)
	}
	return nil
}

func protoString(field int, data []byte) (string, error) {
	if !utf8.Valid(data) {
		return "", fmt.Errorf("protobuf: field %d is not valid UTF-8", field)
	}
	return string(data), nil
}

// UnmarshalProto decodes protobuf wire bytes into t, with the protobuf
// runtime's rules: later scalars win, sub-messages merge, unknown fields are
// skipped, strings must be UTF-8.
func (t *TLE) UnmarshalProto(b []byte) error {
	return protoFields(b, func(field, wire int, v uint64, data []byte) error {
		switch field {
		case 1, 4:
			if err := want(field, wire, wireVarint); err != nil {
				return err
			}
			if field == 1 {
				t.LogIndex = int64(v)
			} else {
				t.IntegratedTime = int64(v)
			}
		case 2:
			if err := want(field, wire, wireBytes); err != nil {
				return err
			}
			if t.LogID == nil {
				t.LogID = []byte{}
			}
			return protoFields(data, func(f, w int, _ uint64, d []byte) error {
				if f == 1 {
					if err := want(f, w, wireBytes); err != nil {
						return err
					}
					t.LogID = append([]byte{}, d...)
				}
				return nil
			})
		case 3:
			if err := want(field, wire, wireBytes); err != nil {
				return err
			}
			return protoFields(data, func(f, w int, _ uint64, d []byte) error {
				if f != 1 && f != 2 {
					return nil
				}
				if err := want(f, w, wireBytes); err != nil {
					return err
				}
				s, err := protoString(f, d)
				if f == 1 {
					t.Kind = s
				} else {
					t.Version = s
				}
				return err
			})
		case 5:
			if err := want(field, wire, wireBytes); err != nil {
				return err
			}
			if t.SET == nil {
				t.SET = []byte{}
			}
			return protoFields(data, func(f, w int, _ uint64, d []byte) error {
				if f == 1 {
					if err := want(f, w, wireBytes); err != nil {
						return err
					}
					t.SET = append([]byte{}, d...)
				}
				return nil
			})
		case 6:
			if err := want(field, wire, wireBytes); err != nil {
				return err
			}
			if t.Proof == nil {
				t.Proof = &Proof{}
			}
			return t.Proof.unmarshalProto(data)
		case 7:
			if err := want(field, wire, wireBytes); err != nil {
				return err
			}
			t.Body = append([]byte{}, data...)
		}
		return nil
	})
}

func (p *Proof) unmarshalProto(b []byte) error {
	return protoFields(b, func(field, wire int, v uint64, data []byte) error {
		switch field {
		case 1, 3:
			if err := want(field, wire, wireVarint); err != nil {
				return err
			}
			if field == 1 {
				p.LogIndex = int64(v)
			} else {
				p.TreeSize = int64(v)
			}
		case 2, 4:
			if err := want(field, wire, wireBytes); err != nil {
				return err
			}
			if field == 2 {
				p.RootHash = append([]byte{}, data...)
			} else {
				p.Hashes = append(p.Hashes, append([]byte{}, data...))
			}
		case 5:
			if err := want(field, wire, wireBytes); err != nil {
				return err
			}
			return protoFields(data, func(f, w int, _ uint64, d []byte) error {
				if f != 1 {
					return nil
				}
				if err := want(f, w, wireBytes); err != nil {
					return err
				}
				s, err := protoString(f, d)
				p.Checkpoint = s
				return err
			})
		}
		return nil
	})
}
