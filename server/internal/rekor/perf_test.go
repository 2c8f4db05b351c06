package rekor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/waxseal/waxseal/common/tlog"
)

func TestSignSETMatchesTlog(t *testing.T) {
	l, _ := openLog(t, t.TempDir(), testKey(t))
	for _, c := range []struct {
		body     []byte
		t, index int64
	}{
		{[]byte(`{"a":1}`), 1700000000, 0},
		{[]byte("x"), 0, 1},
		{make([]byte, 1001), 1<<53 - 1, 1<<53 - 1},
		{[]byte("big"), 1 << 53, 1 << 60}, // falls back to the generic path
	} {
		set, err := l.signSET(c.body, c.t, c.index)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifySET(l.PublicKey(), set, c.body, c.t, l.logIDHex, c.index); err != nil {
			t.Errorf("SET for time %d index %d: %v", c.t, c.index, err)
		}
	}
}

// appendMany appends n entries concurrently through add and returns them by index.
func appendMany(t testing.TB, l *Log, n, workers int) map[uint64][]byte {
	s := newSigner(t, "many@example.com")
	var mu sync.Mutex
	out := map[uint64][]byte{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				p, _ := s.entry(t, fmt.Sprint("many ", i))
				e, err := tlog.Canonicalize(p)
				if err != nil {
					t.Error(err)
					return
				}
				idx, _, tr, err := l.add(context.Background(), e)
				if err != nil {
					t.Error(err)
					return
				}
				if tr == nil || idx >= tr.size {
					t.Errorf("entry %d answered with tree %v", idx, tr)
				}
				mu.Lock()
				out[idx] = e.Body
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// TestProofsAcrossTiles checks the in-memory proofs of a tree that spans
// several hash tiles (and a second tile level) against roots computed
// independently from the leaves.
func TestProofsAcrossTiles(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 700 entries")
	}
	l, _ := openLog(t, t.TempDir(), testKey(t))
	bodies := appendMany(t, l, 700, 32)
	tr := l.head.Load()
	if tr.size != 700 || len(bodies) != 700 {
		t.Fatalf("tree size %d, %d entries", tr.size, len(bodies))
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	roots := [][]byte{rfc6962.DefaultHasher.EmptyRoot()}
	for i := range uint64(700) {
		if err := r.Append(tlog.LeafHash(bodies[i]), nil); err != nil {
			t.Fatal(err)
		}
		root, _ := r.GetRootHash(nil)
		roots = append(roots, root)
	}
	if string(roots[700]) != string(tr.root) {
		t.Fatalf("head root %x, leaves give %x", tr.root, roots[700])
	}
	for i := range uint64(700) {
		_, v, err := l.byIndex(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		verifyEntry(t, l, v)
	}
	for _, s := range []uint64{1, 2, 3, 255, 256, 257, 300, 511, 512, 513, 699, 700} {
		got, err := tr.rootAt(s)
		if err != nil || string(got) != string(roots[s]) {
			t.Fatalf("rootAt(%d) = %x, %v; want %x", s, got, err, roots[s])
		}
		for _, f := range []uint64{1, 7, 256, s} {
			if f > s {
				continue
			}
			h, root, err := l.consistency(f, s)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, f, s, h, roots[f], root); err != nil {
				t.Fatalf("consistency %d -> %d: %v", f, s, err)
			}
		}
	}
	// A reopened log reads the right edge from disk.
	l.Close()
	l2, _ := openLog(t, l.cfg.Dir, l.cfg.Signer)
	if tr2 := l2.head.Load(); tr2.size != 700 || string(tr2.root) != string(tr.root) {
		t.Fatalf("reopened head %d %x", tr2.size, tr2.root)
	}
	for _, i := range []uint64{0, 255, 256, 699} {
		_, v, err := l2.byIndex(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		verifyEntry(t, l2, v)
	}
}

// BenchmarkEntry measures building one answer (proof, checkpoint, SET)
// against a fixed tree head.
func BenchmarkEntry(b *testing.B) {
	l, _ := openLog(b, b.TempDir(), testKey(b))
	bodies := appendMany(b, l, 300, 16)
	tr := l.head.Load()
	b.ResetTimer()
	for i := range b.N {
		idx := uint64(i) % tr.size
		if _, _, err := l.entry(context.Background(), idx, bodies[idx], 1700000000, tr); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEncodeLogEntry holds the direct encoder to encoding/json.
func TestEncodeLogEntry(t *testing.T) {
	l, _ := openLog(t, t.TempDir(), testKey(t))
	bodies := appendMany(t, l, 5, 2)
	tr := l.head.Load()
	check := func(id string, v tlog.LogEntryValue) {
		t.Helper()
		want, err := json.Marshal(tlog.LogEntry{id: v})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendLogEntry(nil, id, v); string(got) != string(want) {
			t.Fatalf("direct %s\njson   %s", got, want)
		}
	}
	for idx, body := range bodies {
		id, v, err := l.entry(context.Background(), idx, body, 1700000000, tr)
		if err != nil {
			t.Fatal(err)
		}
		check(id, v)
		v.Verification.InclusionProof.Hashes = nil
		check(id, v)
		v.Verification.SignedEntryTimestamp = nil
		check(id, v)
		v.Verification.InclusionProof = nil
		check(id, v)
		v.Verification = nil
		check(id, v)
	}
	check(`odd "id" <&>`+"\n\u2028é\xff", tlog.LogEntryValue{LogID: "a\tb", IntegratedTime: -1,
		Verification: &tlog.Verification{InclusionProof: &tlog.InclusionProof{Checkpoint: "x — y\n", Hashes: []string{}}}})
}

func FuzzEncodeLogEntry(f *testing.F) {
	f.Add("id", []byte("body"), int64(1), "logid", int64(2), "cp\n", "h1", "root", int64(3), []byte("set"))
	f.Fuzz(func(t *testing.T, id string, body []byte, it int64, logID string, li int64, cp, h, root string, size int64, set []byte) {
		v := tlog.LogEntryValue{Body: body, IntegratedTime: it, LogID: logID, LogIndex: li,
			Verification: &tlog.Verification{SignedEntryTimestamp: set,
				InclusionProof: &tlog.InclusionProof{Checkpoint: cp, Hashes: []string{h, root}, LogIndex: li, RootHash: root, TreeSize: size}}}
		want, err := json.Marshal(tlog.LogEntry{id: v})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendLogEntry(nil, id, v); string(got) != string(want) {
			t.Fatalf("direct %s\njson   %s", got, want)
		}
	})
}

// BenchmarkCreate measures the whole append path through the handler
// (validation, group commit, answer) with many requests in flight.
func BenchmarkCreate(b *testing.B) {
	l, _ := openLog(b, b.TempDir(), testKey(b))
	s := newSigner(b, "bench@example.com")
	reqs := make([][]byte, b.N)
	for i := range reqs {
		reqs[i], _ = s.entry(b, fmt.Sprint("bench ", i))
	}
	h := l.Handler()
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			req := httptest.NewRequest("POST", "/api/v1/log/entries", bytes.NewReader(reqs[i]))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 201 {
				b.Errorf("HTTP %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}
