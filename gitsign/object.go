package gitsign

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Object is a raw commit or annotated tag split the way git splits it for
// verification: the payload the signature covers, and the signature.
type Object struct {
	Type      string // "commit" or "tag"
	Payload   []byte // the object without its signature: what was signed
	Signature []byte // armored signature; nil when unsigned
	// Ident is the committer (commits) or tagger (tags) line value:
	// "Name <email> timestamp zone".
	Ident   string
	Email   string // from Ident
	Subject string // first line of the message
	// Encoding is a commit's "encoding" header: the character set of its
	// message when not UTF-8 (git commit with i18n.commitEncoding set).
	// Subject is left in it.
	Encoding string
	// Target and TagName are an annotated tag's "object" and "tag"
	// headers: what it tags, and its name.
	Target, TagName string
	// Parents and MergeTags are a commit's parents and the signed tags a
	// merge of them embeds (mergetag headers: git merge of a signed tag),
	// each tag whole, as git hashed it.
	Parents   []string
	MergeTags [][]byte
	// Glued is an unsigned tag whose body holds a signature's first line
	// after other text: signed with a message that did not end in a line
	// break (git tag --cleanup=verbatim), so git appended the signature to
	// its last line and can never split it off to verify.
	Glued bool
}

// Signature headers by object format, as git names them (commit.c
// gpg_sig_headers).
const (
	sigHeaderSHA1   = "gpgsig"
	sigHeaderSHA256 = "gpgsig-sha256"
)

// MaxObjectSize bounds the objects signed and verified; git has no such
// limit, but a signed object of more than 64 MiB is not something to sign or
// verify blindly.
const MaxObjectSize = 64 << 20

// MaxSignedObjectSize bounds a stored object that holds its signature: a
// payload of MaxObjectSize, which signing allows, and an armored signature
// (cms.MaxSize of DER, base64 and folded) within the 2 MiB on top.
const MaxSignedObjectSize = MaxObjectSize + 2<<20

// ParseObject parses a raw commit or tag object (without the "<type> <len>\0"
// loose-object header). format is the repository's object format, "sha1" or
// "sha256": it decides which signature header a commit's signature is read
// from, exactly as git does. Signature headers for the other format are
// removed from the payload, as git does, but not verified.
func ParseObject(typ string, raw []byte, format string) (*Object, error) {
	if len(raw) > MaxSignedObjectSize {
		return nil, errors.New("object too large")
	}
	var o *Object
	var err error
	switch typ {
	case "commit":
		o, err = parseCommit(raw, format)
	case "tag":
		o, err = parseTag(raw, true)
	default:
		return nil, fmt.Errorf("cannot verify a %s object", typ)
	}
	if err == nil && len(o.Payload) > MaxObjectSize {
		return nil, fmt.Errorf("%s is larger than %d MiB without its signature", typ, MaxObjectSize>>20)
	}
	return o, err
}

// ParsePayload parses what git passes on stdin when verifying: a commit or
// tag with its signature already removed, or a push certificate. Its type
// is told by its first header.
func ParsePayload(payload []byte) (*Object, error) {
	if len(payload) > MaxObjectSize {
		return nil, errors.New("object too large")
	}
	if bytes.HasPrefix(payload, []byte("object ")) {
		// git split the tag at its last signature line already: what
		// looks like one in the payload is quoted in the message.
		return parseTag(payload, false)
	}
	if bytes.HasPrefix(payload, []byte("certificate version ")) {
		return parsePushCert(payload)
	}
	o, err := parseCommit(payload, "sha1")
	if err != nil {
		return nil, err
	}
	if o.Signature != nil {
		return nil, errors.New("payload still carries a signature")
	}
	return o, nil
}

// header is one header of a commit or tag, with its continuation lines.
type header struct {
	name  string
	value string // continuation lines joined by "\n", leading space removed
	raw   []byte // the header's bytes, continuation lines included
}

// splitHeaders splits an object into headers and message. Headers end at the
// first empty line; a continuation line starts with a space. body is the
// offset of the empty line, or len(raw) when there is none.
func splitHeaders(raw []byte) (hs []header, body int, err error) {
	// A header's value is made once, from its raw bytes, when it has
	// continuation lines: appended line by line it would be copied again
	// for each, and a header of many short lines (a mergetag) would take
	// time quadratic in its length, before any signature is checked.
	continued := false
	finish := func() {
		if continued {
			h := &hs[len(hs)-1]
			v := bytes.TrimSuffix(h.raw[len(h.name)+1:], []byte("\n"))
			h.value = strings.ReplaceAll(string(v), "\n ", "\n")
		}
		continued = false
	}
	off := 0
	for off < len(raw) {
		if raw[off] == '\n' {
			finish()
			return hs, off, nil
		}
		end := off + lineEnd(raw[off:])
		if raw[off] == ' ' {
			if len(hs) == 0 {
				return nil, 0, errors.New("object starts with a continuation line")
			}
			h := &hs[len(hs)-1]
			h.raw = raw[off-len(h.raw) : end]
			continued = true
		} else {
			finish()
			line := strings.TrimSuffix(string(raw[off:end]), "\n")
			name, value, ok := strings.Cut(line, " ")
			if !ok || name == "" {
				return nil, 0, fmt.Errorf("malformed header line %q", truncate(line))
			}
			hs = append(hs, header{name: name, value: value, raw: raw[off:end]})
		}
		off = end
	}
	finish()
	return hs, len(raw), nil
}

