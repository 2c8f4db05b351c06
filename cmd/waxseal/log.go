package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/common/trust/trustfetch"
	"github.com/waxseal/waxseal/internal/clierr"
)

func (e *env) logCommand() *cli.Command {
	logFlags := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{serverFlag, signingConfigFlag, trustedRootFlag, jsonFlag}, extra...)
	}
	return &cli.Command{
		Name:      "log",
		UsageText: "waxseal log COMMAND [options]     (info, get, search, prove)",
		Usage:     "inspect a transparency log: tree head, entries, searches, proofs",
		Description: `Talks to the Rekor v1 API of the log named by --server, --signing-config or the
pinned signing config. Whatever the log returns is verified against the trusted
root (--trusted-root or the pinned one) before it is shown.`,
		Subcommands: []*cli.Command{{
			Name:  "info",
			Usage: "show the log's current signed tree head",
			Flags: logFlags(),
			Action: func(c *cli.Context) error {
				lc, key, err := e.logClient(c)
				if err != nil {
					return err
				}
				info, err := lc.LogInfo(c.Context)
				if err != nil {
					return err
				}
				size, root, err := checkTreeHead(info, key)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return e.printJSON(info)
				}
				fmt.Fprintf(e.stdout, "tree ID:   %s\ntree size: %d\nroot hash: %x\n\n%s", info.TreeID, size, root, info.SignedTreeHead)
				return nil
			},
		}, {
			Name:      "get",
			Usage:     "fetch one entry by UUID or index and verify its proofs",
			UsageText: "waxseal log get (--uuid UUID | --index N) [--server URL]",
			Flags:     logFlags(&cli.StringFlag{Name: "uuid", Usage: "entry UUID (64 hex) or entry ID (80 hex)"}, &cli.Int64Flag{Name: "index", Value: -1, Usage: "log index"}),
			Action: func(c *cli.Context) error {
				if (c.String("uuid") == "") == (c.Int64("index") < 0) {
					return clierr.Usagef("give exactly one of --uuid or --index")
				}
				lc, key, err := e.logClient(c)
				if err != nil {
					return err
				}
				var (
					id    string
					entry tlog.LogEntryValue
				)
				if u := c.String("uuid"); u != "" {
					id, entry, err = lc.GetByUUID(c.Context, u)
				} else {
					id, entry, err = lc.GetByIndex(c.Context, c.Int64("index"))
				}
				if err != nil {
					return err
				}
				return e.showEntry(c, id, entry, key)
			},
		}, {
			Name:      "search",
			Usage:     "find entries by artifact, digest, email or public key",
			UsageText: "waxseal log search (--artifact FILE | --sha256 HEX | --email ADDR | --public-key PEM) [--server URL]",
			Flags: logFlags(
				&cli.StringFlag{Name: "artifact", Usage: "search by this file's SHA-256"},
				&cli.StringFlag{Name: "sha256", Usage: "search by an artifact's SHA-256 (hex)"},
				&cli.StringFlag{Name: "email", Usage: "search by signer email"},
				&cli.StringFlag{Name: "public-key", Usage: "search by a PEM public key or certificate `FILE`"},
			),
			Action: func(c *cli.Context) error {
				q, err := searchQuery(c)
				if err != nil {
					return err
				}
				lc, _, err := e.logClient(c)
				if err != nil {
					return err
				}
				ids, err := lc.Search(c.Context, q)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					if ids == nil {
						ids = []string{}
					}
					return e.printJSON(ids)
				}
				for _, id := range ids {
					fmt.Fprintln(e.stdout, id)
				}
				if len(ids) == 0 {
					e.warnf("no entries found")
				}
				return nil
			},
		}, {
			Name:      "prove",
			Usage:     "prove a bundle's entry is in the log today: offline proof plus consistency with the current tree",
			UsageText: "waxseal log prove --bundle FILE [--server URL]",
			Flags:     logFlags(&cli.StringFlag{Name: "bundle", Required: true, Usage: "the bundle `FILE`"}),
			Action: func(c *cli.Context) error {
				return e.prove(c)
			},
		}},
	}
}

// logClient returns the log to talk to and, when a trusted root is at hand,
// the key its answers must verify with.
func (e *env) logClient(c *cli.Context) (*tlogclient.Client, crypto.PublicKey, error) {
	svc, err := loadServices(c.Context, c)
	if err != nil {
		return nil, nil, err
	}
	root, err := e.rootFor(c)
	if err != nil {
		return nil, nil, err
	}
	key, err := fetchLogKey(c.Context, svc.Log, root)
	if err != nil {
		return nil, nil, err
	}
	return svc.Log, key, nil
}

// rootFor finds a trusted root: the given or pinned one, or with --server
// the server's own (trust on first use, said aloud).
func (e *env) rootFor(c *cli.Context) (*trust.Root, error) {
	root, err := loadRoot(c)
	if err == nil || c.String("server") == "" {
		return root, err
	}
	data, _, ferr := trustfetch.Fetch(c.Context, httpClient, c.String("server"))
	if ferr != nil {
		return nil, ferr
	}
	e.warnf("no trusted root pinned: trusting %s's own root %s for this command", c.String("server"), trust.Fingerprint(data))
	return trust.ParseRoot(data)
}

// fetchLogKey asks the log for its key and accepts it only if the trusted
// root lists it.
func fetchLogKey(ctx context.Context, lc *tlogclient.Client, root *trust.Root) (crypto.PublicKey, error) {
	pemKey, err := lc.PublicKey(ctx)
	if err != nil {
		return nil, err
	}
	key, err := loadPublicKeyPEM(pemKey)
	if err != nil {
		return nil, fmt.Errorf("log public key: %w", err)
	}
	id, err := tlog.LogID(key)
	if err != nil {
		return nil, err
	}
	if _, ok := root.TLog(id); !ok {
		return nil, fmt.Errorf("the log's key (id %x) is not in the trusted root", id)
	}
	return key, nil
}

