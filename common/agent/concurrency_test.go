package agent

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/server/servertest"
)

// hangGuard is a context for a call that must be answered while another
// request is held up: a deadline that turns a hang into a failure, not a
// measurement.
func hangGuard(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// loginInBackground logs in to the agent on path over a connection of its
// own, and says how that went.
func loginInBackground(ctx context.Context, path string, lr LoginRequest) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := Dial(ctx, path)
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = c.Login(ctx, lr)
		done <- err
	}()
	return done
}

// TestSlowLoginHoldsUpNothing: while one login waits on its CA, the agent
// answers everyone else — status, another CA's certificate, signatures,
// logout — and a login that was under way when the user logged out is not
// kept.
func TestSlowLoginHoldsUpNothing(t *testing.T) {
	stack := servertest.Start(t)
	entered, release := make(chan struct{}), make(chan struct{})
	a := &Agent{Login: func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error) {
		if strings.HasSuffix(caURL, "/slow") {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return (&Agent{}).loginFunc()(ctx, stack.URL, token, kt)
	}}
	path := startAgent(t, a)
	ctx := ctxTimeout(t)
	c := dial(t, path)
	if _, err := c.Login(ctx, LoginRequest{Token: stack.Token(t, "alice@example.com"), CAURL: stack.URL}); err != nil {
		t.Fatal(err)
	}
	cred, err := c.CredentialFrom(ctx, stack.URL)
	if err != nil {
		t.Fatal(err)
	}

	slow := loginInBackground(ctx, path, LoginRequest{Token: stack.Token(t, "bob@example.com"), CAURL: stack.URL + "/slow"})
	<-entered

	c3 := dial(t, path)
	if _, all, err := c3.Sessions(hangGuard(t)); err != nil || len(all) != 1 {
		t.Fatalf("status during another login: %+v, %v", all, err)
	}
	if _, err := c3.CredentialFrom(hangGuard(t), stack.URL); err != nil {
		t.Fatalf("certificate during another login: %v", err)
	}
	digest := sha256.Sum256([]byte("during"))
	if _, err := keys.SignDigest(cred.Signer, digest[:]); err != nil {
		t.Fatalf("signing during another login: %v", err)
	}
	if err := c3.Logout(hangGuard(t)); err != nil {
		t.Fatalf("logout during another login: %v", err)
	}
	close(release)
	if err := <-slow; err == nil || !strings.Contains(err.Error(), "logged out while this login was under way") {
		t.Errorf("a login under way at logout: %v", err)
	}
	if _, all, _ := c3.Sessions(ctx); len(all) != 0 {
		t.Errorf("sessions after logout: %+v", all)
	}
}