func lineEnd(b []byte) int {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return len(b)
}

func parseCommit(raw []byte, format string) (*Object, error) {
	sigHeader := sigHeaderSHA1
	switch format {
	case "sha1", "":
	case "sha256":
		sigHeader = sigHeaderSHA256
	default:
		return nil, fmt.Errorf("unknown object format %q", format)
	}
	hs, body, err := splitHeaders(raw)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	msg := raw[min(body+1, len(raw)):]
	if len(hs) == 0 || hs[0].name != "tree" {
		return nil, errors.New("commit: first header is not tree")
	}
	o := &Object{Type: "commit", Subject: subject(msg)}
	var payload bytes.Buffer
	payload.Grow(len(raw))
	committers := 0
	for _, h := range hs {
		switch {
		case h.name == sigHeader:
			if o.Signature != nil {
				return nil, fmt.Errorf("commit: two %s headers", sigHeader)
			}
			o.Signature = []byte(h.value + "\n")
			continue
		case strings.HasPrefix(h.name, "gpgsig"):
			// Another object format's signature: git leaves it out of
			// the payload (commit.c parse_buffer_signed_by_header).
			continue
		case h.name == "committer":
			committers++
			o.Ident = h.value
		case h.name == "encoding":
			o.Encoding = h.value
		case h.name == "parent":
			o.Parents = append(o.Parents, h.value)
		case h.name == "mergetag":
			o.MergeTags = append(o.MergeTags, []byte(h.value+"\n"))
		}
		payload.Write(h.raw)
	}
	if committers != 1 {
		return nil, fmt.Errorf("commit: %d committer headers", committers)
	}
	payload.Write(raw[body:]) // the empty line and the message, verbatim
	o.Payload = payload.Bytes()
	o.Email = identEmail(o.Ident)
	return o, nil
}

// sigMarkers are the lines git recognizes as the start of an in-body
// signature (gpg-interface.c sigs[]).
var sigMarkers = [][]byte{
	[]byte("-----BEGIN PGP SIGNATURE-----"),
	[]byte("-----BEGIN PGP MESSAGE-----"),
	[]byte("-----BEGIN SIGNED MESSAGE-----"),
	[]byte("-----BEGIN SSH SIGNATURE-----"),
}

// parseTag splits a tag where git does: at the start of the last line that
// begins a signature (gpg-interface.c parse_signed_buffer). Without split,
// raw is the payload git already split off.
func parseTag(raw []byte, split bool) (*Object, error) {
	hs, body, err := splitHeaders(raw)
	if err != nil {
		return nil, fmt.Errorf("tag: %w", err)
	}
	if len(hs) == 0 || hs[0].name != "object" {
		return nil, errors.New("tag: first header is not object")
	}
	o := &Object{Type: "tag", Target: hs[0].value}
	taggers := 0
	for _, h := range hs {
		switch {
		case h.name == "tagger":
			taggers++
			o.Ident = h.value
		case h.name == "tag" && o.TagName == "":
			o.TagName = h.value
		}
	}
	if taggers > 1 {
		return nil, errors.New("tag: two tagger headers")
	}
	match := len(raw)
	bodyStart := body
	for off := 0; split && off < len(raw); off += lineEnd(raw[off:]) {
		for _, m := range sigMarkers {
			if bytes.HasPrefix(raw[off:], m) {
				match = off
			}
		}
	}
	o.Payload = raw[:match:match]
	if split && match == len(raw) {
		o.Glued = glued(raw[body:])
	}
	if match < len(raw) {
		o.Signature = raw[match:]
		// git verifies the body's signature over the tag without its
		// signature headers (gpg-interface.c parse_signature).
		if o.Payload, err = removeSignatureHeaders(o.Payload); err != nil {
			return nil, fmt.Errorf("tag: %w", err)
		}
	}
	o.Subject = tagSubject(raw[min(bodyStart+1, match):match])
	o.Email = identEmail(o.Ident)
	return o, nil
}

