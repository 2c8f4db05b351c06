package front

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path/filepath"
	"strconv"
)

// The verify server. git starts gitsign once for every signature it shows,
// and a Go program that links an X.509 verifier spends most of a check
// starting up: mapping and initializing the standard library's crypto and
// gitsign's own packages, before it has read a byte of the signature. So
// the gitsign git starts links no verifier. It hands the signature, the
// object, its working directory and its environment to a gitsign-core
// process that stays running between git's calls, "gitsign-core
// --verify-server", which verifies exactly as a gitsign-core started for
// that one signature would (same configuration, files, verdict cache and
// checks; see gpg.Serve), and writes back the status lines, the
// explanation and the exit code.
//
// The first gitsign that finds no server starts one, detached, with no
// environment but GODEBUG, and waits until it listens. The server ends
// after ServerIdle without a request. Its socket is in a directory of the
// user's own, mode 0700 ($XDG_RUNTIME_DIR/waxseal, else
// $TMPDIR/waxseal-UID), checked before every use, and each side checks
// that the other runs as the same user. The socket's name is derived from
// both executables, GODEBUG and the client's namespaces, so an upgraded
// gitsign or gitsign-core starts a server of its own, and so does a
// container sharing the directory. The server declines a request made for
// another gitsign-core file than its own, or from a process in other
// namespaces, with another root, or under limits it does not have
// (no_new_privs, seccomp); a server that does not answer within
// serverTimeout has its socket removed, so that the next check starts
// another.
//
// git config gitsign.verifyServer false (GITSIGN_VERIFY_SERVER=false)
// starts no server: each signature is then verified by a gitsign-core of
// its own, as is every signature the server cannot take (the socket
// directory is unsafe, the server declines or fails). The server runs on
// Linux only (it compares its clients through SO_PEERCRED and /proc);
// elsewhere cmd/gitsign links the verifier and sets VerifyHere.

// ServerFlag is the command line that makes gitsign-core the verify
// server: gitsign-core --verify-server SOCKET.
const ServerFlag = "--verify-server"

// ServerIdle is how long a verify server waits for a request before it
// ends, in seconds.
const ServerIdle = 300

// serverMagic starts every request and response; change it when what they
// hold changes.
const serverMagic = "waxseal gitsign verify-server 1"

// Request is one signature for the verify server: what a gitsign-core
// started by git for it would have had.
type Request struct {
	Core    string   // the gitsign-core file the client meant (ExecutableID)
	Dir     string   // working directory
	Args    []string // git's command line, without the program name
	Env     []string // environment, as os.Environ
	Payload []byte   // the signed object, git's stdin
}

// Response is the verify server's answer. Declined means it did not verify
// (Stderr says why) and the client must have it done elsewhere.
type Response struct {
	Declined               bool
	Code                   int
	Status, Stdout, Stderr []byte
}

// maxObject is gitsign.MaxObjectSize (TestMaxObjectIsGitsigns), which
// this package does not import: one byte over it is sent, so that the
// server refuses a larger object as a gitsign-core of its own would.
const maxObject = 64 << 20

// maxRequest bounds what a server reads: the largest object git may ask
// about (gitsign.MaxObjectSize, 64 MiB) and room for the rest.
const maxRequest = 64<<20 + 8<<20

// AppendRequest encodes r.
func AppendRequest(b []byte, r *Request) []byte {
	// Sized once: a check is one short-lived process, and each doubling of
	// a growing buffer would be fresh memory for it to fault in.
	n := fieldLen(len(serverMagic)) + fieldLen(len(r.Core)) + fieldLen(len(r.Dir)) +
		stringsLen(r.Args) + stringsLen(r.Env) + fieldLen(len(r.Payload))
	b = append(make([]byte, 0, len(b)+n), b...)
	b = appendField(b, serverMagic)
	b = appendField(b, r.Core)
	b = appendField(b, r.Dir)
	b = appendStrings(b, r.Args)
	b = appendStrings(b, r.Env)
	return appendField(b, r.Payload)
}

