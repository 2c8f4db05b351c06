package agent

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/server/servertest"
)

// slowCA is an agent whose logins wait up to d for the CA, reporting on
// entered when one starts and on cut whether its context was cut short.
func slowCA(d time.Duration) (*Agent, chan struct{}, chan bool) {
	entered, cut := make(chan struct{}, 4), make(chan bool, 4)
	a := &Agent{Login: func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error) {
		entered <- struct{}{}
		select {
		case <-ctx.Done():
			cut <- true
			return nil, ctx.Err()
		case <-time.After(d):
			cut <- false
			return nil, errors.New("the CA says no")
		}
	}}
	return a, entered, cut
}

func rawDial(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UnixConn)
}

func encoded(t *testing.T, r *request) []byte {
	t.Helper()
	b, err := encodeMessage(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wasCut(t *testing.T, cut chan bool) bool {
	t.Helper()
	select {
	case v := <-cut:
		return v
	case <-time.After(30 * time.Second): // a hang guard, not a measurement
		t.Fatal("the login never ended")
	}
	return false
}

// TestHangupWatch: what counts as a client hanging up on a login, and what
// does not. Two requests in one write are both answered, and the
// connection serves a third; a client that shuts its writing side and
// waits for the answer gets it; a client gone with answers unread
// (ECONNRESET) cuts the login; so does a Go client whose own deadline ended
// the call, which closes its connection.
func TestHangupWatch(t *testing.T) {
	stack := servertest.Start(t)
	login := &request{Op: "login", CAURL: stack.URL, Token: stack.Token(t, "alice@example.com")}

	t.Run("pipelined", func(t *testing.T) {
		a, _, cut := slowCA(300 * time.Millisecond)
		c := rawDial(t, startAgent(t, a))
		if _, err := c.Write(append(encoded(t, login), encoded(t, &request{Op: "status"})...)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		var r1, r2, r3 response
		if err := readMessage(c, &r1); err != nil {
			t.Fatal(err)
		}
		if err := readMessage(c, &r2); err != nil || r2.Status == nil {
			t.Fatalf("the request sent with the login: %+v, %v", r2, err)
		}
		if wasCut(t, cut) {
			t.Error("a login was cut for a request sent early")
		}
		c.Write(encoded(t, login))
		if err := readMessage(c, &r3); err != nil || r3.Error != "the CA says no" {
			t.Fatalf("a third request on the connection: %+v, %v", r3, err)
		}
		wasCut(t, cut)
	})
	t.Run("half-closed", func(t *testing.T) {
		a, _, cut := slowCA(300 * time.Millisecond)
		c := rawDial(t, startAgent(t, a))
		c.Write(encoded(t, login))
		c.CloseWrite()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		var r response
		if err := readMessage(c, &r); err != nil {
			t.Fatal(err)
		}
		if wasCut(t, cut) {
			t.Errorf("the login of a client that only shut its writing side was cut: %q", r.Error)
		}
	})
	t.Run("gone with answers unread", func(t *testing.T) {
		a, entered, cut := slowCA(time.Minute)
		c := rawDial(t, startAgent(t, a))
		c.Write(append(encoded(t, &request{Op: "status"}), encoded(t, login)...))
		<-entered
		time.Sleep(50 * time.Millisecond) // the status answer is in c's buffer
		c.Close()
		if !wasCut(t, cut) {
			t.Error("a client gone with answers unread did not cut its login")
		}
	})
	t.Run("client deadline", func(t *testing.T) {
		a, _, cut := slowCA(time.Minute)
		cl := dial(t, startAgent(t, a))
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := cl.Login(ctx, LoginRequest{Token: login.Token, CAURL: login.CAURL}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("login past the caller's deadline: %v", err)
		}
		if !wasCut(t, cut) {
			t.Error("a login the Go client gave up on went on")
		}
	})
}

// TestAbandonedLoginIsCut: a login whose client hangs up while the agent
// waits on the CA is cut short (its context ends), and nothing is kept.
func TestAbandonedLoginIsCut(t *testing.T) {
	stack := servertest.Start(t)
	entered, cut := make(chan struct{}), make(chan struct{})
	a := &Agent{Login: func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error) {
		close(entered)
		<-ctx.Done()
		close(cut)
		return nil, ctx.Err()
	}}
	path := startAgent(t, a)
	ctx := ctxTimeout(t)
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	go c.Login(ctx, LoginRequest{Token: stack.Token(t, "alice@example.com"), CAURL: stack.URL})
	<-entered
	c.Close() // Ctrl-C
	select {
	case <-cut:
	case <-hangGuard(t).Done():
		t.Fatal("the agent went on with a login whose client hung up")
	}
	// Nothing was kept, and the agent answers others.
	c2 := dial(t, path)
	if _, all, err := c2.Sessions(hangGuard(t)); err != nil || len(all) != 0 {
		t.Errorf("sessions after an abandoned login: %+v, %v", all, err)
	}
}
