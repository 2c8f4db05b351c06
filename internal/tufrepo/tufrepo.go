// Package tufrepo writes a TUF repository whose targets are files such as a
// Sigstore trusted_root.json. Sigstore's own clients (cosign, sigstore-go,
// sigstore's gitsign) take their trust only through TUF, so tests that run
// those clients against the embedded stack serve them one of these.
//
// The repository has consistent snapshots, as Sigstore's do: clients fetch
// timestamp.json, then N.snapshot.json, N.targets.json and
// targets/SHA256.NAME. One fresh Ed25519 key signs all four roles.
package tufrepo

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Write writes the repository for targets (name -> content) into dir,
// valid until expires, and returns its root metadata: the trust anchor a
// client is given out of band (cosign's `initialize --root`, TUF_ROOT_JSON).
func Write(dir string, targets map[string][]byte, expires time.Time) (rootJSON []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := signature.LoadSigner(priv, crypto.Hash(0))
	if err != nil {
		return nil, err
	}
	key, err := metadata.KeyFromPublicKey(pub)
	if err != nil {
		return nil, err
	}

	if err := os.MkdirAll(filepath.Join(dir, "targets"), 0o755); err != nil {
		return nil, err
	}
	tgts := metadata.Targets(expires)
	for name, body := range targets {
		tf, err := metadata.TargetFile().FromBytes(name, body, "sha256")
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", name, err)
		}
		tgts.Signed.Targets[name] = tf
		sum := sha256.Sum256(body)
		if err := os.WriteFile(filepath.Join(dir, "targets", hex.EncodeToString(sum[:])+"."+name), body, 0o644); err != nil {
			return nil, err
		}
	}
	root := metadata.Root(expires)
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		if err := root.Signed.AddKey(key, role); err != nil {
			return nil, err
		}
	}
	snapshot := metadata.Snapshot(expires)   // lists targets.json version 1
	timestamp := metadata.Timestamp(expires) // lists snapshot.json version 1

	for name, md := range map[string]interface {
		Sign(signature.Signer) (*metadata.Signature, error)
		ToFile(string, bool) error
	}{
		"1.root.json":     root,
		"1.targets.json":  tgts,
		"1.snapshot.json": snapshot,
		"timestamp.json":  timestamp,
	} {
		if _, err := md.Sign(signer); err != nil {
			return nil, fmt.Errorf("signing %s: %w", name, err)
		}
		if err := md.ToFile(filepath.Join(dir, name), true); err != nil {
			return nil, err
		}
	}
	return os.ReadFile(filepath.Join(dir, "1.root.json"))
}
