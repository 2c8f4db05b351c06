// Command rekorserve serves one log on a loopback port, for bench/logbench
// (which cannot import an internal package). It prints "LISTEN <addr>".
// With -pprof it also serves net/http/pprof under /debug/pprof/ and records
// block and mutex contention.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"

	"github.com/waxseal/waxseal/server/internal/rekor"
)

func main() {
	dir := flag.String("dir", "", "log data directory")
	prof := flag.Bool("pprof", false, "serve /debug/pprof/ and sample block and mutex contention")
	settings := flag.Bool("settings", false, "print the log's default Tessera settings and exit")
	flag.Parse()
	if *settings {
		fmt.Printf("batch-size %d batch-age %v checkpoint-interval %v\n", rekor.DefaultBatchMaxSize, rekor.DefaultBatchMaxAge, rekor.DefaultCheckpointInterval)
		return
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	l, err := rekor.Open(context.Background(), rekor.Config{Dir: *dir, Signer: key, Hostname: "bench.local", TreeID: 1})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var h http.Handler = l.Handler()
	if *prof {
		runtime.SetBlockProfileRate(10000) // one sample per 10µs blocked
		runtime.SetMutexProfileFraction(10)
		mux := http.NewServeMux()
		mux.Handle("/api/", h)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		h = mux
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, h))
}
