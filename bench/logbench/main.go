// Command logbench measures appends to the signature log: Tessera's POSIX
// driver alone (the engine's ceiling), then waxseal's full Rekor v1 HTTP API
// (real hashedrekord entries, signature checks, SET, inclusion proof,
// checkpoint, fsynced integration times), and prints their ratio.
//
//	go run ./bench/logbench [-d 3s] [-clients 1,16,64] [-profile DIR] [-timeout 3m] [-server BIN]
//
// Both rows run with the log's own Tessera settings (rekorserve -settings).
// -profile saves CPU, block and mutex profiles of the API server during the
// row with the most clients.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"

	"github.com/waxseal/waxseal/common/tlog"
)

type result struct {
	n        int
	rate     float64
	p50, p99 time.Duration
	errs     int64
	cpu      time.Duration // server CPU (user+system) per append; API rows only
	genCPU   time.Duration // the load generator's own CPU per append; API rows only
}

// settings are the log's Tessera batching parameters, read from rekorserve
// so that the engine rows use exactly what the API runs with.
type settings struct {
	batchSize  uint
	batchAge   time.Duration
	cpInterval time.Duration
}

func main() {
	d := flag.Duration("d", 3*time.Second, "duration of each row")
	clientsFlag := flag.String("clients", "1,16,64", "concurrent clients per row")
	profDir := flag.String("profile", "", "if set, write CPU, block and mutex profiles of the API server under the largest load to this directory")
	timeout := flag.Duration("timeout", 3*time.Minute, "abort the whole run after this long")
	serverBin := flag.String("server", "", "use this prebuilt rekorserve binary (e.g. of an older revision, to compare) instead of building the tree's")
	flag.Parse()
	var clients []int
	for _, s := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-clients: bad count %q", s))
		}
		clients = append(clients, n)
	}
	time.AfterFunc(*timeout, func() { fatal(fmt.Errorf("run exceeded -timeout %v", *timeout)) })
	// Tessera logs through klog; keep the table readable.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)

	tmp, err := os.MkdirTemp("", "logbench")
	if err != nil {
		fatal(err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	defer cleanup()
	bin := *serverBin
	if bin == "" {
		bin = buildServer(tmp)
	}
	set := serverSettings(bin)
	entries := makeEntries(int(20000 * d.Seconds()))

	maxN := slices.Max(clients)
	var engine, api []result
	for _, n := range clients {
		engine = append(engine, benchEngine(filepath.Join(tmp, fmt.Sprint("engine", n)), n, *d, set))
	}
	for _, n := range clients {
		prof := ""
		if n == maxN {
			prof = *profDir
		}
		api = append(api, benchAPI(bin, filepath.Join(tmp, fmt.Sprint("api", n)), n, *d, entries, prof))
	}

	fmt.Printf("Signature log appends, %v per row; Tessera POSIX batches of <= %d entries or %v, checkpoint every %v.\n",
		*d, set.batchSize, set.batchAge, set.cpInterval)
	fmt.Printf("engine: Tessera alone, waiting for integration. api: full Rekor v1 HTTP API (validation, fsynced time, SET, inclusion proof, signed checkpoint).\n")
	fmt.Printf("CPU/append: user+system CPU per append of the engine's process (with its load loop) or of the API server (whose load generator runs beside it).\n\n")
	fmt.Printf("| %-13s | %7s | %10s | %8s | %8s | %6s | %-10s | %9s | %-31s |\n", "row", "clients", "appends/s", "p50", "p99", "errors", "api/engine", "CPU/append", "target")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 15), strings.Repeat("-", 9), strings.Repeat("-", 12), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 8), strings.Repeat("-", 12), strings.Repeat("-", 11), strings.Repeat("-", 33))
	for i := range engine {
		row("Tessera alone", engine[i], "", "")
	}
	for i, r := range api {
		target, ok := "", true
		switch {
		case r.n == 1:
			target = "p50 < 30ms"
			ok = r.p50 < 30*time.Millisecond
		case r.n >= 64:
			target = ">= 3000/s, p99 <= 100ms"
			ok = r.rate >= 3000 && r.p99 <= 100*time.Millisecond
		}
		if target != "" {
			if ok {
				target += " ok"
			} else {
				target += " MISSED"
			}
		}
		row("HTTP API", r, fmt.Sprintf("%.2fx", r.rate/engine[i].rate), target)
	}
	fmt.Printf("\nLoad generator's own CPU per append (it shares the machine with the server):")
	for _, r := range api {
		fmt.Printf(" %d clients %dµs;", r.n, r.genCPU.Microseconds())
	}
	fmt.Println()
}

