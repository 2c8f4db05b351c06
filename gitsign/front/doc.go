// Package front is the gitsign program git starts (cmd/gitsign): git's
// gpgsm command line, gitsign's configuration (read from git's files as git
// reads them), and handing the work on. git starts it once for every
// signature `git log --show-signature` shows, so it links nothing of
// crypto, networking or signing: a signature to verify goes to the verify
// server, a gitsign-core kept running between git's calls (server.go);
// everything else to gitsign-core, which replaces this process.
package front
