// Command cabench measures the embedded CA's certificate issuance rate at 1 and 16
// concurrent clients (real HTTP, real OIDC token verification against a loopback issuer,
// proof of possession, precertificate, CT log append with Tessera, SCT, final certificate),
// with p50/p99 latency, beside a baseline measured in the same run: bare
// x509.CreateCertificate with the same intermediate key. It prints the ratio.
//
//	go run ./bench/cabench [-d 3s]
//
// The CA lives in server/internal/ca, which Go's internal rule keeps out of reach of this
// directory, so the load generator is that package's TestCABench and this command runs it
// (from the module root) with the right switches. Total run time is about 4 x -d plus build.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("cabench", flag.ContinueOnError)
	d := fs.Duration("d", 3e9, "duration of each measured run (4 runs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmd := exec.Command("go", "test", "-v", "-count=1", "-run", "^TestCABench$", "-timeout", "10m", "./server/internal/ca")
	cmd.Env = append(os.Environ(), "CABENCH=1", "CABENCH_DURATION="+d.String())
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "cabench: error: %v\n", err)
		return 1
	}
	return 0
}