// TestOneRenewal: requests for an expired credential that the agent can
// renew wait for one renewal and get its certificate; meanwhile the agent
// answers status; a renewal that ends after a logout is not kept.
func TestOneRenewal(t *testing.T) {
	stack := servertest.Start(t)
	var clk clock
	var renewals atomic.Int32
	var mu sync.Mutex
	var gate chan struct{} // closed to let a renewal through; nil: no wait
	entered := make(chan struct{}, 4)
	a := &Agent{Now: clk.now}
	a.Login = func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error) {
		renewals.Add(1) // every login, counted from the first renewal on
		mu.Lock()
		g := gate
		mu.Unlock()
		if g != nil {
			entered <- struct{}{}
			select {
			case <-g:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			clk.set(0) // the CA issues for real time
		}
		return (&Agent{}).loginFunc()(ctx, caURL, token, kt)
	}
	path := startAgent(t, a)
	ctx := ctxTimeout(t)
	c := dial(t, path)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(stack.Token(t, "carol@example.com")), 0o600); err != nil {
		t.Fatal(err)
	}
	login := func() *Status {
		t.Helper()
		st, err := c.Login(ctx, LoginRequest{Token: stack.Token(t, "carol@example.com"), CAURL: stack.URL,
			Refresh: &oidc.Spec{Provider: oidc.ProviderFile, File: file}})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := login()
	old, err := c.CredentialFrom(ctx, stack.URL)
	if err != nil {
		t.Fatal(err)
	}

	renewals.Store(0)
	mu.Lock()
	gate = make(chan struct{})
	mu.Unlock()
	clk.set(time.Until(st.NotAfter) + time.Minute)
	// Signing with the expired certificate is refused at once (not after a
	// renewal): the client fetches the renewed one.
	if _, err := keys.SignDigest(old.Signer, make([]byte, 32)); !errors.Is(err, ErrChanged) {
		t.Errorf("signing with an expired, renewable certificate: %v", err)
	}
	const n = 3
	got := make(chan *credential.Credential, n)
	for range n {
		go func() {
			cl, err := Dial(ctx, path)
			if err != nil {
				t.Error(err)
				got <- nil
				return
			}
			defer cl.Close()
			cred, err := cl.CredentialFrom(ctx, stack.URL)
			if err != nil {
				t.Error(err)
			}
			got <- cred
		}()
	}
	<-entered
	if st, err := dial(t, path).Status(hangGuard(t)); err != nil || st.LoggedIn || !st.Expired {
		t.Errorf("status during a renewal: %+v, %v", st, err)
	}
	// The renewal is let through once the other requests wait for it (the
	// test's clock goes back to real time as it ends, which would make the
	// old certificate valid again to a request arriving later).
	for waiting := 0; waiting < n-1; time.Sleep(time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatalf("%d requests wait for the renewal, want %d", waiting, n-1)
		}
		a.mu.Lock()
		s := a.sessionFor(stack.URL)
		if s != nil {
			waiting = s.waiting
		}
		a.mu.Unlock()
		if s == nil {
			t.Fatal("the session went while renewing it")
		}
	}
	mu.Lock()
	close(gate)
	gate = nil
	mu.Unlock()
	var first *credential.Credential
	for range n {
		cred := <-got
		if cred == nil {
			continue
		}
		if first == nil {
			first = cred
		} else if !cred.Certificate.Equal(first.Certificate) {
			t.Error("concurrent requests got different renewed certificates")
		}
	}
	if first == nil || first.Certificate.Equal(old.Certificate) {
		t.Fatal("no renewed certificate")
	}
	if r := renewals.Load(); r != 1 {
		t.Errorf("%d renewals for %d concurrent requests, want 1", r, n)
	}

	// A renewal that a logout overtakes is not kept.
	mu.Lock()
	gate = make(chan struct{})
	mu.Unlock()
	clk.set(time.Until(first.Certificate.NotAfter) + time.Minute)
	renewed := make(chan error, 1)
	go func() {
		_, err := c.CredentialFrom(ctx, stack.URL)
		renewed <- err
	}()
	<-entered
	c3 := dial(t, path)
	if err := c3.Logout(hangGuard(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	close(gate)
	gate = nil
	mu.Unlock()
	if err := <-renewed; !errors.Is(err, ErrNoCredential) {
		t.Errorf("a renewal overtaken by a logout: %v", err)
	}
	if _, all, _ := c3.Sessions(ctx); len(all) != 0 {
		t.Errorf("sessions after logout: %+v", all)
	}
}

// TestStuckAgent: an agent that accepts nothing (stopped with SIGSTOP, or
// stuck) is given up on after quickTimeout for what it answers from memory,
// with a message that says so.
func TestStuckAgent(t *testing.T) {
	path := filepath.Join(shortDir(t), "run", "agent.sock")
	ln, err := Listen(path) // listening, never accepting: a stopped process
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer func(d time.Duration) { quickTimeout = d }(quickTimeout)
	quickTimeout = 200 * time.Millisecond
	c := dial(t, path)
	_, err = c.Status(ctxTimeout(t))
	if err == nil || !strings.Contains(err.Error(), "did not answer within 200ms") || !strings.Contains(err.Error(), path) {
		t.Errorf("status from a stuck agent: %v", err)
	}
}

// TestLaterLoginHolds: logins to one CA finish in any order; the one asked
// for last holds, so that a login the user gave up on (a slow CA, Ctrl-C)
// cannot replace the one they made next and sign as someone else.
func TestLaterLoginHolds(t *testing.T) {
	stack := servertest.Start(t)
	entered, release := make(chan struct{}), make(chan struct{})
	a := &Agent{Login: func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error) {
		if c, _ := oidc.Inspect(token); c != nil && c.Email == "mallory@example.com" {
			close(entered)
			<-release
		}
		return (&Agent{}).loginFunc()(ctx, caURL, token, kt)
	}}
	path := startAgent(t, a)
	ctx := ctxTimeout(t)
	first := loginInBackground(ctx, path, LoginRequest{Token: stack.Token(t, "mallory@example.com"), CAURL: stack.URL})
	<-entered
	c := dial(t, path)
	if _, err := c.Login(hangGuard(t), LoginRequest{Token: stack.Token(t, "alice@example.com"), CAURL: stack.URL}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-first; err == nil || !strings.Contains(err.Error(), "a later login") {
		t.Errorf("the earlier login, finishing last: %v", err)
	}
	cred, err := c.CredentialFrom(ctx, stack.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := cred.Certificate.EmailAddresses; len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("the agent signs as %v after the later login as alice", got)
	}
}

// TestCallerDeadlineIsNotAStuckAgent: a call cut short by the caller's own
// deadline says so, not that the agent is stuck.
func TestCallerDeadlineIsNotAStuckAgent(t *testing.T) {
	path := filepath.Join(shortDir(t), "run", "agent.sock")
	ln, err := Listen(path) // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for range 20 {
		c := dial(t, path)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := c.Status(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "stuck") {
			t.Fatalf("status cut short by the caller's deadline: %v", err)
		}
	}
}
