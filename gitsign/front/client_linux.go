//go:build linux

package front

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverTimeout bounds each read and write of a request, after which the
// signature is verified by a gitsign-core of its own, and the server's
// socket is removed, so that the next check starts a new one rather than
// wait for a server that is stuck. A check takes milliseconds; this is for
// one stopped (SIGSTOP, a debugger) or starved.
const serverTimeout = 10 * time.Second

// maxSocketPath is what a Unix socket's address holds (sun_path, with its
// terminating NUL).
const maxSocketPath = 107

// verifyByServer answers git's --verify (args, parsed as g) through the
// verify server, starting one if none runs. done is false when it read
// nothing and wrote nothing: the server is switched off or cannot be
// reached, and the caller hands the invocation to gitsign-core as it is.
// Once the object has been read from stdin, a server that fails or
// declines has a gitsign-core of its own verify it.
func (e *mainEnv) verifyByServer(ctx context.Context, core string, args []string, g *Args) (code int, done bool) {
	if !LoadConfig(ctx, "", os.Getenv).VerifyServer {
		return 0, false
	}
	status, ok := e.statusFile(g.StatusFD)
	if !ok {
		return 0, false // gitsign-core says what is wrong with it
	}
	self, err := ExecutableID("/proc/self/exe")
	if err != nil {
		return 0, false
	}
	coreID, err := ExecutableID(core)
	if err != nil {
		return 0, false
	}
	dir, err := SocketDir(os.Getenv)
	if err != nil {
		return 0, false
	}
	path := SocketPath(dir, self, coreID, os.Getenv("GODEBUG"), namespaces())
	if len(path) > maxSocketPath {
		return 0, false
	}
	conn, err := dialServer(path)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		if startServer(core, path) == nil {
			conn, err = dialServer(path)
		}
	}
	if err != nil {
		return 0, false
	}
	defer conn.Close()
	sockFile, _ := os.Lstat(path)

	payload, err := io.ReadAll(io.LimitReader(e.stdin, maxObject+1))
	if err != nil {
		// gitsign-core would fail to read it too; it says so.
		return e.verifyInCore(core, args, g, payload), true
	}
	cwd, err := os.Getwd()
	if err != nil {
		return e.verifyInCore(core, args, g, payload), true
	}
	req := AppendRequest(nil, &Request{Core: coreID, Dir: cwd, Args: args, Env: os.Environ(), Payload: payload})
	if _, err := conn.Write(req); err != nil {
		if errors.Is(err, syscall.EAGAIN) {
			removeIfSame(path, sockFile)
		}
		return e.verifyInCore(core, args, g, payload), true
	}
	resp, err := ReadResponse(bufio.NewReader(conn))
	if errors.Is(err, syscall.EAGAIN) {
		// Timed out: a server that is stuck gives way to a new one.
		removeIfSame(path, sockFile)
	}
	if err != nil || resp.Declined {
		return e.verifyInCore(core, args, g, payload), true
	}
	status.Write(resp.Status)
	e.stdout.Write(resp.Stdout)
	e.stderr.Write(resp.Stderr)
	return resp.Code, true
}

// namespaces names the mount, user and PID namespaces this process is in:
// a server started in other ones sees other files under the same names
// (a container or a toolbox sharing the socket directory), so each has
// servers of its own, and a server declines a client from elsewhere.
func namespaces() string {
	var ns []string
	for _, n := range []string{"mnt", "user", "pid"} {
		l, _ := os.Readlink("/proc/self/ns/" + n)
		ns = append(ns, l)
	}
	return strings.Join(ns, " ")
}

// removeIfSame removes the socket at path if it is still the file it was
// when it was dialed (fi): a server that has replaced it since is left
// alone.
func removeIfSame(path string, fi os.FileInfo) {
	if now, err := os.Lstat(path); err == nil && fi != nil && os.SameFile(now, fi) {
		os.Remove(path)
	}
}