// glued reports whether an unsigned tag's body ends in what git appends
// when it signs: a signature's first line, then its armor to the end, here
// begun in the middle of a line (found at the start of one, it would have
// been split off). A marker quoted inside a message is not followed by an
// armored block that ends the tag.
func glued(body []byte) bool {
	at := -1
	for _, m := range sigMarkers {
		if i := bytes.LastIndex(body, m); i > at && bytes.HasPrefix(body[i+len(m):], []byte("\n")) {
			at = i
		}
	}
	if at <= 0 || body[at-1] == '\n' {
		return false
	}
	// "-----END ...-----\n", the last line.
	tail := bytes.TrimSuffix(body[at:], []byte("\n"))
	last := tail[bytes.LastIndexByte(tail, '\n')+1:]
	return bytes.HasPrefix(last, []byte("-----END ")) && bytes.HasSuffix(last, []byte("-----"))
}

// removeSignatureHeaders removes the gpgsig and gpgsig-sha256 headers, with
// their continuation lines, from a tag's payload, as git does before
// verifying the signature in its body (commit.c remove_signature). git
// handles at most two such headers, removes only the second of two that
// follow each other, and treats a line that only starts with "gpgsig" in
// ways that depend on the line before; such tags are refused rather than
// verified over bytes git does not.
func removeSignatureHeaders(payload []byte) ([]byte, error) {
	var keep []byte
	removed, inSig := 0, false
	for off := 0; off < len(payload); {
		end := off + lineEnd(payload[off:])
		line := payload[off:end]
		switch {
		case line[0] == '\n':
			// The message: kept whole.
			if keep == nil {
				return payload, nil
			}
			return append(keep, payload[off:]...), nil
		case inSig && line[0] == ' ':
		case bytes.HasPrefix(line, []byte(sigHeaderSHA256+" ")), bytes.HasPrefix(line, []byte(sigHeaderSHA1+" ")):
			if inSig {
				// git removes only the second of two adjacent headers
				// and verifies over the first.
				return nil, errors.New("two adjacent signature headers")
			}
			if removed++; removed > 2 {
				return nil, errors.New("more than two signature headers")
			}
			if keep == nil {
				keep = append(make([]byte, 0, len(payload)), payload[:off]...)
			}
			inSig = true
		case bytes.HasPrefix(line, []byte("gpgsig")):
			return nil, fmt.Errorf("unknown signature header %q", truncate(string(bytes.TrimSuffix(line, []byte("\n")))))
		default:
			inSig = false
			if keep != nil {
				keep = append(keep, line...)
			}
		}
		off = end
	}
	if keep == nil {
		return payload, nil
	}
	return keep, nil
}

// parsePushCert reads the pusher of a push certificate (git push --signed),
// which git signs and verifies as it does commits and tags.
func parsePushCert(raw []byte) (*Object, error) {
	hs, _, err := splitHeaders(raw)
	if err != nil {
		return nil, fmt.Errorf("push certificate: %w", err)
	}
	o := &Object{Type: "push-cert", Payload: raw}
	pushers := 0
	for _, h := range hs {
		if h.name == "pusher" {
			pushers++
			o.Ident = h.value
		}
	}
	if pushers != 1 {
		return nil, fmt.Errorf("push certificate: %d pusher headers", pushers)
	}
	o.Email = identEmail(o.Ident)
	return o, nil
}

// subject is a message's subject as git shows it (%s, pretty.c
// format_subject): blank lines skipped, then the first paragraph, its lines
// with their trailing white space trimmed, joined by a space.
func subject(msg []byte) string {
	var b strings.Builder
	for len(msg) > 0 {
		n := lineEnd(msg)
		line := strings.TrimRight(string(msg[:n]), " \t\n\r") // git's isspace
		msg = msg[n:]
		if line == "" {
			if b.Len() > 0 {
				break // the end of the first paragraph
			}
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(line)
	}
	return b.String()
}

// tagSubject is a tag message's subject as git shows it
// (%(contents:subject), ref-filter.c): empty lines skipped, then up to the
// first empty line (a CRLF one if there is no LF one), without the line
// breaks it ends in, each line break inside it a space.
func tagSubject(msg []byte) string {
	for len(msg) > 0 && msg[0] == '\n' {
		msg = msg[1:]
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		msg = msg[:i]
	} else if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		msg = msg[:i]
	}
	msg = bytes.TrimRight(msg, "\r\n")
	b := make([]byte, 0, len(msg))
	for i, c := range msg {
		switch {
		case c == '\r' && i+1 < len(msg) && msg[i+1] == '\n':
		case c == '\n':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// identEmail extracts the email of "Name <email> ts tz" exactly as git does
// (ident.c split_ident_line): from the first '<' before any NUL to the first
// '>' after it. This is the email git shows (%ae, %ce) and the one the
// allowed signers are checked against; an ident with more angle brackets
// cannot show one email and be checked as another.
func identEmail(ident string) string {
	head := ident
	if n := strings.IndexByte(head, 0); n >= 0 {
		head = head[:n]
	}
	i := strings.IndexByte(head, '<')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(ident[i+1:], '>')
	if j < 0 {
		return ""
	}
	return ident[i+1 : i+1+j]
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