var cleanup = func() {}

func row(name string, r result, ratio, target string) {
	cpu := ""
	if r.cpu > 0 {
		cpu = fmt.Sprintf("%dµs", r.cpu.Microseconds())
	}
	fmt.Printf("| %-13s | %7d | %10.0f | %8s | %8s | %6d | %-10s | %9s | %-31s |\n", name, r.n, r.rate,
		fmtDur(r.p50), fmtDur(r.p99), r.errs, ratio, cpu, target)
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "logbench: error:", err)
	cleanup()
	os.Exit(1)
}

// run drives n clients calling op for d and summarizes.
func run(n int, d time.Duration, op func(client, i int) error) result {
	var mu sync.Mutex
	var lats []time.Duration
	var errs atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := op(c, i); err != nil {
					if err == io.EOF {
						break
					}
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lats)
	if len(lats) == 0 {
		return result{n: n, errs: errs.Load()}
	}
	return result{
		n:    n,
		rate: float64(len(lats)) / el.Seconds(),
		p50:  lats[len(lats)/2], p99: lats[len(lats)*99/100], errs: errs.Load(),
	}
}

func benchEngine(dir string, n int, d time.Duration, set settings) result {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drv, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		fatal(err)
	}
	skey, _, err := note.GenerateKey(rand.Reader, "bench")
	if err != nil {
		fatal(err)
	}
	s, _ := note.NewSigner(skey)
	app, shutdown, _, err := tessera.NewAppender(ctx, drv, tessera.NewAppendOptions().
		WithCheckpointSigner(s).WithBatching(set.batchSize, set.batchAge).WithCheckpointInterval(set.cpInterval))
	if err != nil {
		fatal(err)
	}
	defer shutdown(ctx)
	cpu0 := selfCPU()
	r := run(n, d, func(c, i int) error {
		data := make([]byte, 1200)
		rand.Read(data)
		_, err := app.Add(ctx, tessera.NewEntry(data))()
		return err
	})
	if r.rate > 0 {
		r.cpu = time.Duration(float64(selfCPU()-cpu0) / (r.rate * d.Seconds()))
	}
	return r
}

// makeEntries pre-signs hashedrekord entries with a keyless-style
// certificate and returns them as complete HTTP/1.1 requests.
func makeEntries(n int) [][]byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{}, NotBefore: time.Now(), NotAfter: time.Now().Add(10 * time.Minute),
		EmailAddresses: []string{"bench@example.com"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				dg := sha256.Sum256(fmt.Appendf(nil, "artifact %d", i))
				sig, _ := ecdsa.SignASN1(rand.Reader, key, dg[:])
				body, _ := tlog.NewHashedRekord("sha256", dg[:], sig, certPEM)
				out[i] = fmt.Appendf(nil, "POST /api/v1/log/entries HTTP/1.1\r\nHost: logbench\r\n"+
					"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}
		}()
	}
	wg.Wait()
	return out
}

func buildServer(tmp string) string {
	bin := filepath.Join(tmp, "rekorserve")
	b, err := exec.Command("go", "build", "-o", bin, "github.com/waxseal/waxseal/server/internal/rekor/rekorserve").CombinedOutput()
	if err != nil {
		fatal(fmt.Errorf("building server: %v\n%s", err, b))
	}
	return bin
}

// serverSettings asks rekorserve for the log's default batching parameters.
func serverSettings(bin string) settings {
	out, err := exec.Command(bin, "-settings").Output()
	if err != nil {
		fatal(fmt.Errorf("rekorserve -settings: %v", err))
	}
	var s settings
	f := strings.Fields(string(out))
	var e1, e2, e3 error
	if len(f) == 6 && f[0] == "batch-size" && f[2] == "batch-age" && f[4] == "checkpoint-interval" {
		var n uint64
		n, e1 = strconv.ParseUint(f[1], 10, 32)
		s.batchSize = uint(n)
		s.batchAge, e2 = time.ParseDuration(f[3])
		s.cpInterval, e3 = time.ParseDuration(f[5])
	} else {
		e1 = errors.New("unexpected format")
	}
	if err := errors.Join(e1, e2, e3); err != nil {
		fatal(fmt.Errorf("rekorserve -settings: %q: %v", out, err))
	}
	return s
}

