// Package agent is waxseal's per-user credential cache: one login serves a whole rebase,
// a whole batch of RPMs, a whole release.
//
// An [Agent] holds, for each CA the user logged in to (the public-good instance and a
// team's own, say), one ephemeral private key and the short-lived certificate that CA
// issued for it, in memory only. It answers on a unix socket that only its user can
// reach, signs digests without ever handing a key out, forgets a credential when its
// certificate expires, and gets a new one through the token source the user logged in
// with when that source needs no user (a token file, a token command, CI credentials).
//
// # Socket
//
// The socket is [SocketPath]: $WAXSEAL_AGENT_SOCK, else $XDG_RUNTIME_DIR/waxseal/agent.sock,
// else a private TMPDIR's or the user's cache directory (see SocketPath). Its directory is 0700
// and the socket 0600, both owned by the user. [Dial] refuses a socket or directory
// owned by someone else or open to group or others (a planted socket would otherwise
// collect tokens and answer with its own signatures); the agent refuses peers whose uid
// (SO_PEERCRED) is not its own.
//
// # Protocol
//
// A connection carries requests and responses in turn. Each message is a 4-byte
// big-endian length followed by that many bytes of JSON (at most [MaxMessage]); []byte
// fields are base64, times RFC 3339. A request names its operation in "op":
//
//	status {"caUrl"?}                        -> {"status": Status, "sessions": [Status, ...]}
//	login  {"token", "caUrl", "keyType", "refresh"?}
//	                                         -> {"status": Status}
//	certificate {"caUrl"?}                   -> {"chain": [DER, ...]}   leaf first
//	sign   {"certificate", "hash", "pssSaltLength"?, "data"}
//	                                         -> {"signature": bytes}
//	logout                                   -> {}   every credential is dropped
//	stop                                     -> {}   the agent forgets and exits
//
// login carries the identity token, never a key: the agent generates the key and asks
// the CA at caUrl itself, replacing only the credential it held for that CA. status
// and certificate name the CA they are about; without caUrl, the one of the latest
// login. "refresh" is an [oidc.Spec] the agent may run again when the
// certificate expires. sign names the certificate it expects to sign for by its SHA-256
// fingerprint ("certificate"), so that a signature never comes from a key other than
// the one whose certificate the client holds, and never renews it (an expired one
// that the agent can renew gets "changed": the next certificate request renews
// it); "hash" is the digest's algorithm
// ("SHA-256", ...) or empty for a whole message (pure Ed25519, DSSE). A failed request
// gets {"error": "message", "code": C} with C one of the Code constants.
//
// Requests are answered from memory, but for login and the renewal of an
// expired certificate, which wait for the CA (and a token provider). Those
// wait with no lock held: one slow CA holds up no other request, and requests
// for a credential being renewed wait for that one renewal.
//
// # Example
//
//	c, err := agent.Dial(ctx, "")             // the default socket
//	cred, err := c.Credential(ctx)            // a crypto.Signer backed by the agent
//	s := &sign.Signer{Credential: cred, Log: log}
//	b, err := s.Artifact(ctx, file)
package agent

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
)

// Agent serves a credential over a unix socket. The zero value is ready to Serve.
type Agent struct {
	// Login obtains a credential for an identity token from the CA at caURL. Default:
	// credential.LoginWithToken with a fulcioclient.Client for caURL.
	Login func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error)
	// HTTPClient talks to the CA (default Login) and token providers. Default
	// http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock deciding expiry. Default time.Now.
	Now func() time.Time
	// Logf reports logins, refreshes and refused peers. Nil: silent.
	Logf func(format string, args ...any)
	// Version is the release the agent runs, reported in its Status, so
	// that a client of another release can say to restart it.
	Version string

	mu       sync.Mutex
	stop     context.CancelFunc  // ends Serve
	sessions map[string]*session // by caKey of the CA URL
	latest   string              // caKey of the latest login
	epoch    uint64              // counts logouts: a login begun before one is not kept
	logins   uint64              // numbers logins as they begin
}

// A session is the credential from one CA.
type session struct {
	cred    *credential.Credential
	status  Status
	refresh *oidc.Spec
	since   time.Time // of the login, for eviction
	seq     uint64    // the login's number: a later login for the CA replaces it, an earlier one does not
	// refreshing, while the credential is being renewed, is closed when
	// that is over; requests for it wait for the one renewal.
	refreshing chan struct{}
	waiting    int // requests waiting for it
}

