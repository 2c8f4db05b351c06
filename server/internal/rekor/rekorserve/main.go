// Command rekorserve serves one log on a loopback port, for bench/logbench
// (which cannot import an internal package). It prints "LISTEN <addr>".
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

	"github.com/waxseal/waxseal/server/internal/rekor"
)

func main() {
	dir := flag.String("dir", "", "log data directory")
	flag.Parse()
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
	fmt.Printf("LISTEN %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, l.Handler()))
}
