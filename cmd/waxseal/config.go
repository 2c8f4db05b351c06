package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/trust"
)

// The user's defaults for any flag live in config.json in the config
// directory ($WAXSEAL_CONFIG_DIR, or the user's config directory + /waxseal),
// one JSON object of flag name to value:
//
//	{"server": "https://sigstore.example.com", "oidc-provider": "device",
//	 "oidc-issuer": "https://accounts.example.com", "key-type": "ecdsa-p384"}
//
// A flag on the command line or in its environment variable wins; a key no
// command knows is an error, so that a typo does not pass silently.
const configFile = "config.json"

func loadUserConfig() (map[string]string, string, error) {
	dir, err := trust.Dir()
	if err != nil {
		return nil, "", nil // no config directory: no defaults
	}
	path := filepath.Join(dir, configFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, path, nil
	}
	if err != nil {
		return nil, path, err
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case bool, float64:
			out[k] = fmt.Sprint(v)
		default:
			return nil, path, fmt.Errorf("%s: %q must be a string, number or boolean", path, k)
		}
	}
	return out, path, nil
}

// applyUserConfig installs the config file's defaults on every command.
func applyUserConfig(app *cli.App) error {
	cfg, path, err := loadUserConfig()
	if err != nil || len(cfg) == 0 {
		return err
	}
	known := map[string]bool{}
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			for _, f := range cmd.Flags {
				for _, n := range f.Names() {
					known[n] = true
				}
			}
			prev := cmd.Before
			cmd.Before = func(c *cli.Context) error {
				for _, f := range c.Command.Flags {
					name := f.Names()[0]
					if v, ok := cfg[name]; ok && !c.IsSet(name) {
						if err := c.Set(name, v); err != nil {
							return fmt.Errorf("%s: %s: %w", path, name, err)
						}
					}
				}
				if prev != nil {
					return prev(c)
				}
				return nil
			}
			walk(cmd.Subcommands)
		}
	}
	walk(app.Commands)
	for k := range cfg {
		if !known[k] {
			return fmt.Errorf("%s: %q is not a waxseal flag", path, k)
		}
	}
	return nil
}
