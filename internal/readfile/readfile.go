// Package readfile reads small files whole with plain system calls.
//
// os.ReadFile registers every file it opens with the runtime's network
// poller, which a regular file refuses: five system calls per file more,
// and an epoll instance for the first. gitsign reads half a dozen small
// files (git config, trusted root, allowed signers, the signature) each
// time git runs it, once per commit shown, so it reads them here.
package readfile

// maxSize bounds what Read reads: these are configuration files and
// signatures, not payloads.
const maxSize = 64 << 20
