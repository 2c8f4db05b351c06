package cli

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"

	"github.com/waxseal/waxseal/gitsign"
)

// subjectOf is an object's subject as `git log --format=%s` shows it: a
// commit whose "encoding" header names another character set than UTF-8
// has its message converted from it (pretty.c repo_logmsg_reencode), and
// one that cannot be converted is shown as it is, as iconv fails on a byte
// the character set does not have. The name is looked up among IANA's
// character sets, as iconv knows them, then among the web's labels
// (cp1252, ...), but for those that stand for no character set of iconv's.
func subjectOf(o *gitsign.Object) string {
	if o.Encoding == "" || isUTF8(o.Encoding) {
		return o.Subject
	}
	enc := charset(o.Encoding)
	if enc == nil {
		return o.Subject
	}
	s, err := enc.NewDecoder().String(o.Subject)
	if err != nil || strings.ContainsRune(s, utf8.RuneError) {
		return o.Subject
	}
	return s
}

// isUTF8 is git's same_encoding for UTF-8: "utf8" is "UTF-8" too.
func isUTF8(name string) bool {
	return strings.EqualFold(name, "UTF-8") || strings.EqualFold(name, "utf8")
}

func charset(name string) encoding.Encoding {
	if enc, err := ianaindex.IANA.Encoding(name); err == nil && enc != nil {
		return enc
	}
	if enc, err := htmlindex.Get(name); err == nil && enc != encoding.Replacement && enc != charmap.XUserDefined {
		return enc
	}
	return nil
}
