package rekor

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/waxseal/waxseal/common/tlog"
)

// maxRetrieve bounds each list of a retrieve request, as Rekor does.
const maxRetrieve = 10

// Handler serves the Rekor v1 REST API under /api/v1/.
func (l *Log) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/log/entries", l.handleCreate)
	mux.HandleFunc("GET /api/v1/log/entries", l.handleGetByIndex)
	mux.HandleFunc("GET /api/v1/log/entries/{id}", l.handleGetByUUID)
	mux.HandleFunc("POST /api/v1/log/entries/retrieve", l.handleRetrieve)
	mux.HandleFunc("POST /api/v1/index/retrieve", l.handleSearch)
	mux.HandleFunc("GET /api/v1/log", l.handleLogInfo)
	mux.HandleFunc("GET /api/v1/log/proof", l.handleProof)
	mux.HandleFunc("GET /api/v1/log/publicKey", l.handlePublicKey)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	return mux
}

func writeError(w http.ResponseWriter, code int, format string, a ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, fmt.Sprintf(format, a...)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding answer: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// readJSON reads a bounded JSON request body.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "content type %q: want application/json", ct)
			return nil, false
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var b []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= limit {
		// The server holds the body to its Content-Length.
		b = make([]byte, n)
		_, err = io.ReadFull(body, b)
	} else {
		b, err = io.ReadAll(body)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", limit)
		} else {
			writeError(w, http.StatusBadRequest, "reading request: %v", err)
		}
		return nil, false
	}
	return b, true
}

func (l *Log) handleCreate(w http.ResponseWriter, r *http.Request) {
	b, ok := readJSON(w, r, tlog.MaxProposedSize)
	if !ok {
		return
	}
	e, err := tlog.Canonicalize(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	idx, t, tr, err := l.add(r.Context(), e)
	dup := errors.Is(err, errDuplicate)
	if err != nil && !dup {
		if r.Context().Err() != nil {
			return
		}
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	id, v, err := l.entry(r.Context(), idx, e.Body, t, tr)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	w.Header().Set("Location", "/api/v1/log/entries/"+id)
	code := http.StatusCreated
	if dup {
		code = http.StatusConflict
	} else {
		w.Header().Set("ETag", id)
	}
	writeLogEntry(w, code, id, v)
}

// byIndex answers one acknowledged entry or false.
func (l *Log) byIndex(ctx context.Context, idx uint64) (string, tlog.LogEntryValue, error) {
	t, ok := l.lookup(idx)
	if !ok {
		return "", tlog.LogEntryValue{}, errNoEntry
	}
	return l.entry(ctx, idx, nil, t, nil)
}

var errNoEntry = errors.New("no such entry")

func (l *Log) answerOne(w http.ResponseWriter, id string, v tlog.LogEntryValue, err error, what string) {
	switch {
	case errors.Is(err, errNoEntry):
		writeError(w, http.StatusNotFound, "no entry %s", what)
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "%v", err)
	default:
		writeLogEntry(w, http.StatusOK, id, v)
	}
}

func (l *Log) handleGetByIndex(w http.ResponseWriter, r *http.Request) {
	s := r.URL.Query().Get("logIndex")
	idx, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		writeError(w, http.StatusBadRequest, "logIndex %q: want a non-negative integer", s)
		return
	}
	id, v, err := l.byIndex(r.Context(), idx)
	l.answerOne(w, id, v, err, "at index "+s)
}

