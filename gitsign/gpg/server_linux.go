//go:build linux

package gpg

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/waxseal/waxseal/gitsign/front"
)

// Serve is gitsign-core --verify-server SOCKET, the verify server that
// the gitsign git starts hands signatures to (see package front): it
// listens on SOCKET, says "ready" on ready (then points it at /dev/null),
// and answers one request at a time until no request has come for
// front.ServerIdle seconds or SOCKET is no longer its own.
//
// Each request is verified as a gitsign-core started by git for it would
// verify it: in the client's working directory, with its environment
// (process-wide, so one request at a time), the object it read from git,
// and nothing kept from one request to the next but what is named by the
// content it was computed from (parsed keys, verified certificate chains
// and SCTs) and the verdict cache, which a process of its own reads too.
func Serve(ctx context.Context, path string, ready *os.File, stderr io.Writer) int {
	s, err := listen(path)
	if err != nil {
		fmt.Fprintf(ready, "%v\n", err)
		return 1
	}
	defer s.close()
	fmt.Fprintf(ready, "ready\n")
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		syscall.Dup3(int(null.Fd()), int(ready.Fd()), 0)
		null.Close()
	}
	idle := time.Duration(front.ServerIdle) * time.Second
	last := time.Now()
	for time.Since(last) < idle && s.ours() {
		s.ln.SetDeadline(time.Now().Add(min(idle-time.Since(last), 10*time.Second)))
		conn, err := s.ln.AcceptUnix()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "gitsign-core: verify server: %v\n", err)
			return 1
		}
		s.handle(ctx, conn)
		last = time.Now()
	}
	return 0
}

type server struct {
	path string
	ln   *net.UnixListener
	fi   os.FileInfo // the socket file, to tell whether it is still this server's
	self string      // front.ExecutableID of this program
}

// listen binds path, atomically: the socket is made under another name
// and renamed, so that a client never connects to one not yet listening,
// and a server started at the same moment by another gitsign replaces it
// rather than failing (the one replaced then ends).
func listen(path string) (*server, error) {
	if err := front.CheckPrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	self, err := front.ExecutableID("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	fi, err := os.Lstat(tmp)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &server{path: path, ln: ln, fi: fi, self: self}, nil
}

// ours tells whether the socket file is still the one this server made.
func (s *server) ours() bool {
	fi, err := os.Lstat(s.path)
	return err == nil && os.SameFile(fi, s.fi)
}

func (s *server) close() {
	if s.ours() {
		os.Remove(s.path)
	}
	s.ln.Close()
}

// requestTimeout bounds reading a request and writing its answer, so that
// a client that stalls does not hold up the others.
const requestTimeout = 10 * time.Second

func (s *server) handle(ctx context.Context, conn *net.UnixConn) {
	defer conn.Close()
	if !sameUser(conn) {
		return
	}
	conn.SetDeadline(time.Now().Add(requestTimeout))
	req, err := front.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		return
	}
	resp := s.answer(ctx, req)
	conn.SetDeadline(time.Now().Add(requestTimeout))
	conn.Write(front.AppendResponse(nil, resp))
}

// sameUser tells whether the client runs as this user.
func sameUser(conn *net.UnixConn) bool {
	raw, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	var cred *syscall.Ucred
	cerr := raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	return cerr == nil && err == nil && int(cred.Uid) == os.Getuid()
}

func declined(why string) *front.Response {
	return &front.Response{Declined: true, Stderr: []byte(why)}
}

// answer verifies one request in the client's directory and environment.
func (s *server) answer(ctx context.Context, req *front.Request) (resp *front.Response) {
	if req.Core != s.self {
		return declined("this verify server runs another gitsign-core")
	}
	if len(req.Args) == 0 || !front.IsVerify(req.Args) {
		return declined("the verify server only verifies")
	}
	defer func() {
		if p := recover(); p != nil {
			// A bug: the client has a gitsign-core of its own verify,
			// which shows it as it is.
			resp = declined(fmt.Sprint("verify server: panic: ", p))
		}
	}()
	if err := os.Chdir(req.Dir); err != nil {
		return declined(err.Error())
	}
	defer os.Chdir("/")
	os.Clearenv()
	defer os.Clearenv() // nothing of it (a token, say) kept between requests
	for _, kv := range req.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			os.Setenv(k, v)
		}
	}
	front.ForgetLayouts()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var status, stdout, stderr bytes.Buffer
	e := &Env{Stdin: bytes.NewReader(req.Payload), Stdout: &stdout, Stderr: &stderr, Status: &status,
		Getenv: os.Getenv, CalledByGit: true}
	code := Run(ctx, e, req.Args, nil)
	return &front.Response{Code: code, Status: status.Bytes(), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
}