// maxSessions bounds the CAs an agent holds credentials for; a login beyond
// it drops the oldest.
const maxSessions = 8

func caKey(u string) string { return strings.TrimRight(u, "/") }

// Status describes the agent's credential.
type Status struct {
	LoggedIn bool      `json:"loggedIn"`           // a credential is held and valid
	Expired  bool      `json:"expired,omitempty"`  // one was held but its certificate expired
	Identity string    `json:"identity,omitempty"` // the certificate's identity (SAN): what verifiers match
	Issuer   string    `json:"issuer,omitempty"`   // the certificate's OIDC issuer
	NotAfter time.Time `json:"notAfter,omitzero"`  // the certificate's expiry
	CAURL    string    `json:"caUrl,omitempty"`    // the CA that issued it
	KeyType  string    `json:"keyType,omitempty"`
	Refresh  string    `json:"refresh,omitempty"` // the provider that refreshes it, if any
	PID      int       `json:"pid"`
	Version  string    `json:"version,omitempty"` // the agent's release
}

// Remaining is how long the credential can still sign at now.
func (s *Status) Remaining(now time.Time) time.Duration {
	if !s.LoggedIn {
		return 0
	}
	return max(s.NotAfter.Sub(now), 0)
}

// Codes of failed requests.
const (
	CodeNoCredential = "no-credential" // nobody logged in (or logged out)
	CodeExpired      = "expired"       // the certificate expired and could not be refreshed
	CodeChanged      = "changed"       // sign named a certificate the agent no longer holds
	CodeLogin        = "login-failed"  // the CA or the token refused
	CodeBadRequest   = "bad-request"
)

// Errors a client may branch on; they wrap the agent's message.
var (
	ErrNoCredential = errors.New("the agent holds no credential")
	ErrExpired      = errors.New("the agent's credential expired")
	ErrChanged      = errors.New("the agent's credential changed")
)

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Agent) logf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

// loginVia turns a token into a credential from the CA at caURL.
type loginVia = func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error)

// loginFunc is how a token becomes a credential: a.Login, read under a.mu,
// or the CA's API.
func (a *Agent) loginFunc() loginVia {
	if a.Login != nil {
		return a.Login
	}
	hc := a.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error) {
		return credential.LoginWithToken(ctx, &fulcioclient.Client{BaseURL: caURL, HTTPClient: hc}, token, kt)
	}
}

