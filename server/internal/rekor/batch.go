package rekor

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/tessera"

	"github.com/waxseal/waxseal/common/tlog"
)

// Appends are group committed. Tessera's queue cuts a batch every
// BatchMaxAge whether or not its single integration worker is free, so
// requests that arrive spread out (as HTTP requests do) make many small
// batches queued behind each other, each paying the full fsync cost of an
// integration. Instead, the log keeps at most batchDepth bursts of its own
// in Tessera (one integrating, one filling): the batcher hands Tessera, in
// one burst, everything that arrived while it waited for a slot. The
// committer then, while Tessera integrates the next batch, gives the whole
// batch one integration time, one fsync of the time file and one tree head
// (whose checkpoint is signed once), and answers its requests.

// maxQueued bounds the appends waiting for a batch; beyond it the log
// pushes back with 503.
const maxQueued = 1 << 16

var errOverloaded = errors.New("log is overloaded, retry later")
var errClosed = errors.New("log is closed")

// appendReq is one new entry on its way into the log.
type appendReq struct {
	body []byte
	leaf [32]byte
	keys []string
	p    *pending

	index uint64
	err   error
}

// batch is what the batcher hands the committer: integrated requests and
// the tree head right after them.
type batch struct {
	reqs []*appendReq
	size uint64
	root []byte
	err  error
}

// enqueue adds a request to the next batch.
func (l *Log) enqueue(r *appendReq) error {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.closing {
		return errClosed
	}
	if len(l.queue) >= maxQueued {
		return errOverloaded
	}
	l.queue = append(l.queue, r)
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return nil
}

// batchDepth is how many of the log's batches may be in Tessera at once:
// one integrating while the next one fills.
const batchDepth = 2

// batcher feeds Tessera one burst at a time, at most batchDepth in flight;
// see above. Batches are committed in the order they were handed over.
func (l *Log) batcher(ctx context.Context) {
	order := make(chan chan *batch, batchDepth)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		for c := range order {
			l.commit(<-c)
		}
	}()
	slots := make(chan struct{}, batchDepth)
	defer func() {
		close(order)
		<-committed
		close(l.stopped)
	}()
	for {
		l.qmu.Lock()
		reqs := l.queue
		l.queue = nil
		closing := l.closing
		l.qmu.Unlock()
		if len(reqs) == 0 {
			if closing {
				return
			}
			select {
			case <-l.kick:
			case <-ctx.Done():
				return
			}
			continue
		}
		entries := make([]*tessera.Entry, len(reqs))
		for i, r := range reqs {
			entries[i] = tessera.NewEntry(r.body)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		// Entries that arrived while waiting for a slot join this burst.
		l.qmu.Lock()
		more := l.queue
		l.queue = nil
		l.qmu.Unlock()
		for _, r := range more {
			entries = append(entries, tessera.NewEntry(r.body))
		}
		reqs = append(reqs, more...)
		futures := make([]tessera.IndexFuture, len(reqs))
		for i, e := range entries {
			futures[i] = l.appender.Add(ctx, e)
		}
		c := make(chan *batch, 1)
		order <- c
		go func() {
			for i, f := range futures {
				res, err := f()
				reqs[i].index, reqs[i].err = res.Index, err
				if err != nil {
					reqs[i].err = fmt.Errorf("appending: %w", err)
				}
			}
			<-slots
			// Integrated: the head is at least past this batch.
			b := &batch{reqs: reqs}
			b.size, b.root, b.err = l.treeState()
			c <- b
		}()
	}
}

// commit makes a batch's integration times durable and answers it.
func (l *Log) commit(b *batch) {
	t := l.cfg.Now().Unix()
	var idx []uint64
	for _, r := range b.reqs {
		if r.err == nil && b.err != nil {
			r.err = b.err
		}
		if r.err == nil && r.index >= b.size {
			r.err = fmt.Errorf("entry %d is beyond the integrated tree of size %d", r.index, b.size)
		}
		if r.err == nil {
			idx = append(idx, r.index)
		}
	}
	if len(idx) > 0 {
		if err := l.times.commit(idx, t); err != nil {
			err = fmt.Errorf("recording integration time: %w", err)
			for _, r := range b.reqs {
				if r.err == nil {
					r.err = err
				}
			}
			idx = nil
		}
	}
	var tr *tree
	if b.err == nil {
		if cur := l.head.Load(); cur != nil && cur.size == b.size {
			tr = cur
		} else {
			tr = newTree(b.size, b.root, l.tiles)
		}
	}
	l.mu.Lock()
	if len(idx) > 0 {
		l.growTimes(b.size)
	}
	for _, r := range b.reqs {
		if r.err == nil {
			l.itime[r.index] = t
			l.index(r.index, r.leaf[:], r.keys)
		}
		delete(l.pending, r.leaf)
	}
	if tr != nil && (l.head.Load() == nil || tr.size >= l.head.Load().size) {
		l.head.Store(tr)
	}
	l.mu.Unlock()
	for _, r := range b.reqs {
		p := r.p
		p.index, p.t, p.err, p.tree = r.index, t, r.err, tr
		close(p.done)
	}
}

// growTimes makes room for n integration times; l.mu must be held.
func (l *Log) growTimes(n uint64) {
	if uint64(len(l.itime)) >= n {
		return
	}
	if uint64(cap(l.itime)) >= n {
		l.itime = l.itime[:n]
		return
	}
	it := make([]int64, n, n*5/4+1024)
	copy(it, l.itime)
	l.itime = it
}

// add appends a canonical entry and returns its index, integration time
// and a tree head that includes it, once both are durable. A duplicate
// returns the existing entry's and errDuplicate.
func (l *Log) add(ctx context.Context, e *tlog.Entry) (uint64, int64, *tree, error) {
	var k [32]byte
	copy(k[:], tlog.LeafHash(e.Body))
	l.mu.Lock()
	if idx, ok := l.byLeaf[k]; ok {
		t := l.itime[idx]
		l.mu.Unlock()
		return idx, t, nil, errDuplicate
	}
	p, dup := l.pending[k]
	if !dup {
		p = &pending{done: make(chan struct{})}
		l.pending[k] = p
	}
	l.mu.Unlock()
	if !dup {
		if err := l.enqueue(&appendReq{body: e.Body, leaf: k, keys: e.IndexKeys, p: p}); err != nil {
			l.mu.Lock()
			delete(l.pending, k)
			l.mu.Unlock()
			p.err = err
			close(p.done)
			return 0, 0, nil, err
		}
	}
	// The request may go away; the append goes on regardless.
	select {
	case <-p.done:
	case <-ctx.Done():
		return 0, 0, nil, ctx.Err()
	}
	if p.err != nil {
		return 0, 0, nil, p.err
	}
	if dup {
		return p.index, p.t, p.tree, errDuplicate
	}
	return p.index, p.t, p.tree, nil
}
