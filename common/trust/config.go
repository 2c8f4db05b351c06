package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/waxseal/waxseal/internal/atomicfile"
	"github.com/waxseal/waxseal/internal/readfile"
)

// SigningConfig is a parsed signing_config.json, reduced to the services a
// signer picks: the newest valid instance of each, by API version we speak.
type SigningConfig struct {
	CAURL    string // Fulcio-compatible CA base URL (API v1 in signing-config terms)
	OIDCURL  string // OpenID issuer, may be empty
	RekorURL string // Rekor v1 base URL

	raw []byte
}

// Bytes returns the document the config was parsed from.
func (s *SigningConfig) Bytes() []byte { return s.raw }

// ParseSigningConfig parses a signing_config.json document and selects the
// services valid at now.
func ParseSigningConfig(data []byte, now time.Time) (*SigningConfig, error) {
	var pb signingConfig
	if err := unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("signing config: %w", err)
	}
	if pb.mediaType != SigningConfigMediaType {
		return nil, fmt.Errorf("signing config: unsupported media type %q", pb.mediaType)
	}
	sc := &SigningConfig{raw: append([]byte(nil), data...)}
	var err error
	if sc.CAURL, err = pick("CA", pb.caURLs, 1, now); err != nil {
		return nil, err
	}
	if sc.RekorURL, err = pick("transparency log", pb.rekorTlogURLs, 1, now); err != nil {
		return nil, err
	}
	sc.OIDCURL, _ = pick("OIDC", pb.oidcURLs, 1, now)
	return sc, nil
}

// pick returns the URL of the service with the latest start among those of
// the API version valid at now. A service without a start is valid from the
// beginning of time but, in this comparison, starts at the Unix epoch: that
// is what the protobuf getters made of it, and we keep the choice stable.
func pick(what string, services []*service, version uint32, now time.Time) (string, error) {
	var best *service
	start := func(s *service) time.Time {
		if s.validFor == nil {
			return (*timestamp)(nil).time()
		}
		return s.validFor.start.time()
	}
	for _, s := range services {
		if s.majorAPIVersion != version || !validity(s.validFor).Contains(now) {
			continue
		}
		if best == nil || start(s).After(start(best)) {
			best = s
		}
	}
	if best == nil {
		return "", fmt.Errorf("signing config: no %s service with API version %d valid now", what, version)
	}
	return best.url, nil
}

// SigningConfigSpec describes an instance for NewSigningConfig.
type SigningConfigSpec struct {
	CAURL, OIDCURL, RekorURL string
	Operator                 string
	Start                    time.Time
}

// NewSigningConfig builds a signing_config.json document.
func NewSigningConfig(spec SigningConfigSpec) ([]byte, error) {
	tr := &timeRange{start: newTimestamp(spec.Start.UTC().Truncate(time.Second))}
	svc := func(u string) []*service {
		if u == "" {
			return nil
		}
		return []*service{{url: u, majorAPIVersion: 1, validFor: tr, operator: spec.Operator}}
	}
	pb := &signingConfig{
		mediaType:       SigningConfigMediaType,
		caURLs:          svc(spec.CAURL),
		oidcURLs:        svc(spec.OIDCURL),
		rekorTlogURLs:   svc(spec.RekorURL),
		rekorTlogConfig: &serviceConfiguration{selector: selectorANY},
		tsaConfig:       &serviceConfiguration{selector: selectorANY},
	}
	return marshal(pb)
}

// Well-known paths under an instance's base URL.
const (
	TrustedRootPath   = "/trusted_root.json"
	SigningConfigPath = "/signing_config.json"
)

// Dir returns the directory where pinned trust lives:
// $WAXSEAL_CONFIG_DIR, else the user's config directory plus "waxseal".
func Dir() (string, error) {
	if d := os.Getenv("WAXSEAL_CONFIG_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory (set WAXSEAL_CONFIG_DIR): %w", err)
	}
	return filepath.Join(d, "waxseal"), nil
}

// LoadUserPinned is LoadPinned of the user's Dir.
func LoadUserPinned() (*Pinned, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return LoadPinned(dir)
}

// Pinned is the trust a user pinned with Pin (trustfetch.Fetch downloads it).
type Pinned struct {
	Root          *Root
	SigningConfig *SigningConfig
}

// ErrNotPinned is returned by LoadPinned when nothing was pinned.
var ErrNotPinned = errors.New("no trusted root pinned")

// Pin writes a trusted root and signing config into dir atomically.
func Pin(dir string, root, signing []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"trusted_root.json": root, "signing_config.json": signing} {
		if err := atomicfile.Write(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// KeepPrevious keeps a copy of a pinned trusted root that is about to be
// replaced, as trusted_root.previous.json in dir, and returns its path.
func KeepPrevious(dir string, root []byte) (string, error) {
	path := filepath.Join(dir, "trusted_root.previous.json")
	return path, atomicfile.Write(path, root, 0o644)
}

// LoadPinned reads what Pin wrote in dir. Where nothing was pinned, the
// error wraps ErrNotPinned and names dir.
func LoadPinned(dir string) (*Pinned, error) {
	root, err := LoadPinnedRoot(dir)
	if err != nil {
		return nil, err
	}
	p := &Pinned{Root: root}
	data, err := os.ReadFile(filepath.Join(dir, "signing_config.json"))
	if err == nil {
		if p.SigningConfig, err = ParseSigningConfig(data, time.Now()); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return p, nil
}

// LoadPinnedRoot reads only the trusted root Pin wrote in dir: verifying
// needs no signing config.
func LoadPinnedRoot(dir string) (*Root, error) {
	path, data, err := ReadPinnedRoot(dir)
	if err != nil {
		return nil, err
	}
	return ParseRootFile(path, data)
}

// ReadPinnedRoot returns the path and contents of the trusted root pinned
// in dir, unparsed (ParseRootFile parses them), for a caller that must
// know exactly which bytes it trusted.
func ReadPinnedRoot(dir string) (path string, data []byte, err error) {
	path = filepath.Join(dir, "trusted_root.json")
	data, err = readfile.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, fmt.Errorf("%w in %s", ErrNotPinned, dir)
	}
	return path, data, err
}

// LoadUserPinnedRoot is LoadPinnedRoot of the user's configuration
// directory (see Dir).
func LoadUserPinnedRoot() (*Root, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return LoadPinnedRoot(dir)
}

// Fingerprint is a short digest of a trust document, for comparing out of band.
func Fingerprint(doc []byte) string {
	sum := sha256.Sum256(doc)
	return "sha256:" + hex.EncodeToString(sum[:])
}
