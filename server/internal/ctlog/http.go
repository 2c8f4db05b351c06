package ctlog

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
)

// maxChainBytes bounds an add-pre-chain body: a Fulcio chain is a few KiB.
const maxChainBytes = 512 << 10

// Handler serves the RFC 6962 write API (add-pre-chain, get-roots) and the static-ct-api
// read tree (checkpoint, tile/, issuer/) at the root of its path space.
func (l *Log) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ct/v1/add-pre-chain", l.serveAddPreChain)
	mux.HandleFunc("POST /ct/v1/add-chain", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusBadRequest, "this log accepts only precertificates (add-pre-chain)")
	})
	mux.HandleFunc("GET /ct/v1/get-roots", l.serveGetRoots)
	files := http.FileServer(http.Dir(l.dir))
	for _, p := range []string{"GET /checkpoint", "GET /tile/", "GET /issuer/"} {
		mux.Handle(p, files)
	}
	return mux
}

func (l *Log) serveAddPreChain(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxChainBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", maxChainBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return
	}
	var req ct.AddChainRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return
	}
	sct, err := l.AddPreChain(r.Context(), req.Chain)
	if err != nil {
		var ce *ChainError
		if errors.As(err, &ce) {
			writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "ctlog: "))
			return
		}
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	resp := ct.AddChainResponse{
		SCTVersion: sct.SCTVersion,
		ID:         sct.LogID.KeyID[:],
		Timestamp:  sct.Timestamp,
		Extensions: base64.StdEncoding.EncodeToString(sct.Extensions),
	}
	resp.Signature, err = marshalDigitallySigned(sct.Signature)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (l *Log) serveGetRoots(w http.ResponseWriter, r *http.Request) {
	resp := ct.GetRootsResponse{Certificates: []string{}}
	for _, der := range l.rootsDER {
		resp.Certificates = append(resp.Certificates, base64.StdEncoding.EncodeToString(der))
	}
	writeJSON(w, http.StatusOK, resp)
}

func marshalDigitallySigned(ds ct.DigitallySigned) ([]byte, error) {
	return cttls.Marshal(cttls.DigitallySigned(ds))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg})
}
