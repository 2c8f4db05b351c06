// Command logbench measures appends to the signature log: Tessera's POSIX
// driver alone (the engine's ceiling), then waxseal's full Rekor v1 HTTP API
// (real hashedrekord entries, signature checks, SET, inclusion proof,
// checkpoint, fsynced integration times), and prints their ratio.
//
//	go run ./bench/logbench [-d 3s] [-clients 1,16,64]
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
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/waxseal/waxseal/common/tlog"
)

type result struct {
	rate     float64
	p50, p99 time.Duration
	errs     int64
}

func main() {
	d := flag.Duration("d", 3*time.Second, "duration of each row")
	clientsFlag := flag.String("clients", "1,16,64", "concurrent clients per row")
	flag.Parse()
	var clients []int
	for _, s := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			fatal(err)
		}
		clients = append(clients, n)
	}
	tmp, err := os.MkdirTemp("", "logbench")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)

	fmt.Printf("%-8s %-7s %10s %9s %9s %6s\n", "row", "clients", "appends/s", "p50", "p99", "errors")
	engine := map[int]result{}
	for _, n := range clients {
		r := benchEngine(filepath.Join(tmp, fmt.Sprint("engine", n)), n, *d)
		engine[n] = r
		fmt.Printf("%-8s %-7d %10.0f %9s %9s %6d\n", "engine", n, r.rate, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errs)
	}
	entries := makeEntries(int(20000 * d.Seconds()))
	for _, n := range clients {
		r := benchAPI(filepath.Join(tmp, fmt.Sprint("api", n)), n, *d, entries)
		fmt.Printf("%-8s %-7d %10.0f %9s %9s %6d   %.2fx engine\n", "api", n, r.rate, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errs, r.rate/engine[n].rate)
	}
	fmt.Println("targets: api >= 3000 appends/s at 64 clients, p99 <= 100ms")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "logbench: error:", err)
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
		return result{errs: errs.Load()}
	}
	return result{
		rate: float64(len(lats)) / el.Seconds(),
		p50:  lats[len(lats)/2], p99: lats[len(lats)*99/100], errs: errs.Load(),
	}
}

func benchEngine(dir string, n int, d time.Duration) result {
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
		WithCheckpointSigner(s).WithBatching(512, 5*time.Millisecond).WithCheckpointInterval(time.Second))
	if err != nil {
		fatal(err)
	}
	defer shutdown(ctx)
	return run(n, d, func(c, i int) error {
		data := make([]byte, 1200)
		rand.Read(data)
		_, err := app.Add(ctx, tessera.NewEntry(data))()
		return err
	})
}

// makeEntries pre-signs hashedrekord entries with a keyless-style certificate.
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
				out[i], _ = tlog.NewHashedRekord("sha256", dg[:], sig, certPEM)
			}
		}()
	}
	wg.Wait()
	return out
}

func benchAPI(dir string, n int, d time.Duration, entries [][]byte) result {
	bin := filepath.Join(filepath.Dir(dir), "rekorserve")
	if _, err := os.Stat(bin); err != nil {
		b, err := exec.Command("go", "build", "-o", bin, "github.com/waxseal/waxseal/server/internal/rekor/rekorserve").CombinedOutput()
		if err != nil {
			fatal(fmt.Errorf("building server: %v\n%s", err, b))
		}
	}
	cmd := exec.Command(bin, "-dir", dir)
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
	url := "http://" + addr + "/api/v1/log/entries"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	var next atomic.Int64
	return run(n, d, func(c, i int) error {
		k := next.Add(1) - 1
		if int(k) >= len(entries) {
			return io.EOF
		}
		resp, err := hc.Post(url, "application/json", bytes.NewReader(entries[k]))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	})
}