// dialServer connects to the verify server at path and checks that it
// runs as this user. Reads and writes time out after serverTimeout.
func dialServer(path string) (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err == nil && int(cred.Uid) != os.Getuid() {
		err = fmt.Errorf("%s: the verify server runs as user %d", path, cred.Uid)
	}
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	tv := syscall.NsecToTimeval(serverTimeout.Nanoseconds())
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
	return os.NewFile(uintptr(fd), path), nil
}

// startServer starts gitsign-core --verify-server path, detached (a
// session of its own, standard streams on /dev/null, in /), and waits
// until it listens, or says why it could not.
func startServer(core, path string) error {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	// Descriptors git passed on (the status descriptor, others it leaked)
	// stay with git: a server holding a pipe of git's would keep whoever
	// reads it waiting.
	restore := closeOnExec()
	// Its environment is each request's; of this one it keeps only what
	// its socket is named by, and no credential of this process's.
	env := []string{} // nil would be this process's whole environment
	if v, ok := os.LookupEnv("GODEBUG"); ok {
		env = append(env, "GODEBUG="+v)
	}
	p, err := os.StartProcess(core, []string{core, ServerFlag, path}, &os.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []*os.File{null, w, null},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	restore()
	w.Close()
	if err != nil {
		return err
	}
	p.Release()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	said, err := io.ReadAll(io.LimitReader(r, 4096))
	if !bytes.Equal(said, []byte("ready\n")) {
		if err == nil {
			err = fmt.Errorf("%s %s: %q", core, ServerFlag, bytes.TrimSpace(said))
		}
		return err
	}
	return nil
}

// closeOnExec marks every open descriptor above stderr close-on-exec and
// returns a function that unmarks those that were not.
func closeOnExec() (restore func()) {
	var marked []int
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, ent := range ents {
			fd, err := strconv.Atoi(ent.Name())
			if err != nil || fd <= 2 {
				continue
			}
			flags, err := fcntl(fd, syscall.F_GETFD, 0)
			if err == nil && flags&syscall.FD_CLOEXEC == 0 {
				if _, err := fcntl(fd, syscall.F_SETFD, flags|syscall.FD_CLOEXEC); err == nil {
					marked = append(marked, fd)
				}
			}
		}
	}
	return func() {
		for _, fd := range marked {
			if flags, err := fcntl(fd, syscall.F_GETFD, 0); err == nil {
				fcntl(fd, syscall.F_SETFD, flags&^syscall.FD_CLOEXEC)
			}
		}
	}
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// verifyInCore has a gitsign-core of its own verify: the object read from
// stdin is handed to it on a pipe, the status descriptor and the standard
// streams as git passed them.
func (e *mainEnv) verifyInCore(core string, args []string, g *Args, payload []byte) int {
	r, w, err := os.Pipe()
	if err != nil {
		return e.report(core, err)
	}
	files := []*os.File{r, os.Stdout, os.Stderr}
	if g.StatusFD > 2 {
		for len(files) <= g.StatusFD {
			files = append(files, nil)
		}
		// Not closed here, nor by a finalizer: the descriptor is git's.
		f := os.NewFile(uintptr(g.StatusFD), "status-fd")
		defer runtime.KeepAlive(f)
		files[g.StatusFD] = f
	}
	p, err := os.StartProcess(core, append([]string{core}, args...), &os.ProcAttr{
		Env:   append(os.Environ(), DelegatedEnv+"=1"),
		Files: files,
	})
	r.Close()
	if err != nil {
		w.Close()
		return e.report(core, err)
	}
	go func() {
		w.Write(payload)
		w.Close()
	}()
	st, err := p.Wait()
	if err != nil {
		return e.report(core, err)
	}
	return st.ExitCode()
}

func (e *mainEnv) report(core string, err error) int {
	fmt.Fprintf(e.stderr, "gitsign: error: running %s: %v\n", core, err)
	return 1
}

// ExecutableID names the file at path (following links) as it is now: a
// new build is a new file or the same file rewritten, so its device, inode,
// size, modification and change times tell builds apart.
func ExecutableID(path string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d:%d:%d.%09d:%d.%09d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), nil
}