func benchAPI(bin, dir string, n int, d time.Duration, entries [][]byte, profDir string) result {
	args := []string{"-dir", dir}
	if profDir != "" {
		args = append(args, "-pprof")
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(out)
	addr := ""
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		cmd.Wait()
		fatal(fmt.Errorf("rekorserve did not start: %s", stderr.Bytes()))
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	var profWG sync.WaitGroup
	if profDir != "" {
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			secs := max(1, int(d.Seconds()+0.5)-1)
			fetchProfile(hc, "http://"+addr+fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), filepath.Join(profDir, "cpu.pprof"))
		}()
	}
	// One keep-alive connection per client, opened before the clock starts.
	conns := make([]*rawConn, n)
	for i := range conns {
		c, err := dialRaw(addr)
		if err != nil {
			fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	cpu0, gen0 := procCPU(cmd.Process.Pid), selfCPU()
	var next atomic.Int64
	r := run(n, d, func(c, i int) error {
		k := next.Add(1) - 1
		if int(k) >= len(entries) {
			return io.EOF
		}
		code, err := conns[c].post(entries[k])
		if err != nil {
			// A broken connection is an error of this request; redial.
			conns[c].Close()
			if nc, derr := dialRaw(addr); derr == nil {
				conns[c] = nc
			}
			return err
		}
		if code != http.StatusCreated {
			return fmt.Errorf("HTTP %d", code)
		}
		return nil
	})
	if cpu1 := procCPU(cmd.Process.Pid); cpu0 >= 0 && cpu1 >= 0 && r.rate > 0 {
		r.cpu = time.Duration(float64(cpu1-cpu0) / (r.rate * d.Seconds()))
		r.genCPU = time.Duration(float64(selfCPU()-gen0) / (r.rate * d.Seconds()))
	}
	if profDir != "" {
		profWG.Wait()
		fetchProfile(hc, "http://"+addr+"/debug/pprof/block", filepath.Join(profDir, "block.pprof"))
		fetchProfile(hc, "http://"+addr+"/debug/pprof/mutex", filepath.Join(profDir, "mutex.pprof"))
		fmt.Fprintf(os.Stderr, "logbench: profiles of the %d-client API row: go tool pprof -top %s\n", n, filepath.Join(profDir, "cpu.pprof"))
	}
	return r
}

// selfCPU returns the user+system CPU time of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns the user+system CPU time of a process so far, or -1.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the parenthesized command name; utime and stime are 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func fetchProfile(hc *http.Client, url, path string) {
	c := *hc
	c.Timeout = time.Minute
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "logbench: profile:", err)
		return
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		fatal(err)
	}
	io.Copy(f, resp.Body)
	f.Close()
}

// rawConn is a minimal HTTP/1.1 keep-alive client for the load generator:
// it writes a pre-encoded request and reads the status and the body, so
// that the generator's own CPU (which shares the machine with the server)
// stays small next to net/http's client.
type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

func (rc *rawConn) Close() error { return rc.c.Close() }

// post sends one request and returns the status code after reading the
// whole answer (Content-Length or chunked).
func (rc *rawConn) post(req []byte) (int, error) {
	rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.c.Write(req); err != nil {
		return 0, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 201 Created"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		h, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, _ := bytes.Cut(h, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		}
	}
	switch {
	case chunked:
		for {
			l, err := rc.r.ReadSlice('\n')
			if err != nil {
				return 0, err
			}
			sz, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(l, []byte(";"), 2)[0])), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("bad chunk size %q", l)
			}
			if _, err := rc.r.Discard(int(sz) + 2); err != nil { // data and CRLF
				return 0, err
			}
			if sz == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := rc.r.Discard(length); err != nil {
			return 0, err
		}
	default:
		return 0, errors.New("answer without Content-Length or chunked encoding")
	}
	return code, nil
}
