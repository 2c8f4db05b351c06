package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// intersperse moves a command's flags ahead of its arguments, so that
// "waxseal verify FILE --certificate-identity X" works as users expect of
// cosign and git; urfave/cli stops parsing flags at the first argument.
// Everything after "--" stays where it is.
func intersperse(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	cmds, flags := app.Commands, app.Flags
	i := 1
	// Descend through (sub)command names; flags after a name are its own.
	for i < len(args) {
		a := args[i]
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(a) {
				next = c
			}
		}
		if next == nil {
			break
		}
		out = append(out, a)
		cmds, flags = next.Subcommands, next.Flags
		i++
	}
	takesValue := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var fl, pos []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		fl = append(fl, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if takesValue[name] && i+1 < len(args) {
			i++
			fl = append(fl, args[i])
		}
	}
	out = append(out, fl...)
	if len(pos) > 0 && pos[0] != "--" {
		out = append(out, "--")
		// Positional arguments after "--" are never taken as flags,
		// so a file named "-x" still works.
	}
	return append(out, pos...)
}
