package agent

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/oidc"
)

// Client talks to an agent over one connection. It is safe for concurrent use;
// requests are answered in turn.
type Client struct {
	mu     sync.Mutex
	conn   net.Conn
	path   string
	broken error // why conn is out of step with the agent; nil while it is not
}

// Dial connects to the agent on path (SocketPath() if empty) after checking that the
// socket and its directory are private to this user. It returns an error wrapping
// ErrNotRunning if there is no socket or nobody answers, ErrInsecure if the socket is
// not private.
func Dial(ctx context.Context, path string) (*Client, error) {
	if path == "" {
		path = SocketPath()
	}
	if err := CheckSocket(path); err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("%w on %s: %v", ErrNotRunning, path, err)
	}
	return &Client{conn: c, path: path}, nil
}

// Path is the socket the client is connected to.
func (c *Client) Path() string { return c.path }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Bounds of one round trip. A login, or a certificate request that renews an
// expired certificate, waits for the CA and may take the agent a while;
// anything else the agent answers from memory, so a slow answer to it means
// an agent that is stopped or stuck, which is not waited for long.
var (
	slowTimeout  = requestTimeout + 10*time.Second
	quickTimeout = 10 * time.Second
)

func timeoutOf(op string) time.Duration {
	switch op {
	case "login", "certificate":
		return slowTimeout
	}
	return quickTimeout
}

func (c *Client) call(ctx context.Context, req *request) (*response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, fmt.Errorf("agent %s: %w", req.Op, c.broken)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("agent %s: %w", req.Op, err) // nothing sent
	}
	msg, err := encodeMessage(req)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", req.Op, err) // nothing sent
	}
	deadline := time.Now().Add(timeoutOf(req.Op))
	callers := false // the caller's deadline is the one set
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, callers = d, true
	}
	c.conn.SetDeadline(deadline)
	// A cancellation cuts the exchange short. Once the call is over, a
	// cancellation that had already begun is waited for, so that its
	// deadline cannot land on the next call.
	cut := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.conn.SetDeadline(time.Unix(1, 0))
		close(cut)
	})
	defer func() {
		if !stop() {
			<-cut
		}
	}()
	// A request written in part, or a reply not read in full (a timeout,
	// a cancelled context), leaves the stream out of step: the next
	// request would read this one's late reply. The connection is not
	// used again, and is closed: the agent then sees the hang-up and stops
	// a login under way.
	if _, err := c.conn.Write(msg); err != nil {
		c.broken = fmt.Errorf("connection unusable after an earlier failure: %w", err)
		c.conn.Close()
		return nil, fmt.Errorf("agent %s: %w", req.Op, err)
	}
	var resp response
	if err := readMessage(c.conn, &resp); err != nil {
		var ne net.Error
		if ctx.Err() != nil {
			err = ctx.Err()
		} else if errors.As(err, &ne) && ne.Timeout() {
			err = context.DeadlineExceeded // the socket's deadline came a moment before ctx's
			if !callers {
				err = fmt.Errorf("the agent on %s did not answer within %v: it is stopped or stuck (end it, then start it again: 'waxseal agent')", c.path, timeoutOf(req.Op))
			}
		} else if errors.Is(err, io.EOF) {
			err = errors.New("the agent closed the connection")
		}
		c.broken = fmt.Errorf("connection unusable after an earlier failure: %w", err)
		c.conn.Close()
		return nil, fmt.Errorf("agent %s: %w", req.Op, err)
	}
	if resp.Error != "" {
		switch resp.Code {
		case CodeNoCredential:
			return nil, fmt.Errorf("%w: %s", ErrNoCredential, resp.Error)
		case CodeExpired:
			return nil, fmt.Errorf("%w: %s", ErrExpired, resp.Error)
		case CodeChanged:
			return nil, fmt.Errorf("%w: %s", ErrChanged, resp.Error)
		}
		return nil, fmt.Errorf("agent: %s", resp.Error)
	}
	return &resp, nil
}

// Status describes the agent's credential from its latest login.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	st, _, err := c.Sessions(ctx)
	return st, err
}

// Sessions describes the credential from the latest login, and every
// credential the agent holds, one per CA.
func (c *Client) Sessions(ctx context.Context) (latest *Status, all []Status, err error) {
	resp, err := c.call(ctx, &request{Op: "status"})
	if err != nil {
		return nil, nil, err
	}
	if resp.Status == nil {
		return nil, nil, errors.New("agent status: empty answer")
	}
	return resp.Status, resp.Sessions, nil
}