// ReadRequest decodes a request from r.
func ReadRequest(r io.Reader) (*Request, error) {
	d := &decoder{r: r, left: maxRequest}
	if m := d.field(); d.err == nil && string(m) != serverMagic {
		return nil, fmt.Errorf("not a %s request", serverMagic)
	}
	req := &Request{Core: string(d.field()), Dir: string(d.field())}
	req.Args = d.strings()
	req.Env = d.strings()
	req.Payload = d.field()
	return req, d.err
}

// AppendResponse encodes r.
func AppendResponse(b []byte, r *Response) []byte {
	b = appendField(b, serverMagic)
	code := strconv.Itoa(r.Code)
	if r.Declined {
		code = "declined"
	}
	b = appendField(b, code)
	b = appendField(b, r.Status)
	b = appendField(b, r.Stdout)
	return appendField(b, r.Stderr)
}

// ReadResponse decodes a response from r.
func ReadResponse(r io.Reader) (*Response, error) {
	d := &decoder{r: r, left: maxRequest}
	if m := d.field(); d.err == nil && string(m) != serverMagic {
		return nil, fmt.Errorf("not a %s response", serverMagic)
	}
	code := string(d.field())
	resp := &Response{Status: d.field(), Stdout: d.field(), Stderr: d.field()}
	if d.err != nil {
		return nil, d.err
	}
	if code == "declined" {
		resp.Declined = true
		return resp, nil
	}
	n, err := strconv.Atoi(code)
	if err != nil || n < 0 || n > 255 {
		return nil, fmt.Errorf("bad exit code %q", code)
	}
	resp.Code = n
	return resp, nil
}

func appendField[T string | []byte](b []byte, f T) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

// fieldLen is the encoded length of a field of n bytes.
func fieldLen(n int) int { return uvarintLen(n) + n }

func uvarintLen(n int) int {
	var v [binary.MaxVarintLen64]byte
	return binary.PutUvarint(v[:], uint64(n))
}

// stringsLen is the encoded length of ss.
func stringsLen(ss []string) int {
	n := uvarintLen(len(ss))
	for _, s := range ss {
		n += fieldLen(len(s))
	}
	return n
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendField(b, s)
	}
	return b
}

// decoder reads fields, keeping the first error, and no more than left
// bytes in all.
type decoder struct {
	r    io.Reader
	left uint64
	err  error
	one  [1]byte
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	n, err := binary.ReadUvarint(byteReader{d})
	if err != nil {
		d.fail(err)
	}
	return n
}

func (d *decoder) field() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > d.left {
		d.err = errors.New("message too large")
		return nil
	}
	d.left -= n
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail(err)
		return nil
	}
	return b
}

func (d *decoder) strings() []string {
	n := d.uvarint()
	if d.err == nil && n > d.left {
		d.err = errors.New("message too large")
	}
	var ss []string
	for i := uint64(0); i < n && d.err == nil; i++ {
		ss = append(ss, string(d.field()))
	}
	return ss
}

func (d *decoder) fail(err error) {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	d.err = err
}

type byteReader struct{ d *decoder }

func (b byteReader) ReadByte() (byte, error) {
	if b.d.left == 0 {
		return 0, errors.New("message too large")
	}
	b.d.left--
	_, err := io.ReadFull(b.d.r, b.d.one[:])
	return b.d.one[0], err
}

// SocketPath names the socket of the verify server for these executables
// (ExecutableID of this gitsign and of gitsign-core), GODEBUG, which
// changes what crypto/x509 accepts, and the namespaces the client is in.
func SocketPath(dir, self, core, godebug, namespaces string) string {
	h := fnv.New64a()
	for _, s := range []string{serverMagic, self, core, godebug, namespaces} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return filepath.Join(dir, fmt.Sprintf("gitsign-%016x.sock", h.Sum64()))
}
