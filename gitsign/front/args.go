package front

import (
	"strconv"
	"strings"

	"github.com/waxseal/waxseal/internal/clierr"
)

// Args is a gpgsm command line as git writes it.
type Args struct {
	Sign, Detach, Armor, Verify bool
	StatusFD                    int // -1: none
	LocalUser                   string
	Files                       []string
}

// IsInvocation tells git's calls (flags first) from the human commands,
// whose only flags are help and version.
func IsInvocation(args []string) bool {
	switch args[0] {
	case "-h", "-help", "--help", "-v", "-version", "--version":
		return false
	}
	return strings.HasPrefix(args[0], "-")
}

// ParseArgs accepts gpg's option syntax: grouped short options ("-bsau
// KEY", "-bsauKEY"), long options with "=" or a separate value, and "--".
func ParseArgs(args []string) (*Args, error) {
	g := &Args{StatusFD: -1}
	value := func(i *int, name string, inline string, hasInline bool) (string, error) {
		if hasInline {
			return inline, nil
		}
		if *i+1 >= len(args) {
			return "", clierr.Usagef("option %s needs a value", name)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			g.Files = append(g.Files, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, inline, hasInline := strings.Cut(a[2:], "=")
			switch name {
			case "sign":
				g.Sign = true
			case "detach-sign", "detached-sign":
				g.Detach = true
			case "armor", "armour":
				g.Armor = true
			case "verify":
				g.Verify = true
			case "local-user":
				v, err := value(&i, a, inline, hasInline)
				if err != nil {
					return nil, err
				}
				g.LocalUser = v
			case "status-fd":
				v, err := value(&i, a, inline, hasInline)
				if err != nil {
					return nil, err
				}
				fd, err := strconv.Atoi(v)
				if err != nil || fd < 0 {
					return nil, clierr.Usagef("bad --status-fd %q", v)
				}
				g.StatusFD = fd
			case "include-certs", "keyid-format":
				// Accepted for gpgsm compatibility; the certificate is
				// always included.
				if _, err := value(&i, a, inline, hasInline); err != nil {
					return nil, err
				}
			default:
				return nil, clierr.Usagef("unknown option %s", a)
			}
		case a == "-" || !strings.HasPrefix(a, "-"):
			g.Files = append(g.Files, a)
		default:
			group := a[1:]
			for j := 0; j < len(group); j++ {
				switch group[j] {
				case 'b':
					g.Detach = true
				case 's':
					g.Sign = true
				case 'a':
					g.Armor = true
				case 'u':
					rest := group[j+1:]
					v, err := value(&i, "-u", rest, rest != "")
					if err != nil {
						return nil, err
					}
					g.LocalUser = v
					j = len(group)
				default:
					return nil, clierr.Usagef("unknown option -%c", group[j])
				}
			}
		}
	}
	switch {
	case g.Sign && g.Verify:
		return nil, clierr.Usagef("--sign and --verify are exclusive")
	case g.Sign:
		if len(g.Files) > 0 {
			return nil, clierr.Usagef("signing reads stdin; unexpected arguments %q", g.Files)
		}
	case g.Verify:
		if len(g.Files) != 2 || g.Files[1] != "-" {
			return nil, clierr.Usagef("usage: gitsign --verify SIGFILE -")
		}
	default:
		return nil, clierr.Usagef("nothing to do: use -bsau KEY (sign) or --verify SIGFILE - (verify), as git does")
	}
	return g, nil
}

// IsVerify tells whether args (without the program name) are git asking
// for a signature to be verified, which Run does without signing support.
func IsVerify(args []string) bool {
	if len(args) == 0 || !IsInvocation(args) {
		return false
	}
	g, err := ParseArgs(args)
	return err == nil && g.Verify
}
