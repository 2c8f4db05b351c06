// Command keyless measures the client side of the keyless flow against the
// embedded stack, in one process, each beside a baseline from the same run:
//
//   - sign: one artifact with a live credential (hashedrekord upload, SET,
//     inclusion proof, checkpoint) and a full login (token check, key,
//     proof of possession, certificate with embedded SCT), p50/p99, against
//     the bare ECDSA signature they contain;
//
//   - verify: bundles verified per second in-process (SET, inclusion proof,
//     checkpoint, chain, SCT, signature, identity), against bare ECDSA
//     verifications per second.
//
//     go run ./bench/keyless [-d 3s] [-n 200]
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/sign"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/common/verify"
	"github.com/waxseal/waxseal/server"
)

func main() {
	dur := flag.Duration("d", 3*time.Second, "duration of each throughput row")
	n := flag.Int("n", 200, "signatures per latency row")
	flag.Parse()
	if err := run(*dur, *n); err != nil {
		fmt.Fprintln(os.Stderr, "keyless:", err)
		os.Exit(1)
	}
}

func run(dur time.Duration, n int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "keyless-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	srv, err := server.New(ctx, server.Config{Dir: dir, URL: base, DevOIDC: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	root, err := trust.ParseRoot(srv.TrustedRoot())
	if err != nil {
		return err
	}
	token, err := oidc.DevLogin(ctx, srv.DevIssuer(), "bench@example.com")
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ca := &fulcioclient.Client{BaseURL: base, HTTPClient: client}
	logc := &tlogclient.Client{BaseURL: base, HTTPClient: client}

	// Baseline: the signature inside every bundle.
	bk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("x"))
	baseSign := latencies(n, func(int) error { _, err := ecdsa.SignASN1(rand.Reader, bk, d[:]); return err })

	// Login: certificate per iteration.
	login := latencies(min(n, 100), func(int) error {
		_, err := credential.LoginWithToken(ctx, ca, token, keys.ECDSAP256)
		return err
	})
	cred, err := credential.LoginWithToken(ctx, ca, token, keys.ECDSAP256)
	if err != nil {
		return err
	}
	s := &sign.Signer{Credential: cred, Log: logc}
	var bundles []*bundle.Bundle
	var artifacts [][]byte
	var mu sync.Mutex
	signLat := latencies(n, func(i int) error {
		a := fmt.Appendf(nil, "artifact %d %d\n", i, time.Now().UnixNano())
		b, err := s.Artifact(ctx, bytes.NewReader(a))
		if err == nil {
			mu.Lock()
			bundles, artifacts = append(bundles, b), append(artifacts, a)
			mu.Unlock()
		}
		return err
	})

	// Verification throughput, all cores.
	pol := verify.Policy{Identity: "bench@example.com", Issuer: srv.DevIssuer()}
	sig, _ := ecdsa.SignASN1(rand.Reader, bk, d[:])
	baseVerify := throughput(dur, func(int) error {
		if !ecdsa.VerifyASN1(&bk.PublicKey, d[:], sig) {
			return fmt.Errorf("baseline signature does not verify")
		}
		return nil
	})
	verifyRate := throughput(dur, func(i int) error {
		k := i % len(bundles)
		_, err := verify.Verify(bundles[k], verify.Artifact{Reader: bytes.NewReader(artifacts[k])}, root, pol, verify.Options{})
		return err
	})

	fmt.Printf("keyless client benchmark (%d CPUs, %d samples per latency row, %v per throughput row)\n\n", runtime.NumCPU(), n, dur)
	fmt.Printf("%-44s %12s %12s %12s %10s\n", "measure", "p50", "p99", "per second", "target")
	row := func(name string, l []time.Duration, target string) {
		fmt.Printf("%-44s %12v %12v %12.0f %10s\n", name, pct(l, 50), pct(l, 99), float64(time.Second)/float64(pct(l, 50)), target)
	}
	row("baseline: one ECDSA P-256 signature", baseSign, "")
	row("sign artifact (log entry+SET+proof)", signLat, "p50≤30ms")
	row("login (token check, key, PoP, cert+SCT)", login, "")
	fmt.Printf("%-44s %12s %12s %12.0f %10s\n", "baseline: ECDSA P-256 verifications", "", "", baseVerify, "")
	fmt.Printf("%-44s %12s %12s %12.0f %10s\n", "verify bundle offline (all checks)", "", "", verifyRate, "≥5000/s")
	fmt.Printf("\nratios: sign p50 / bare signature p50 = %.0fx; verify rate / bare verify rate = %.3f\n",
		float64(pct(signLat, 50))/float64(pct(baseSign, 50)), verifyRate/baseVerify)
	status := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	fmt.Printf("targets: sign p50 ≤ 30 ms: %s (%v); ≥ 5,000 verifications/s: %s (%.0f/s)\n",
		status(pct(signLat, 50) <= 30*time.Millisecond), pct(signLat, 50), status(verifyRate >= 5000), verifyRate)
	return nil
}

func latencies(n int, f func(int) error) []time.Duration {
	out := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if err := f(i); err != nil {
			fmt.Fprintln(os.Stderr, "keyless:", err)
			os.Exit(1)
		}
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out
}

func throughput(dur time.Duration, f func(int) error) float64 {
	var count atomic.Int64
	var failed atomic.Value
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	workers := runtime.NumCPU()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(deadline); i += workers {
				if err := f(i); err != nil {
					failed.Store(err)
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		fmt.Fprintln(os.Stderr, "keyless:", err)
		os.Exit(1)
	}
	return float64(count.Load()) / time.Since(start).Seconds()
}

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[(len(l)-1)*p/100]
}
