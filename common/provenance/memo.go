package provenance

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"hash"
	"time"

	"github.com/waxseal/waxseal/common/trust"
)

// A Memo keeps, beyond one process, what checking a certificate proved: that
// it chains to a CA of the trusted root, and that a CT log of the root logged
// it. gitsign, which git starts once for every signature it shows, keeps
// these facts in its authenticated verdict cache, so the certificate of a
// whole rebase (one login, one certificate) has its CA and SCT signatures
// checked once, not once for every commit.
//
// A key names everything those checks depend on but the time: the
// certificate, the CA's chain and the root's CT logs (keys and validity),
// byte for byte. The time is checked again at every recall: a recalled fact
// holds only at a time when every certificate of its chain was valid, the
// root trusted the CA, and the SCT that counted had been issued. A recalled
// fact that does not hold then is checked again in full, so a failure is
// reported as without a Memo. A Memo must return only values it was given
// under the same key, and is trusted to: one that others can write to must
// authenticate what it returns. What crypto/x509 accepts depends on the
// build and on GODEBUG too, so a Memo kept beyond one process must also be
// keyed by those (gitsign's names its executable).
type Memo interface {
	Recall(key [32]byte) ([]byte, bool)
	Remember(key [32]byte, value []byte)
}

// certificateFact names what a Memo keeps under a certificate's key; change
// it when the checks or the value's encoding change.
const certificateFact = "waxseal provenance: certificate chain and SCT 1\x00"

// certificateKey is the Memo key of cert's checks against ca and the CT
// logs that logs names (see ctLogsID).
func certificateKey(cert *x509.Certificate, ca trust.CA, logs [32]byte) [32]byte {
	h := newParts()
	h.part([]byte(certificateFact))
	h.part(cert.Raw)
	h.part(logs[:])
	h.part(binary.BigEndian.AppendUint64(nil, uint64(len(ca.Chain))))
	for _, c := range ca.Chain {
		h.part(c.Raw)
	}
	return h.sum()
}

// ctLogsID names the root's CT logs as the SCT check reads them: IDs,
// keys and validity windows. false if a key cannot be encoded.
func ctLogsID(root *trust.Root) ([32]byte, bool) {
	h := newParts()
	for _, l := range root.CTLogs {
		der, err := x509.MarshalPKIXPublicKey(l.Key)
		if err != nil {
			return [32]byte{}, false
		}
		h.part(l.ID)
		h.part(der)
		h.part(appendTime(nil, l.ValidFor.Start))
		h.part(appendTime(nil, l.ValidFor.End))
	}
	return h.sum(), true
}

// parts hashes byte strings, each length-prefixed so that no two lists
// share a sum.
type parts struct{ h hash.Hash }

func newParts() parts { return parts{sha256.New()} }

func (p parts) part(b []byte) {
	p.h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
	p.h.Write(b)
}

func (p parts) sum() [32]byte { return [32]byte(p.h.Sum(nil)) }

// appendTime appends t exactly, for any year (UnixNano wraps outside
// 1678 to 2262), and the zero time (an open end) as no other.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// rememberCertificate keeps under key that cert's chain (cert, then
// certificates of ca) verified, with the time of the SCT that counted (zero
// when the root lists no CT log). A chain with a certificate that is not
// the CA's is not kept.
func rememberCertificate(memo Memo, key [32]byte, chain []*x509.Certificate, ca trust.CA, sctTime time.Time) {
	v := binary.AppendUvarint(nil, uint64(len(chain)-1))
	for _, link := range chain[1:] {
		i := caCertIndex(ca, link)
		if i < 0 {
			return
		}
		v = binary.AppendUvarint(v, uint64(i))
	}
	if sctTime.IsZero() {
		v = append(v, 0)
	} else {
		v = append(v, 1)
		v = binary.AppendVarint(v, sctTime.UnixMilli())
	}
	memo.Remember(key, v)
}

func caCertIndex(ca trust.CA, c *x509.Certificate) int {
	for i, x := range ca.Chain {
		if x == c || bytes.Equal(x.Raw, c.Raw) {
			return i
		}
	}
	return -1
}

// recallCertificate reports whether memo holds that cert verified against
// a CA of root, and that what it holds is true at time at, as
// checkCertificate would judge it: the CA trusted, every certificate of
// the chain valid, and the SCT that counted issued no later than a second
// after at.
func recallCertificate(memo Memo, cert *x509.Certificate, root *trust.Root, logs [32]byte, at time.Time) bool {
	if !validAt(cert, at) {
		return false
	}
	for _, ca := range root.CAs {
		if !ca.ValidFor.Contains(at) {
			continue
		}
		if v, ok := memo.Recall(certificateKey(cert, ca, logs)); ok && holds(v, ca, root, at) {
			return true
		}
	}
	return false
}

// holds decodes a value rememberCertificate kept for ca and checks it at
// time at.
func holds(v []byte, ca trust.CA, root *trust.Root, at time.Time) bool {
	next := func() (int, bool) {
		n, k := binary.Uvarint(v)
		if k <= 0 || n > 1<<16 {
			return 0, false
		}
		v = v[k:]
		return int(n), true
	}
	links, ok := next()
	if !ok || links == 0 || links > len(ca.Chain) {
		return false
	}
	for range links {
		i, ok := next()
		if !ok || i >= len(ca.Chain) || !validAt(ca.Chain[i], at) {
			return false
		}
	}
	if len(v) == 0 || v[0] > 1 {
		return false
	}
	hasSCT := v[0] == 1
	v = v[1:]
	if hasSCT {
		ms, k := binary.Varint(v)
		if k <= 0 {
			return false
		}
		v = v[k:]
		if time.UnixMilli(ms).After(at.Add(time.Second)) {
			return false
		}
	}
	// Without CT logs no SCT was checked, and with them one must have
	// counted.
	return len(v) == 0 && hasSCT == (len(root.CTLogs) > 0)
}
