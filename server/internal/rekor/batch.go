package rekor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/tessera"

	"github.com/waxseal/waxseal/common/tlog"
)

// Appends are group committed. Entries go to Tessera as a plain Tessera
// client adds them, but the log keeps track of Tessera's batches. Tessera's
// queue cuts a batch BatchMaxAge after its first entry (or at BatchMaxSize
// entries) whether or not its single integration worker is free, so
// requests that arrive spread out (as HTTP requests do) would make many
// small batches queued behind each other, each paying the full fsync cost
// of an integration, and under a closed loop of clients large and tiny
// batches alternate. The feeder therefore hands an entry to Tessera at once
// if a Tessera batch is open (filling), or opens one if fewer than
// maxCutBatches cut batches are still unresolved; otherwise the entry waits
// in the log's queue, and everything that waited goes to Tessera together,
// opening the next batch, as soon as the integrating one resolves. Each
// batch thus collects everything that arrived during the previous
// integration plus BatchMaxAge of new arrivals.
//
// (Two earlier designs: handing Tessera bursts, at most two at a time, made
// two bursts share one Tessera batch and wait out its timer with nothing
// integrating, at twice the engine's latency; allowing a second cut batch
// to wait behind the integrating one made batches alternate between large
// and tiny ones.)
//
// The log's idea of Tessera's batch boundaries is an estimate (its clock
// and Tessera's timer differ by microseconds); it only steers how entries
// are grouped, never what is committed.
//
// When an entry's index is known (Tessera resolves a whole batch at once),
// a waiter hands it to the committer. The committer takes the whole
// integrated batch, reads the integrated tree head once, gives the batch
// one integration time, one fsync of the time file and one tree head (whose
// checkpoint is signed once), and answers its requests; meanwhile Tessera
// fills and integrates the next batch.

// maxQueued bounds the appends in flight; beyond it the log pushes back
// with 503.
const maxQueued = 1 << 16

// maxCutBatches is how many cut Tessera batches may be unresolved when the
// log opens a new one: none, so that a batch opens when the previous one
// has integrated and collects everything that arrived meanwhile. (2, one
// integrating and one waiting, measured about half the throughput at 64
// clients: tiny batches alternated with large ones.)
const maxCutBatches = 1

var errOverloaded = errors.New("log is overloaded, retry later")
var errClosed = errors.New("log is closed")

// appendReq is one new entry on its way into the log.
type appendReq struct {
	body []byte
	leaf [32]byte
	keys []string
	p    *pending
	tb   *tesseraBatch

	index uint64
	err   error
}

// tesseraBatch is the log's estimate of one of Tessera's batches.
type tesseraBatch struct {
	unresolved int  // entries handed to Tessera and not yet resolved
	cut        bool // Tessera's queue has (by the estimate) cut it
}

// feedState is the feeder's state; l.qmu guards it.
type feedState struct {
	queue         []*appendReq // waiting for Tessera
	open          *tesseraBatch
	openAt        time.Time
	openN         uint
	cutUnresolved int
}