func checkTreeHead(info *tlog.LogInfo, key crypto.PublicKey) (uint64, []byte, error) {
	_, size, root, err := tlog.VerifyCheckpoint(key, []byte(info.SignedTreeHead))
	if err != nil {
		return 0, nil, fmt.Errorf("log's signed tree head: %w", err)
	}
	if int64(size) != info.TreeSize || hex.EncodeToString(root) != strings.ToLower(info.RootHash) {
		return 0, nil, errors.New("log's tree head does not match its signed checkpoint")
	}
	return size, root, nil
}

type shownEntry struct {
	EntryID        string          `json:"entryID"`
	LogIndex       int64           `json:"logIndex"`
	IntegratedTime string          `json:"integratedTime"`
	Verified       bool            `json:"verified"`
	Body           json.RawMessage `json:"body"`
}

// verifyWithKey verifies tle, inclusion proof required, against the log
// key alone.
func verifyWithKey(tle *tlog.TLE, key crypto.PublicKey) error {
	logID, err := tlog.LogID(key)
	if err != nil {
		return err
	}
	_, err = tlog.VerifyTLE(tle, map[string]crypto.PublicKey{hex.EncodeToString(logID): key}, tlog.VerifyOptions{RequireInclusionProof: true})
	return err
}

func (e *env) showEntry(c *cli.Context, id string, entry tlog.LogEntryValue, key crypto.PublicKey) error {
	tle, err := tlog.ToTLE(entry)
	if err != nil {
		return err
	}
	if err := verifyWithKey(tle, key); err != nil {
		return fmt.Errorf("entry %s does not verify: %w", id, err)
	}
	out := shownEntry{EntryID: id, LogIndex: entry.LogIndex, IntegratedTime: time.Unix(entry.IntegratedTime, 0).UTC().Format(time.RFC3339), Verified: true, Body: entry.Body}
	if c.Bool("json") {
		return e.printJSON(out)
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, entry.Body, "", "  ")
	fmt.Fprintf(e.stdout, "entry ID:        %s\nlog index:       %d\nintegrated time: %s\nproofs:          SET, inclusion proof and checkpoint verified\nbody:\n%s\n", id, entry.LogIndex, out.IntegratedTime, pretty.String())
	return nil
}

func searchQuery(c *cli.Context) (tlog.SearchQuery, error) {
	var q tlog.SearchQuery
	n := 0
	if p := c.String("artifact"); p != "" {
		f, err := os.Open(p)
		if err != nil {
			return q, err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return q, err
		}
		q.Hash = "sha256:" + hex.EncodeToString(h.Sum(nil))
		n++
	}
	if s := c.String("sha256"); s != "" {
		if b, err := hex.DecodeString(strings.TrimPrefix(s, "sha256:")); err != nil || len(b) != 32 {
			return q, clierr.Usagef("--sha256 wants 64 hex digits")
		}
		q.Hash = "sha256:" + strings.ToLower(strings.TrimPrefix(s, "sha256:"))
		n++
	}
	if s := c.String("email"); s != "" {
		q.Email = s
		n++
	}
	if p := c.String("public-key"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return q, err
		}
		q.PublicKey = &tlog.SearchPublicKey{Format: "x509", Content: data}
		n++
	}
	if n != 1 {
		return q, clierr.Usagef("give exactly one of --artifact, --sha256, --email or --public-key")
	}
	return q, nil
}

func (e *env) prove(c *cli.Context) error {
	b, err := bundle.Load(c.String("bundle"))
	if err != nil {
		return err
	}
	tles := b.TLogEntries()
	if len(tles) == 0 || tles[0].Proof == nil {
		return errors.New("bundle has no inclusion proof to start from")
	}
	tle := tles[0]
	lc, key, err := e.logClient(c)
	if err != nil {
		return err
	}
	if err := verifyWithKey(tle, key); err != nil {
		return fmt.Errorf("bundle's log entry: %w", err)
	}
	info, err := lc.LogInfo(c.Context)
	if err != nil {
		return err
	}
	size, root, err := checkTreeHead(info, key)
	if err != nil {
		return err
	}
	ip := tle.Proof
	oldSize := uint64(ip.TreeSize)
	if size < oldSize {
		return fmt.Errorf("the log's tree (size %d) is smaller than the bundle's proof (size %d): the log has been rolled back", size, oldSize)
	}
	var hashes [][]byte
	if size > oldSize {
		p, err := lc.ConsistencyProof(c.Context, int64(oldSize), int64(size))
		if err != nil {
			return err
		}
		for _, h := range p.Hashes {
			b, err := hex.DecodeString(h)
			if err != nil {
				return fmt.Errorf("consistency proof: %w", err)
			}
			hashes = append(hashes, b)
		}
	}
	if err := tlog.VerifyConsistency(oldSize, size, hashes, ip.RootHash, root); err != nil {
		return fmt.Errorf("the log's current tree is not consistent with the bundle's proof: %w", err)
	}
	if c.Bool("json") {
		return e.printJSON(map[string]any{"logIndex": tle.LogIndex, "proofTreeSize": oldSize, "currentTreeSize": size, "consistent": true})
	}
	fmt.Fprintf(e.stdout, "entry %d is in the log: included at tree size %d, and the current tree (size %d) is consistent with it\n", tle.LogIndex, oldSize, size)
	return nil
}
