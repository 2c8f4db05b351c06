// Package tufrepo makes the metadata of a TUF repository whose targets are
// an instance's trust documents (trusted_root.json, and
// signing_config.v0.2.json). Sigstore's own clients (cosign, sigstore-go,
// sigstore's gitsign) take their trusted root only through TUF, so the
// server publishes one of these for them.
//
// The repository has consistent snapshots, as Sigstore's do: clients are
// given 1.root.json out of band, then fetch timestamp.json,
// V.snapshot.json, V.targets.json and targets/SHA256.NAME. One key signs
// all four roles: the server holds it online, as it holds its CA and log
// keys.
package tufrepo

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// RootFile is the path of the root metadata, the trust anchor.
const RootFile = "1.root.json"

func signer(key crypto.Signer) (signature.Signer, error) {
	return signature.LoadSigner(key, crypto.SHA256) // Ed25519 ignores the hash
}

// expiry is t as TUF writes expiry times: UTC, in whole seconds
// ("2030-01-01T00:00:00Z"). Clients such as python-tuf, and so
// sigstore-python, parse exactly that and refuse fractions of a second.
func expiry(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// NewRoot makes version-1 root metadata that names key's public key for
// all four roles, valid until expires.
func NewRoot(key crypto.Signer, expires time.Time) ([]byte, error) {
	s, err := signer(key)
	if err != nil {
		return nil, err
	}
	k, err := metadata.KeyFromPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	root := metadata.Root(expiry(expires))
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		if err := root.Signed.AddKey(k, role); err != nil {
			return nil, err
		}
	}
	if _, err := root.Sign(s); err != nil {
		return nil, err
	}
	return root.ToBytes(true)
}

// Files returns the repository's files by path: rootJSON as RootFile, and
// targets, snapshot and timestamp metadata at version (which must grow
// from one call to the next, for clients to take the new one), signed by
// key and valid until expires, with the target files themselves. It fails
// if rootJSON does not name key for those roles.
func Files(key crypto.Signer, rootJSON []byte, targets map[string][]byte, version int64, expires time.Time) (map[string][]byte, error) {
	s, err := signer(key)
	if err != nil {
		return nil, err
	}
	expires = expiry(expires)
	files := map[string][]byte{RootFile: rootJSON}
	tgts := metadata.Targets(expires)
	tgts.Signed.Version = version
	for name, body := range targets {
		tf, err := metadata.TargetFile().FromBytes(name, body, "sha256")
		if err != nil {
			return nil, fmt.Errorf("tufrepo: target %s: %w", name, err)
		}
		tgts.Signed.Targets[name] = tf
		sum := sha256.Sum256(body)
		files["targets/"+hex.EncodeToString(sum[:])+"."+name] = body
	}
	snapshot := metadata.Snapshot(expires)
	snapshot.Signed.Version = version
	snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(version)
	timestamp := metadata.Timestamp(expires)
	timestamp.Signed.Version = version
	timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(version)

	for name, md := range map[string]interface {
		Sign(signature.Signer) (*metadata.Signature, error)
		ToBytes(bool) ([]byte, error)
	}{
		fmt.Sprintf("%d.targets.json", version):  tgts,
		fmt.Sprintf("%d.snapshot.json", version): snapshot,
		"timestamp.json":                         timestamp,
	} {
		if _, err := md.Sign(s); err != nil {
			return nil, fmt.Errorf("tufrepo: signing %s: %w", name, err)
		}
		b, err := md.ToBytes(true)
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	// A root that does not name key (another data directory's, say) would
	// fail at every client: fail here instead.
	root, err := metadata.Root().FromBytes(rootJSON)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: root metadata: %w", err)
	}
	for role, md := range map[string]any{metadata.TARGETS: tgts, metadata.SNAPSHOT: snapshot, metadata.TIMESTAMP: timestamp} {
		if err := root.VerifyDelegate(role, md); err != nil {
			return nil, fmt.Errorf("tufrepo: the root does not accept the %s metadata this key signs: %w", role, err)
		}
	}
	return files, nil
}

// RootExpires reads when root metadata expires.
func RootExpires(rootJSON []byte) (time.Time, error) {
	root, err := metadata.Root().FromBytes(rootJSON)
	if err != nil {
		return time.Time{}, fmt.Errorf("tufrepo: root metadata: %w", err)
	}
	return root.Signed.Expires, nil
}