// batch is what the committer commits: integrated requests and the tree
// head right after them.
type batch struct {
	reqs []*appendReq
	size uint64
	root []byte
	err  error
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// enqueue queues a new entry for Tessera.
func (l *Log) enqueue(r *appendReq) error {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.closing {
		return errClosed
	}
	if l.inflight >= maxQueued {
		return errOverloaded
	}
	l.inflight++
	l.feed.queue = append(l.feed.queue, r)
	wake(l.feedKick)
	return nil
}

// cutLocked marks the open batch cut; l.qmu must be held.
func (l *Log) cutLocked() {
	f := &l.feed
	f.open.cut = true
	if f.open.unresolved > 0 {
		f.cutUnresolved++
	}
	f.open = nil
}

// feeder hands queued entries to Tessera; see above.
func (l *Log) feeder(ctx context.Context) {
	f := &l.feed
	for {
		l.qmu.Lock()
		if f.open != nil && time.Since(f.openAt) >= l.cfg.BatchMaxAge {
			l.cutLocked()
		}
		var reqs []*appendReq
		if len(f.queue) > 0 && (f.open != nil || f.cutUnresolved < maxCutBatches) {
			if f.open == nil {
				f.open, f.openAt, f.openN = &tesseraBatch{}, time.Now(), 0
			}
			n := min(uint(len(f.queue)), l.cfg.BatchMaxSize-f.openN)
			reqs = f.queue[:n:n]
			f.queue = f.queue[n:]
			if len(f.queue) == 0 {
				f.queue = nil
			}
			for _, r := range reqs {
				r.tb = f.open
			}
			f.open.unresolved += len(reqs)
			if f.openN += n; f.openN >= l.cfg.BatchMaxSize {
				l.cutLocked() // Tessera flushes on the Add that fills it
			}
		}
		stop := l.closing && len(f.queue) == 0
		l.qmu.Unlock()
		for _, r := range reqs {
			fut := l.appender.Add(ctx, tessera.NewEntry(r.body))
			go l.await(r, fut)
		}
		if len(reqs) > 0 {
			continue
		}
		if stop {
			return
		}
		select {
		case <-l.feedKick:
		case <-ctx.Done():
			return
		}
	}
}

// await waits for Tessera to resolve an entry and hands it to the committer.
func (l *Log) await(r *appendReq, fut tessera.IndexFuture) {
	res, err := fut()
	r.index, r.err = res.Index, err
	if err != nil {
		r.err = fmt.Errorf("appending: %w", err)
	}
	l.qmu.Lock()
	if r.tb.unresolved--; r.tb.unresolved == 0 && r.tb.cut {
		l.feed.cutUnresolved--
		wake(l.feedKick)
	}
	l.qmu.Unlock()
	l.resolved <- r
}

// committer commits resolved appends in groups; see above. It returns
// once the log is closing and nothing is in flight.
//
// Tessera resolves a batch's entries one after the other, so the first of
// them would otherwise be committed alone, costing a time-file fsync and
// delaying the rest. The committer reads the integrated tree size and
// waits (briefly, at most groupWait) until it has every entry below it:
// all indices from the size at open onwards are this log's appends.
func (l *Log) committer(ctx context.Context) {
	defer close(l.stopped)
	var received uint64 // successful appends received so far
	base := l.head.Load().size
	var timer *time.Timer
	for {
		var reqs []*appendReq
		select {
		case r := <-l.resolved:
			reqs = append(reqs, r)
		case <-l.kick:
		case <-ctx.Done():
			return
		}
		reqs = l.drainResolved(reqs)
		if len(reqs) > 0 {
			b := &batch{}
			deadline := time.Now().Add(groupWait)
			// Integrated: the head is at least past these entries. The
			// tree state is read again only if an entry that resolved
			// since is beyond it.
			b.size, b.root, b.err = l.treeState()
			fresh := true
			for {
				ok, beyond := 0, false
				for _, r := range reqs {
					if r.err == nil {
						ok++
						beyond = beyond || r.index >= b.size
					}
				}
				if beyond && !fresh && b.err == nil {
					b.size, b.root, b.err = l.treeState()
					fresh = true
					continue
				}
				if b.err != nil || !beyond && received+uint64(ok) >= b.size-min(base, b.size) {
					received += uint64(ok)
					break
				}
				wait := time.Until(deadline)
				if wait <= 0 {
					// Someone else's entries, or a lost one: stop waiting for them.
					received = b.size - min(base, b.size)
					break
				}
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case r := <-l.resolved:
					reqs = l.drainResolved(append(reqs, r))
					fresh = false
				case <-timer.C:
				}
				timer.Stop()
			}
			b.reqs = reqs
			l.commit(b)
		}
		l.qmu.Lock()
		l.inflight -= len(reqs)
		done := l.closing && l.inflight == 0
		l.qmu.Unlock()
		if done {
			return
		}
	}
}

// groupWait bounds how long the committer waits for the rest of a batch.
const groupWait = 2 * time.Millisecond

func (l *Log) drainResolved(reqs []*appendReq) []*appendReq {
	for {
		select {
		case r := <-l.resolved:
			reqs = append(reqs, r)
		default:
			return reqs
		}
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
