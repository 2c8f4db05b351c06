package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/dsse"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/sign"
	"github.com/waxseal/waxseal/internal/atomicfile"
	"github.com/waxseal/waxseal/internal/clierr"
)

func (e *env) signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign files keylessly, writing a Sigstore bundle for each",
		UsageText: "waxseal sign [options] FILE...",
		Description: `Gets a short-lived certificate for a fresh in-memory key, bound to your OIDC
identity, signs every FILE with it, records each signature in the transparency
log, and writes FILE.sigstore.json (or --bundle OUT for a single file). One
login and one certificate serve the whole invocation; the private key never
touches disk.

FILE may be - for standard input (with --bundle). With --in-toto, each FILE is
an in-toto statement signed as a DSSE envelope.

The CA and log come from --signing-config, --server, or the signing config
pinned by 'waxseal trust init'.

Examples:
   waxseal sign --server http://127.0.0.1:8080 dist/*.tar.gz
   SIGSTORE_ID_TOKEN=$(waxseal dev token --server URL --email me@example.com) waxseal sign app.bin`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bundle", Usage: "write the bundle to `FILE` (one input only)"},
			identityTokenFlag, serverFlag, signingConfigFlag,
			&cli.StringFlag{Name: "key-type", Value: string(keys.Default), Usage: "ephemeral key type: ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096"},
			&cli.BoolFlag{Name: "in-toto", Usage: "each FILE is an in-toto statement: sign it as a DSSE envelope"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			files := c.Args().Slice()
			if len(files) == 0 {
				return clierr.Usagef("no files to sign")
			}
			if c.String("bundle") != "" && len(files) > 1 {
				return clierr.Usagef("--bundle names one output, but %d files were given (omit it to write FILE.sigstore.json each)", len(files))
			}
			for _, f := range files {
				if f == "-" && c.String("bundle") == "" {
					return clierr.Usagef("signing standard input needs --bundle OUT")
				}
			}
			kt, err := keys.ParseType(c.String("key-type"))
			if err != nil {
				return clierr.Usagef("%v", err)
			}
			// Every signature goes into a public log for good: what
			// would fail after it is checked before anything is signed.
			if err := checkSignArgs(files, c.String("bundle")); err != nil {
				return err
			}
			return e.sign(c.Context, c, files, kt)
		},
	}
}

type signResult struct {
	File     string `json:"file"`
	Bundle   string `json:"bundle"`
	LogIndex int64  `json:"logIndex"`
	LogID    string `json:"logId,omitempty"`
}

func (e *env) sign(ctx context.Context, c *cli.Context, files []string, kt keys.Type) error {
	svc, err := loadServices(ctx, c)
	if err != nil {
		return err
	}
	cred, err := e.credential(ctx, c, svc, kt) // explicit token, CI, agent, interactive
	if err != nil {
		return err
	}
	s := &sign.Signer{Credential: cred, Log: svc.Log}
	var results []signResult
	for i, f := range files {
		out := c.String("bundle")
		if out == "" {
			out = f + ".sigstore.json"
		}
		b, err := e.signOne(ctx, s, f, c.Bool("in-toto"))
		if err == nil {
			var data []byte
			if data, err = b.Marshal(); err == nil {
				err = atomicfile.Write(out, data, 0o644)
			}
		}
		if err != nil {
			// Say what was done before the failure: those bundles are
			// written, and their signatures logged.
			if c.Bool("json") && len(results) > 0 {
				e.printJSON(results)
			} else if len(results) > 0 {
				fmt.Fprintf(e.stderr, "waxseal: signed %d of %d files before this error\n", len(results), len(files))
			}
			return fmt.Errorf("%s: %w", f, err)
		}
		tle := b.GetVerificationMaterial().GetTlogEntries()[0]
		results = append(results, signResult{File: f, Bundle: out, LogIndex: tle.GetLogIndex()})
		if !c.Bool("json") {
			fmt.Fprintf(e.stderr, "waxseal: [%d/%d] signed %s -> %s (log index %d)\n", i+1, len(files), f, out, tle.GetLogIndex())
		}
	}
	if c.Bool("json") {
		return e.printJSON(results)
	}
	return nil
}

func (e *env) signOne(ctx context.Context, s *sign.Signer, file string, inToto bool) (*bundle.Bundle, error) {
	var r io.Reader = e.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	if inToto {
		payload, err := io.ReadAll(io.LimitReader(r, 32<<20))
		if err != nil {
			return nil, err
		}
		var probe struct {
			Type string `json:"_type"`
		}
		if err := json.Unmarshal(payload, &probe); err != nil || probe.Type == "" {
			return nil, fmt.Errorf("not an in-toto statement (JSON with a _type field)")
		}
		return s.DSSE(ctx, dsse.InTotoPayloadType, payload)
	}
	return s.Artifact(ctx, r)
}

// checkSignArgs checks, before a login or a log entry, that every input is
// a readable file and that no bundle would be written over an input or
// into a directory that does not exist.
func checkSignArgs(files []string, bundleOut string) error {
	inputs := map[string]bool{}
	for _, f := range files {
		if f == "-" {
			continue
		}
		st, err := os.Stat(f)
		if err != nil {
			return err
		}
		if st.IsDir() {
			return clierr.Usagef("%s is a directory: name the files to sign", f)
		}
		if abs, err := filepath.Abs(f); err == nil {
			inputs[abs] = true
		}
	}
	for _, f := range files {
		out := bundleOut
		if out == "" {
			out = f + ".sigstore.json"
		}
		abs, err := filepath.Abs(out)
		if err != nil {
			return err
		}
		if inputs[abs] {
			return clierr.Usagef("the bundle %s would be written over a file being signed", out)
		}
		if st, err := os.Stat(filepath.Dir(abs)); err != nil || !st.IsDir() {
			return clierr.Usagef("cannot write the bundle %s: directory %s does not exist", out, filepath.Dir(out))
		}
	}
	return nil
}
