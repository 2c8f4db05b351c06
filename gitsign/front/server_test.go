package front

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/waxseal/waxseal/gitsign"
)

// The front reads one byte more than the largest object a verification
// takes, so that the server refuses a larger one: the two limits are one.
func TestMaxObjectIsGitsigns(t *testing.T) {
	if maxObject != gitsign.MaxObjectSize {
		t.Errorf("front's maxObject %d, gitsign.MaxObjectSize %d", maxObject, gitsign.MaxObjectSize)
	}
}

func TestServerMessages(t *testing.T) {
	req := &Request{Core: "1:2:3", Dir: "/repo", Args: []string{"--status-fd=1", "--verify", "/tmp/sig", "-"},
		Env: []string{"HOME=/home/a", "EMPTY=", "LINES=a\nb"}, Payload: []byte("tree x\n\x00\xffmsg\n")}
	got, err := ReadRequest(bytes.NewReader(AppendRequest(nil, req)))
	if err != nil || !reflect.DeepEqual(got, req) {
		t.Errorf("request: %+v, %v", got, err)
	}
	for _, resp := range []*Response{
		{Code: 1, Status: []byte("[GNUPG:] NEWSIG\n"), Stdout: []byte{}, Stderr: []byte("gitsign: bad\n")},
		{Declined: true, Status: []byte{}, Stdout: []byte{}, Stderr: []byte("why")},
	} {
		got, err := ReadResponse(bytes.NewReader(AppendResponse(nil, resp)))
		if err != nil || !reflect.DeepEqual(got, resp) {
			t.Errorf("response: %+v, %v; want %+v", got, err, resp)
		}
	}

	// Sized once, exactly, whatever the lengths' varints take.
	big := &Request{Core: req.Core, Dir: strings.Repeat("d", 200), Args: req.Args, Payload: bytes.Repeat([]byte("p"), 20000)}
	for i := range 300 {
		big.Env = append(big.Env, fmt.Sprintf("V%d=%s", i, strings.Repeat("v", i)))
	}
	for _, r := range []*Request{req, big, {}} {
		if n := testing.AllocsPerRun(10, func() { AppendRequest(nil, r) }); n != 1 {
			t.Errorf("a request written in %v allocations", n)
		}
		b := AppendRequest(nil, r)
		if got, err := ReadRequest(bytes.NewReader(b)); err != nil || got.Dir != r.Dir || len(got.Env) != len(r.Env) || len(got.Payload) != len(r.Payload) {
			t.Errorf("request read back: %v", err)
		}
	}

	// Cut anywhere: an error, never a request with a part missing.
	full := AppendRequest(nil, req)
	for n := range len(full) {
		if _, err := ReadRequest(bytes.NewReader(full[:n])); err == nil {
			t.Fatalf("a request cut at %d of %d bytes was read", n, len(full))
		} else if n > 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	if _, err := ReadRequest(strings.NewReader("\x05hello")); err == nil {
		t.Error("another protocol's message was read")
	}
	// A length beyond what a server reads is refused before anything is
	// allocated for it.
	huge := appendField(nil, []byte(serverMagic))
	huge = appendField(huge, "")
	huge = appendField(huge, "")
	huge = append(huge, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	if _, err := ReadRequest(bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("a request of 2^56 arguments: %v", err)
	}
	bad := AppendResponse(nil, &Response{Code: 0})
	bad = bytes.Replace(bad, []byte("\x010"), []byte("\x03256"), 1)
	if _, err := ReadResponse(bytes.NewReader(bad)); err == nil {
		t.Error("an exit code of 256 was read")
	}
}
