package rekor

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/waxseal/waxseal/common/tlog"
)

// The answer to an append is written directly rather than through
// encoding/json's reflection: appendLogEntry produces exactly what
// json.Marshal(tlog.LogEntry{id: v}) does (TestEncodeLogEntry holds it to
// that), into a pooled buffer.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// writeLogEntry answers one entry, as writeJSON(w, code, tlog.LogEntry{id: v}) does.
func writeLogEntry(w http.ResponseWriter, code int, id string, v tlog.LogEntryValue) {
	bp := bufPool.Get().(*[]byte)
	b := appendLogEntry((*bp)[:0], id, v)
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		bufPool.Put(bp)
	}
}

func appendLogEntry(b []byte, id string, v tlog.LogEntryValue) []byte {
	b = append(b, '{')
	b = appendString(b, id)
	b = append(b, `:{"body":`...)
	b = appendBytes(b, v.Body)
	b = append(b, `,"integratedTime":`...)
	b = strconv.AppendInt(b, v.IntegratedTime, 10)
	b = append(b, `,"logID":`...)
	b = appendString(b, v.LogID)
	b = append(b, `,"logIndex":`...)
	b = strconv.AppendInt(b, v.LogIndex, 10)
	if vr := v.Verification; vr != nil {
		b = append(b, `,"verification":{`...)
		comma := false
		if p := vr.InclusionProof; p != nil {
			b = append(b, `"inclusionProof":{"checkpoint":`...)
			b = appendString(b, p.Checkpoint)
			b = append(b, `,"hashes":`...)
			if p.Hashes == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '[')
				for i, h := range p.Hashes {
					if i > 0 {
						b = append(b, ',')
					}
					b = appendString(b, h)
				}
				b = append(b, ']')
			}
			b = append(b, `,"logIndex":`...)
			b = strconv.AppendInt(b, p.LogIndex, 10)
			b = append(b, `,"rootHash":`...)
			b = appendString(b, p.RootHash)
			b = append(b, `,"treeSize":`...)
			b = strconv.AppendInt(b, p.TreeSize, 10)
			b = append(b, '}')
			comma = true
		}
		if len(vr.SignedEntryTimestamp) > 0 {
			if comma {
				b = append(b, ',')
			}
			b = append(b, `"signedEntryTimestamp":`...)
			b = appendBytes(b, vr.SignedEntryTimestamp)
		}
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// appendBytes writes a []byte as encoding/json does: base64, or null.
func appendBytes(b, v []byte) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// appendString writes a string as encoding/json does. Strings that need
// no escaping (hex, base64, plain ASCII) are copied; others go through
// json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
