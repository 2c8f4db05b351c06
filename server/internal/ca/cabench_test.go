package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestCABench is the load generator behind `go run ./bench/cabench` (which cannot import
// this internal package, so it runs this test with CABENCH=1). It measures certificates
// issued per second over real HTTP with real token verification, precertificate, CT append
// and SCT, against a baseline in the same run: bare x509.CreateCertificate with the same
// intermediate key.
func TestCABench(t *testing.T) {
	if os.Getenv("CABENCH") == "" {
		t.Skip("set CABENCH=1 (or go run ./bench/cabench)")
	}
	per := 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("CABENCH_DURATION")); err == nil {
		per = d
	}
	e := newEnv(t)
	fmt.Printf("cabench: %d-second runs per level; CA: HTTP + ES256 token verification + ECDSA P-256 PoP + precert + CT append (Tessera POSIX) + final cert; baseline: x509.CreateCertificate alone, same P-384 intermediate key\n", int(per.Seconds()))
	fmt.Printf("%-8s %12s %10s %10s %14s %10s %10s %8s\n", "clients", "CA certs/s", "p50", "p99", "baseline/s", "p50", "p99", "ratio")
	for _, n := range []int{1, 16} {
		ca := run(t, n, per, func(t *testing.T) func() error {
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tok := e.email.token(t, map[string]any{"sub": "bench", "email": "bench@example.com", "email_verified": true})
			body := pubKeyBody(t, tok, key.Public(), popSign(t, key, "bench@example.com"))
			return func() error {
				if code, b := e.post(t, body, ""); code != 200 {
					return fmt.Errorf("status %d: %s", code, b)
				}
				return nil
			}
		})
		base := run(t, n, per, func(t *testing.T) func() error {
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			p := &principal{email: "bench@example.com", issuer: e.email.URL(), subject: "bench"}
			return func() error {
				tmpl, err := e.ca.template(p, key.Public())
				if err != nil {
					return err
				}
				_, err = x509.CreateCertificate(rand.Reader, tmpl, e.ca.keys.inter, key.Public(), e.ca.keys.interKey)
				return err
			}
		})
		fmt.Printf("%-8d %12.1f %10s %10s %14.1f %10s %10s %7.1fx\n", n, ca.rate, ca.p50, ca.p99, base.rate, base.p50, base.p99, base.rate/ca.rate)
	}
}

type result struct {
	rate     float64
	p50, p99 time.Duration
}

func run(t *testing.T, workers int, d time.Duration, setup func(*testing.T) func() error) result {
	ops := make([]func() error, workers)
	for i := range ops {
		ops[i] = setup(t)
	}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for _, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := op(); err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		t.Fatal("no operations completed")
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	return result{rate: float64(len(lat)) / elapsed.Seconds(), p50: q(0.50), p99: q(0.99)}
}