func (l *Log) handleGetByUUID(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	uuid, err := tlog.SplitEntryID(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if len(raw) == 80 && !strings.EqualFold(raw[:16], fmt.Sprintf("%016x", uint64(l.cfg.TreeID))) {
		writeError(w, http.StatusNotFound, "entry %s: tree %s is not this log's", raw, raw[:16])
		return
	}
	idx, ok := l.lookupLeaf(uuid)
	if !ok {
		writeError(w, http.StatusNotFound, "no entry %s", raw)
		return
	}
	id, v, err := l.byIndex(r.Context(), idx)
	l.answerOne(w, id, v, err, raw)
}

func (l *Log) handleRetrieve(w http.ResponseWriter, r *http.Request) {
	b, ok := readJSON(w, r, maxRetrieve*tlog.MaxProposedSize)
	if !ok {
		return
	}
	var q struct {
		EntryUUIDs []string          `json:"entryUUIDs"`
		LogIndexes []*int64          `json:"logIndexes"`
		Entries    []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(b, &q); err != nil {
		writeError(w, http.StatusBadRequest, "parsing query: %v", err)
		return
	}
	if len(q.EntryUUIDs) > maxRetrieve || len(q.LogIndexes) > maxRetrieve || len(q.Entries) > maxRetrieve {
		writeError(w, http.StatusUnprocessableEntity, "at most %d of each of entryUUIDs, logIndexes and entries", maxRetrieve)
		return
	}
	if len(q.EntryUUIDs)+len(q.LogIndexes)+len(q.Entries) == 0 {
		writeError(w, http.StatusUnprocessableEntity, "query needs entryUUIDs, logIndexes or entries")
		return
	}
	var idxs []uint64
	for _, u := range q.EntryUUIDs {
		uuid, err := tlog.SplitEntryID(u)
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		if i, ok := l.lookupLeaf(uuid); ok {
			idxs = append(idxs, i)
		}
	}
	for _, i := range q.LogIndexes {
		if i == nil || *i < 0 {
			writeError(w, http.StatusBadRequest, "logIndexes must be non-negative integers")
			return
		}
		idxs = append(idxs, uint64(*i))
	}
	for _, p := range q.Entries {
		e, err := tlog.Canonicalize(p)
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		if i, ok := l.lookupLeaf(e.UUID()); ok {
			idxs = append(idxs, i)
		}
	}
	out := []tlog.LogEntry{}
	for _, i := range idxs {
		id, v, err := l.byIndex(r.Context(), i)
		if errors.Is(err, errNoEntry) {
			continue
		}
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		out = append(out, tlog.LogEntry{id: v})
	}
	writeJSON(w, http.StatusOK, out)
}

func (l *Log) handleSearch(w http.ResponseWriter, r *http.Request) {
	b, ok := readJSON(w, r, 1<<20)
	if !ok {
		return
	}
	var q tlog.SearchQuery
	if err := json.Unmarshal(b, &q); err != nil {
		writeError(w, http.StatusBadRequest, "parsing query: %v", err)
		return
	}
	var keys []string
	if q.Hash != "" {
		k, err := tlog.NormalizeHashKey(q.Hash)
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		keys = append(keys, k)
	}
	if q.Email != "" {
		keys = append(keys, strings.ToLower(q.Email))
	}
	if q.Subject != "" {
		keys = append(keys, strings.ToLower(q.Subject))
	}
	if q.PublicKey != nil {
		if q.PublicKey.Format != "x509" {
			writeError(w, http.StatusBadRequest, "public key format %q is not supported; use x509", q.PublicKey.Format)
			return
		}
		k, err := tlog.PublicKeyIndexKey(q.PublicKey.Content)
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		writeError(w, http.StatusBadRequest, "query needs hash, email, subject or publicKey")
		return
	}
	and := false
	switch q.Operator {
	case "", "or":
	case "and":
		and = true
	default:
		writeError(w, http.StatusBadRequest, "operator %q: want and or or", q.Operator)
		return
	}
	l.mu.RLock()
	var result []uint64
	for i, k := range keys {
		hits := l.search[k]
		switch {
		case i == 0:
			result = slices.Clone(hits)
		case and:
			result = slices.DeleteFunc(result, func(x uint64) bool { return !slices.Contains(hits, x) })
		default:
			result = append(result, hits...)
		}
	}
	l.mu.RUnlock()
	slices.Sort(result)
	result = slices.Compact(result)
	ids := []string{}
	size := l.head.Load().size
	for _, idx := range result {
		if _, ok := l.lookup(idx); !ok || idx >= size {
			continue
		}
		body, err := l.readBody(r.Context(), idx, size)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		ids = append(ids, tlog.EntryID(l.cfg.TreeID, hex.EncodeToString(tlog.LeafHash(body))))
	}
	writeJSON(w, http.StatusOK, ids)
}

func (l *Log) handleLogInfo(w http.ResponseWriter, r *http.Request) {
	tr := l.head.Load()
	size, root := tr.size, tr.root
	cp, err := tr.checkpoint(&l.cfg)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, tlog.LogInfo{
		RootHash: hex.EncodeToString(root), TreeSize: int64(size), SignedTreeHead: string(cp),
		TreeID: strconv.FormatInt(l.cfg.TreeID, 10), InactiveShards: []any{},
	})
}

func (l *Log) handleProof(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	first, last := uint64(1), uint64(0)
	var err error
	if s := q.Get("firstSize"); s != "" {
		if first, err = strconv.ParseUint(s, 10, 63); err != nil {
			writeError(w, http.StatusBadRequest, "firstSize %q: want an integer", s)
			return
		}
	}
	if last, err = strconv.ParseUint(q.Get("lastSize"), 10, 63); err != nil {
		writeError(w, http.StatusBadRequest, "lastSize %q: want an integer", q.Get("lastSize"))
		return
	}
	if t := q.Get("treeID"); t != "" && t != strconv.FormatInt(l.cfg.TreeID, 10) {
		writeError(w, http.StatusNotFound, "unknown tree %s", t)
		return
	}
	size := l.head.Load().size
	if first > last || last > size {
		writeError(w, http.StatusBadRequest, "want firstSize <= lastSize <= tree size %d, got %d and %d", size, first, last)
		return
	}
	hashes, root, err := l.consistency(first, last)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	hexes := make([]string, len(hashes))
	for i, h := range hashes {
		hexes[i] = hex.EncodeToString(h)
	}
	writeJSON(w, http.StatusOK, tlog.ConsistencyProof{RootHash: hex.EncodeToString(root), Hashes: hexes})
}

func (l *Log) handlePublicKey(w http.ResponseWriter, r *http.Request) {
	if t := r.URL.Query().Get("treeID"); t != "" && t != strconv.FormatInt(l.cfg.TreeID, 10) {
		writeError(w, http.StatusNotFound, "unknown tree %s", t)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(l.pubPEM)
}
