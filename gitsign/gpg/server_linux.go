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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/internal/readfile"
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
	s.last.Store(time.Now().UnixNano())
	for s.ours() && (s.busy.Load() > 0 || time.Since(time.Unix(0, s.last.Load())) < idle) {
		s.ln.SetDeadline(time.Now().Add(10 * time.Second))
		conn, err := s.ln.AcceptUnix()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "gitsign-core: verify server: %v\n", err)
			return 1
		}
		// Requests are read side by side, so that a client that stalls
		// holds up no other; they are answered one at a time.
		s.busy.Add(1)
		go func() {
			defer s.busy.Add(-1)
			s.handle(ctx, conn)
			s.last.Store(time.Now().UnixNano())
		}()
	}
	return 0
}

type server struct {
	path string
	ln   *net.UnixListener
	fi   os.FileInfo // the socket file, to tell whether it is still this server's
	self string      // front.ExecutableID of this program
	own  *process    // this process, for comparing clients with
	mu   sync.Mutex  // one request answered at a time: each sets the process's directory and environment
	busy atomic.Int32
	last atomic.Int64 // when a request was last answered, in ns
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
	own, err := processOf(os.Getpid())
	if err != nil {
		return nil, err
	}
	// Shorter than the socket's own name, so that it fits an address.
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%d", os.Getpid()))
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
	return &server{path: path, ln: ln, fi: fi, self: self, own: own}, nil
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
	pid, ok := peerOf(conn)
	if !ok {
		return // another user's: not a word
	}
	conn.SetDeadline(time.Now().Add(requestTimeout))
	req, err := front.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		return
	}
	var resp *front.Response
	if why := s.own.unlike(pid); why != "" {
		// Verified here, it would see other files, or escape limits the
		// client runs under: it verifies in a process of its own.
		resp = declined("the client " + why)
	} else {
		s.mu.Lock()
		resp = s.answer(ctx, req)
		s.mu.Unlock()
	}
	conn.SetDeadline(time.Now().Add(requestTimeout))
	conn.Write(front.AppendResponse(nil, resp))
}

// peerOf is the process at the other end of conn, when it runs as this
// user.
func peerOf(conn *net.UnixConn) (pid int, ok bool) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *syscall.Ucred
	cerr := raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if cerr != nil || err != nil || int(cred.Uid) != os.Getuid() || cred.Pid <= 0 {
		return 0, false
	}
	return int(cred.Pid), true
}

// process is what, besides its user, decides what a verification run for
// a process sees and may do: its namespaces, root directory and groups,
// and the limits it runs under (no_new_privs, a seccomp filter), which sandboxes
// (bubblewrap, Flatpak, Landlock, systemd's) set.
type process struct {
	ns         [3]os.FileInfo // mnt, user, pid
	root       os.FileInfo
	groups     string // the Gid and Groups lines of /proc/PID/status: which files it may read
	noNewPrivs bool
	seccomp    bool
}

func processOf(pid int) (*process, error) {
	p := &process{}
	dir := "/proc/" + strconv.Itoa(pid)
	var err error
	for i, n := range []string{"mnt", "user", "pid"} {
		if p.ns[i], err = os.Stat(dir + "/ns/" + n); err != nil {
			return nil, err
		}
	}
	if p.root, err = os.Stat(dir + "/root"); err != nil {
		return nil, err
	}
	status, err := readfile.Read(dir + "/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "Gid", "Groups":
			p.groups += k + ":" + strings.Join(strings.Fields(v), " ") + "\n"
		case "NoNewPrivs":
			p.noNewPrivs = v != "0"
		case "Seccomp":
			p.seccomp = v != "0"
		}
	}
	return p, nil
}

// unlike says how the process pid differs from p in what it may see or do,
// "" if it does not.
func (p *process) unlike(pid int) string {
	q, err := processOf(pid)
	switch {
	case err != nil:
		return "cannot be compared with the server: " + err.Error()
	case !os.SameFile(p.ns[0], q.ns[0]) || !os.SameFile(p.ns[1], q.ns[1]) || !os.SameFile(p.ns[2], q.ns[2]):
		return "is in other namespaces"
	case !os.SameFile(p.root, q.root):
		return "has another root directory"
	case p.groups != q.groups:
		return "runs with other groups (newgrp, sg), which decide which files it may read"
	case q.noNewPrivs && !p.noNewPrivs, q.seccomp && !p.seccomp:
		return "runs under limits the server does not (no_new_privs, seccomp)"
	}
	return ""
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