// Serve answers on ln until ctx is done, then closes ln and every connection.
func (a *Agent) Serve(ctx context.Context, ln *net.UnixListener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	a.stop = cancel
	a.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	// Every return ends ctx first: the sweeper and the connections end
	// with it, and only then is waiting for them over.
	defer func() {
		cancel()
		wg.Wait()
	}()
	// Keys are forgotten when their certificates expire, not when next
	// asked for: a key that can no longer sign anything is not kept.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(forgetInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.forgetExpired()
			}
		}
	}()
	var backoff time.Duration
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// Out of file descriptors, or a peer gone before accept:
			// waited out, as net/http's server does, not the end of
			// the agent.
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				a.logf("accept: %v; retrying in %v", err, backoff)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
				continue
			}
			return fmt.Errorf("agent: %w", err)
		}
		backoff = 0
		if err := checkPeer(c); err != nil {
			a.logf("refused a connection: %v", err)
			c.Close()
			continue
		}
		mu.Lock()
		conns[c] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.serveConn(ctx, c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

func (a *Agent) serveConn(ctx context.Context, c net.Conn) {
	for {
		var req request
		if err := readMessage(c, &req); err != nil {
			return
		}
		var resp *response
		if req.Op == "login" {
			// A login waits on the CA: one whose client hangs up
			// meanwhile is cut short. (A renewal is not: others may be
			// waiting for it.)
			lctx, cancel := context.WithCancel(ctx)
			stop := watchHangup(c, cancel)
			resp = a.handle(lctx, &req)
			stop()
			cancel()
		} else {
			resp = a.handle(ctx, &req)
		}
		if err := writeMessage(c, resp); err != nil {
			return
		}
		if req.Op == "stop" {
			a.mu.Lock()
			a.stop()
			a.mu.Unlock()
			return
		}
	}
}

// requestTimeout bounds a login or refresh (CA and token provider round trips).
const requestTimeout = 2 * time.Minute

func (a *Agent) handle(ctx context.Context, req *request) *response {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if req.Op == "login" {
		// Not under a.mu: its CA round trip may take a while, and every
		// other request (a signature for another CA, status, logout) is
		// answered meanwhile.
		return a.handleLogin(ctx, req)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch req.Op {
	case "status":
		st := a.statusOf(a.sessionFor(req.CAURL))
		resp := &response{Status: &st}
		for _, k := range slices.Sorted(maps.Keys(a.sessions)) {
			resp.Sessions = append(resp.Sessions, a.statusOf(a.sessions[k]))
		}
		return resp
	case "logout":
		for _, s := range a.sessions {
			a.logf("logout: dropped the credential of %s from %s", s.status.Identity, s.status.CAURL)
		}
		a.clear()
		return &response{}
	case "stop":
		a.logf("stopping on request")
		a.clear()
		return &response{}
	case "certificate":
		cred, resp := a.current(ctx, a.sessionFor(req.CAURL))
		if resp != nil {
			return resp
		}
		chain := [][]byte{cred.Certificate.Raw}
		for _, c := range cred.Chain {
			chain = append(chain, c.Raw)
		}
		return &response{Chain: chain}
	case "sign":
		return a.handleSign(req)
	}
	return failure(CodeBadRequest, "unknown operation %q", req.Op)
}

// forgetInterval is how often expired keys are looked for.
const forgetInterval = 15 * time.Second

// forgetExpired drops the private key of every credential whose
// certificate has expired. The session stays, so that status says the
// login ran out and a refreshable one is renewed (with a new key) when
// next used.
func (a *Agent) forgetExpired() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for _, s := range a.sessions {
		if s.cred.Signer != nil && !s.cred.Valid(now) {
			s.cred = &credential.Credential{Certificate: s.cred.Certificate, Chain: s.cred.Chain}
			a.logf("forgot the key of %s: its certificate expired at %s", s.status.Identity, s.status.NotAfter.Format(time.RFC3339))
		}
	}
}

// usable tells whether s can sign now: its key is held (it is forgotten at
// expiry) and its certificate valid.
func (a *Agent) usable(s *session) bool {
	return s.cred.Signer != nil && s.cred.Valid(a.now())
}

// expire drops s, an expired login the agent cannot renew, and says so.
func (a *Agent) expire(s *session) *response {
	who, when := s.status.Identity, s.status.NotAfter.Format(time.RFC3339)
	a.logf("the credential of %s expired at %s", who, when)
	a.drop(s)
	return failure(CodeExpired, "the credential of %s expired at %s: run 'waxseal login'", who, when)
}

func (a *Agent) clear() {
	a.sessions, a.latest = nil, ""
	a.epoch++
}

// sessionFor is the session for caURL, or for the latest login if caURL is
// empty; nil if there is none.
func (a *Agent) sessionFor(caURL string) *session {
	if caURL == "" {
		return a.sessions[a.latest]
	}
	return a.sessions[caKey(caURL)]
}

func (a *Agent) statusOf(s *session) Status {
	var st Status
	if s != nil {
		st = s.status
		if !a.usable(s) {
			st.LoggedIn, st.Expired = false, true
		}
	}
	st.PID, st.Version = os.Getpid(), a.Version
	return st
}

func (a *Agent) drop(s *session) {
	k := caKey(s.status.CAURL)
	delete(a.sessions, k)
	if a.latest == k {
		a.latest = ""
	}
}

// handleLogin runs without a.mu held, taking it only to read the agent's
// settings and to keep the credential: the CA round trip in between holds up
// no other request.
func (a *Agent) handleLogin(ctx context.Context, req *request) *response {
	kt := keys.Default
	if req.KeyType != "" {
		var err error
		if kt, err = keys.ParseType(req.KeyType); err != nil {
			return failure(CodeBadRequest, "%v", err)
		}
	}
	if req.CAURL == "" {
		return failure(CodeBadRequest, "login without a CA URL")
	}
	if req.Refresh != nil {
		if _, err := req.Refresh.Source(); err != nil {
			return failure(CodeBadRequest, "refresh: %v", err)
		}
	}
	a.mu.Lock()
	a.logins++
	login, epoch, seq := a.loginFunc(), a.epoch, a.logins
	a.mu.Unlock()
	st, cred, err := a.obtain(ctx, login, req.CAURL, req.Token, kt)
	if err != nil {
		return failure(CodeLogin, "%v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.epoch != epoch {
		// The user logged out while this login was under way: what
		// they asked last is what holds.
		return failure(CodeLogin, "the agent was logged out while this login was under way; log in again")
	}
	k := caKey(req.CAURL)
	if old := a.sessions[k]; old != nil && old.seq > seq {
		// Logins finish in any order; the one asked for last holds.
		return failure(CodeLogin, "a later login to %s, as %s, finished first and holds; this one is not kept", old.status.CAURL, old.status.Identity)
	}
	s := &session{cred: cred, refresh: req.Refresh, status: st, since: a.now(), seq: seq}
	if req.Refresh != nil {
		s.status.Refresh = req.Refresh.Provider
	}
	if a.sessions == nil {
		a.sessions = map[string]*session{}
	}
	if _, ok := a.sessions[k]; !ok && len(a.sessions) >= maxSessions {
		oldest := slices.MinFunc(slices.Collect(maps.Values(a.sessions)), func(x, y *session) int { return x.since.Compare(y.since) })
		a.logf("dropped the credential from %s to make room for %s", oldest.status.CAURL, req.CAURL)
		a.drop(oldest)
	}
	a.sessions[k], a.latest = s, k
	a.logf("login: %s (%s) at %s, certificate valid until %s", st.Identity, st.Issuer, st.CAURL, st.NotAfter.Format(time.RFC3339))
	out := a.statusOf(s)
	return &response{Status: &out}
}

// obtain turns a token into a credential and the status describing it. It
// runs without a.mu held.
func (a *Agent) obtain(ctx context.Context, login loginVia, caURL, token string, kt keys.Type) (Status, *credential.Credential, error) {
	claims, err := oidc.Inspect(token)
	if err != nil {
		return Status{}, nil, fmt.Errorf("identity token: %w", err)
	}
	if err := claims.Check(a.now(), ""); err != nil {
		return Status{}, nil, fmt.Errorf("identity token: %w", err)
	}
	subject, err := claims.Subject()
	if err != nil {
		return Status{}, nil, fmt.Errorf("identity token: %w", err)
	}
	cred, err := login(ctx, caURL, token, kt)
	if err != nil {
		return Status{}, nil, err
	}
	// What the certificate names is what verifiers match (--certificate-identity,
	// allowed signers): for a CI login, a workflow URI rather than the token's sub.
	issuer := claims.Issuer
	if id, err := fulcio.Identity(cred.Certificate); err == nil && id.SAN != "" {
		subject, issuer = id.SAN, id.Issuer
	}
	return Status{LoggedIn: true, Identity: subject, Issuer: issuer, NotAfter: cred.Certificate.NotAfter,
		CAURL: caURL, KeyType: string(kt)}, cred, nil
}

// current returns the valid credential of s, renewing an expired one if it
// can. It is called with a.mu held, and lets go of it while renewing, so
// that requests for other CAs, status and logout are answered meanwhile;
// requests for s wait for that one renewal rather than each starting one.
func (a *Agent) current(ctx context.Context, s *session) (*credential.Credential, *response) {
	for {
		if s == nil {
			return nil, failure(CodeNoCredential, "no credential: run 'waxseal login'")
		}
		if a.usable(s) {
			return s.cred, nil
		}
		if s.refresh == nil {
			return nil, a.expire(s)
		}
		k := caKey(s.status.CAURL)
		who, when := s.status.Identity, s.status.NotAfter.Format(time.RFC3339)
		if wait := s.refreshing; wait != nil {
			s.waiting++
			a.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
			}
			a.mu.Lock()
			s.waiting--
			if ctx.Err() != nil {
				return nil, failure(CodeExpired, "the credential of %s expired at %s and renewing it did not finish in time: %v", who, when, ctx.Err())
			}
			if a.sessions[k] != s {
				// The renewal failed (and dropped s), or a login or
				// logout replaced it: asked for again, by CA.
				s = a.sessions[k]
				if s == nil {
					return nil, failure(CodeNoCredential, "the credential of %s expired at %s and was not renewed (the renewal failed, or the agent was logged out): run 'waxseal login'", who, when)
				}
			}
			continue
		}
		done := make(chan struct{})
		s.refreshing = done
		spec, old, login := s.refresh, s.status, a.loginFunc()
		a.mu.Unlock()
		st, cred, err := a.renew(ctx, login, spec, old)
		a.mu.Lock()
		s.refreshing = nil
		close(done)
		if err != nil {
			a.logf("refresh for %s failed: %v", who, err)
			if a.sessions[k] != s && a.sessions[k] != nil {
				// A login replaced s meanwhile: its credential stands.
				s = a.sessions[k]
				continue
			}
			if a.sessions[k] == s {
				a.drop(s)
			}
			return nil, failure(CodeExpired, "the credential of %s expired at %s and refreshing it failed: %v: run 'waxseal login'", who, when, err)
		}
		if a.sessions[k] != s {
			// Logged out, or replaced by a login, while renewing: that
			// stands, and the renewed credential is not kept.
			s = a.sessions[k]
			continue
		}
		s.cred, s.status = cred, st
		a.logf("refreshed: %s, certificate valid until %s", st.Identity, st.NotAfter.Format(time.RFC3339))
		return s.cred, nil
	}
}

// renew gets a new credential for the login old describes through spec. It
// runs without a.mu held.
func (a *Agent) renew(ctx context.Context, login loginVia, spec *oidc.Spec, old Status) (Status, *credential.Credential, error) {
	src, err := spec.Source()
	if err != nil {
		return Status{}, nil, err
	}
	if gh, ok := src.(oidc.GitHubActions); ok {
		gh.HTTPClient = a.HTTPClient
		src = gh
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return Status{}, nil, fmt.Errorf("%s: %w", spec.Provider, err)
	}
	st, cred, err := a.obtain(ctx, login, old.CAURL, tok, keys.Type(old.KeyType))
	if err != nil {
		return Status{}, nil, fmt.Errorf("%s: %w", spec.Provider, err)
	}
	st.Refresh = old.Refresh
	return st, cred, nil
}

// handleSign signs with the key of the certificate the request names. It
// never renews: a renewed credential has another certificate, which the
// client fetches (and the agent renews) with its next certificate request.
func (a *Agent) handleSign(req *request) *response {
	var s *session
	for _, c := range a.sessions {
		if fp := sha256.Sum256(c.cred.Certificate.Raw); subtle.ConstantTimeCompare(fp[:], req.Certificate) == 1 {
			s = c
		}
	}
	if s == nil {
		return failure(CodeChanged, "the agent's certificate changed (it was refreshed or replaced by another login); fetch it again")
	}
	if !a.usable(s) {
		if s.refresh == nil {
			return a.expire(s)
		}
		return failure(CodeChanged, "the agent's certificate expired at %s; fetch it again (the agent renews it)", s.status.NotAfter.Format(time.RFC3339))
	}
	cred := s.cred
	var opts crypto.SignerOpts
	var h crypto.Hash
	if req.Hash != "" {
		var ok bool
		if h, ok = hashByName[req.Hash]; !ok {
			return failure(CodeBadRequest, "unsupported hash %q", req.Hash)
		}
		if len(req.Data) != h.Size() {
			return failure(CodeBadRequest, "a %s digest is %d bytes, got %d", req.Hash, h.Size(), len(req.Data))
		}
	}
	opts = h
	switch cred.Signer.Public().(type) {
	case ed25519.PublicKey:
		if h != 0 {
			opts = &ed25519.Options{Hash: h}
		}
	case *rsa.PublicKey:
		if req.PSSSaltLength != nil {
			opts = &rsa.PSSOptions{SaltLength: *req.PSSSaltLength, Hash: h}
		}
	default:
		if h == 0 {
			return failure(CodeBadRequest, "a %T signs digests only", cred.Signer.Public())
		}
	}
	sig, err := cred.Signer.Sign(rand.Reader, req.Data, opts)
	if err != nil {
		return failure(CodeBadRequest, "signing: %v", err)
	}
	return &response{Signature: sig}
}

var hashByName = map[string]crypto.Hash{}

func init() {
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		hashByName[h.String()] = h
	}
}

func failure(code, format string, args ...any) *response {
	return &response{Code: code, Error: fmt.Sprintf(format, args...)}
}