// Session describes the agent's credential from the CA at caURL, expired
// or not; nil if it holds none from that CA, and then others names the CAs
// it holds credentials from (the same CA under another URL, say).
func (c *Client) Session(ctx context.Context, caURL string) (st *Status, others []string, err error) {
	_, all, err := c.Sessions(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i := range all {
		if caKey(all[i].CAURL) == caKey(caURL) {
			return &all[i], nil, nil
		}
		others = append(others, all[i].CAURL)
	}
	return nil, others, nil
}

// LoginRequest fills the agent.
type LoginRequest struct {
	Token   string // the identity token, already checked by the caller
	CAURL   string // the CA the agent asks for a certificate
	KeyType string // default keys.Default
	// Refresh, if not nil, is how the agent gets a new token when the certificate
	// expires. Only non-interactive providers have one.
	Refresh *oidc.Spec
}

// Login hands the agent a token; the agent generates a key, obtains its certificate,
// and replaces the credential it held from the same CA, if any.
func (c *Client) Login(ctx context.Context, lr LoginRequest) (*Status, error) {
	resp, err := c.call(ctx, &request{Op: "login", Token: lr.Token, CAURL: lr.CAURL, KeyType: lr.KeyType, Refresh: lr.Refresh})
	if err != nil {
		return nil, err
	}
	if resp.Status == nil {
		return nil, errors.New("agent login: empty answer")
	}
	return resp.Status, nil
}

// Logout makes the agent drop every credential.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.call(ctx, &request{Op: "logout"})
	return err
}

// Stop makes the agent drop its credential and stop serving.
func (c *Client) Stop(ctx context.Context) error {
	_, err := c.call(ctx, &request{Op: "stop"})
	return err
}

// chain returns the certificate chain from the CA at caURL (of the latest login if
// empty), leaf first, refreshing it in the agent if it expired and can be refreshed.
func (c *Client) chain(ctx context.Context, caURL string) ([]*x509.Certificate, error) {
	resp, err := c.call(ctx, &request{Op: "certificate", CAURL: caURL})
	if err != nil {
		return nil, err
	}
	if len(resp.Chain) == 0 {
		return nil, errors.New("agent certificate: empty chain")
	}
	var chain []*x509.Certificate
	for _, der := range resp.Chain {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("agent certificate: %w", err)
		}
		chain = append(chain, cert)
	}
	return chain, nil
}

// Credential returns the credential of the agent's latest login, whose Signer signs
// through the agent. It signs for this certificate only: once the agent replaces it (a
// refresh, another login), signing fails with ErrChanged and the caller fetches the
// credential again.
func (c *Client) Credential(ctx context.Context) (*credential.Credential, error) {
	return c.CredentialFrom(ctx, "")
}

// CredentialFrom is Credential for the credential the CA at caURL issued:
// one from another CA would make signatures that do not verify against that
// CA's trusted root. It fails with ErrNoCredential if the agent holds none
// from that CA.
func (c *Client) CredentialFrom(ctx context.Context, caURL string) (*credential.Credential, error) {
	chain, err := c.chain(ctx, caURL)
	if err != nil {
		return nil, err
	}
	fp := sha256.Sum256(chain[0].Raw)
	s := &remoteSigner{c: c, pub: chain[0].PublicKey, cert: fp[:]}
	return &credential.Credential{Signer: s, Certificate: chain[0], Chain: chain[1:]}, nil
}

// remoteSigner is a crypto.Signer whose key stays in the agent.
type remoteSigner struct {
	c    *Client
	pub  crypto.PublicKey
	cert []byte
}

func (s *remoteSigner) Public() crypto.PublicKey { return s.pub }

// signTimeout bounds a signature: crypto.Signer has no context.
const signTimeout = 30 * time.Second

func (s *remoteSigner) Sign(_ io.Reader, data []byte, opts crypto.SignerOpts) ([]byte, error) {
	req := &request{Op: "sign", Certificate: s.cert, Data: data}
	h := opts.HashFunc()
	if h != 0 {
		if _, ok := hashByName[h.String()]; !ok {
			return nil, fmt.Errorf("agent sign: unsupported hash %v", h)
		}
		req.Hash = h.String()
	}
	switch o := opts.(type) {
	case *rsa.PSSOptions:
		salt := o.SaltLength
		req.PSSSaltLength = &salt
	case *ed25519.Options:
		if o.Context != "" {
			return nil, errors.New("agent sign: Ed25519 contexts are not supported")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), signTimeout)
	defer cancel()
	resp, err := s.c.call(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Signature, nil
}
