package tlog

import (
	"container/list"
	"crypto"
	"crypto/x509"
	"sync"
)

// A keyless certificate signs a whole burst of entries, and a long-lived
// key many more, so the log sees the same PEM bytes again and again. The
// key cache keeps, for the exact bytes that were submitted, what parsing
// them yields: the key, the certificate, the canonical PEM and the search
// keys of the key. Parsing is deterministic, so a hit is indistinguishable
// from a parse. Only successful parses are cached, and only of PEM texts of
// ordinary size; the cache is a bounded LRU.
const (
	keyCacheSize   = 1024
	keyCacheMaxPEM = 8 << 10
)

type parsedKey struct {
	pub   crypto.PublicKey
	cert  *x509.Certificate
	canon []byte   // shared: callers must not modify it
	keys  []string // keyIndexKeys(canon, cert); shared, read only
}

type keyCacheEntry struct {
	pem string
	k   *parsedKey
}

type lruKeyCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // of *keyCacheEntry, most recent first
	items map[string]*list.Element
}

var keyCache = newKeyCache(keyCacheSize)

func newKeyCache(n int) *lruKeyCache {
	return &lruKeyCache{max: n, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *lruKeyCache) get(pem []byte) (*parsedKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[string(pem)] // no allocation for the lookup
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*keyCacheEntry).k, true
}

func (c *lruKeyCache) put(pem []byte, k *parsedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[string(pem)]; ok {
		c.ll.MoveToFront(el)
		return
	}
	e := &keyCacheEntry{pem: string(pem), k: k}
	c.items[e.pem] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*keyCacheEntry).pem)
	}
}

// parseKeyCached is parseKey with the search keys of the key, through the
// cache. The returned value is shared and must not be modified.
func parseKeyCached(b []byte) (*parsedKey, error) {
	if k, ok := keyCache.get(b); ok {
		return k, nil
	}
	pub, cert, canon, err := parseKey(b)
	if err != nil {
		return nil, err
	}
	k := &parsedKey{pub: pub, cert: cert, canon: canon, keys: keyIndexKeys(canon, cert)}
	if len(b) <= keyCacheMaxPEM {
		keyCache.put(b, k)
	}
	return k, nil
}
