package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SocketEnv names the environment variable that overrides the socket path.
const SocketEnv = "WAXSEAL_AGENT_SOCK"

// ErrInsecure is returned (wrapped) for a socket or directory another user could have
// planted or could reach.
var ErrInsecure = errors.New("agent socket is not private to this user")

// ErrNotRunning is returned (wrapped) by Dial when no agent listens on the socket.
var ErrNotRunning = errors.New("no waxseal agent is running")

// SocketPath is the default socket: $WAXSEAL_AGENT_SOCK, else
// $XDG_RUNTIME_DIR/waxseal/agent.sock, else waxseal-UID/agent.sock in the
// temporary directory when that is private to the user (macOS's TMPDIR),
// else waxseal/agent/agent-MACHINE.sock in the user's cache directory
// (~/.cache) when the user owns it, else waxseal-UID/agent.sock in the
// shared temporary directory. The shared one comes last: another user can
// make waxseal-UID there first, and so keep this user's agent from
// starting.
func SocketPath() string {
	if p := os.Getenv(SocketEnv); p != "" {
		return p
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "waxseal", "agent.sock")
	}
	inTemp := filepath.Join(os.TempDir(), "waxseal-"+strconv.Itoa(os.Geteuid()), "agent.sock")
	if fi, err := os.Stat(os.TempDir()); err == nil && checkPrivate(os.TempDir(), fi) == nil {
		return inTemp
	}
	// The cache directory, if it is this user's: root's agent with a
	// user's HOME (sudo) must not make directories there that the user
	// then cannot enter. The machine's ID, which survives a change of host
	// name, keeps hosts sharing a home directory (NFS) from taking each
	// other's live socket for stale. A unix socket's path has room for
	// about 100 bytes.
	if d, err := os.UserCacheDir(); err == nil && filepath.IsAbs(d) && ownedOrCreatable(d) {
		name := "agent.sock"
		if id := machineID(); id != "" {
			name = "agent-" + id + ".sock"
		}
		if p := filepath.Join(d, "waxseal", "agent", name); len(p) < 100 {
			return p
		}
	}
	return inTemp
}

// ownedOrCreatable tells a directory this user owns, or one that does not
// exist yet in a directory this user owns.
func ownedOrCreatable(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			return fi.IsDir() && ownedByMe(fi)
		}
		if !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			return false
		}
	}
}

// machineID is the first 12 hex digits of the machine's ID (systemd's
// /etc/machine-id), or "" where there is none.
func machineID() string {
	for _, f := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		b, err := os.ReadFile(f)
		id := strings.TrimSpace(string(b))
		if err == nil && len(id) >= 12 && strings.Trim(id, "0123456789abcdef") == "" {
			return id[:12]
		}
	}
	return ""
}

// CheckSocket checks that path is a unix socket owned by this user with no group or
// other access, in a directory of which the same holds.
func CheckSocket(path string) error {
	dir := filepath.Dir(path)
	di, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	if !di.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrInsecure, dir)
	}
	if err := checkPrivate(dir, di); err != nil {
		return err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%w: %s is not a socket", ErrInsecure, path)
	}
	return checkPrivate(path, fi)
}

// Listen creates the socket for an agent: its directory (0700) if missing, a stale
// socket removed, the socket itself 0600. It refuses a directory another user owns or
// can reach, and a socket an agent still answers on. Closing the listener removes the
// socket.
func Listen(path string) (*net.UnixListener, error) {
	if path == "" {
		path = SocketPath()
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	di, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if !di.IsDir() {
		return nil, fmt.Errorf("agent: %w: %s is not a directory", ErrInsecure, dir)
	}
	if err := checkPrivate(dir, di); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("agent: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("agent: an agent is already running on %s", path)
		}
		if err := checkPrivate(path, fi); err != nil {
			return nil, fmt.Errorf("agent: stale socket: %w", err)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("agent: removing stale socket: %w", err)
		}
	}
	// Private from the moment it exists: a client dialing between the bind
	// and the chmod below would refuse a socket open to others.
	ln, err := func() (*net.UnixListener, error) {
		defer ownerOnly()()
		return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	}()
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	// The directory is private already; the mode keeps the socket so if it is moved.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("agent: %w", err)
	}
	return ln, nil
}
