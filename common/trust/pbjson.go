package trust

// This file reads and writes JSON the way protojson (google.golang.org/protobuf
// v1.36, UnmarshalOptions{DiscardUnknown: true}, MarshalOptions{Multiline:
// true, Indent: "  "}) does for the messages in messages.go, without linking
// protobuf: its package initialisation costs gitsign, which git runs once per
// commit, several milliseconds.
//
// The reader accepts exactly what protojson accepts and yields the same
// values; pbjson_test.go checks that against protojson on fixtures, variants,
// random documents and a fuzz target. Error messages are our own. The one
// known difference in what is accepted: protojson looks a field name
// of the form "[full.name]" up as an extension in the process's global
// registry and fails when that name is registered (as anything); here every
// such name is an unknown field and is skipped, which is what protojson does
// for unregistered names. What protojson registered depended on the whole
// binary, not on the document.
//
// Quirks kept on purpose because protojson has them: a number may end in a
// bare exponent ("1e", "1e+"); integers may be written with a fraction or
// exponent that makes them whole ("1.0", "10e-1") or quoted, and a quoted
// integer is read up to its first delimiter ("1 2" is 1); an enum name
// protojson does not know leaves the field at its default, while a quoted
// number is taken as such a name.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// recursionLimit is protowire.DefaultRecursionLimit, which protojson applies
// to nested messages and, less the message depth, to skipped unknown values.
const recursionLimit = 10000

// decoder is a recursive-descent reader over one document.
type decoder struct {
	in  []byte
	pos int
}

// A fieldFunc reads one field's (non-null) value; depth is the nesting depth
// of the message that holds the field, the top-level message being 1.
type fieldFunc func(d *decoder, depth int) error

// A message maps a field name, in its JSON or its proto spelling, to the
// field's number and reader; unknown names yield a nil reader.
type message interface {
	field(name string) (num int, read fieldFunc)
}

// unmarshal reads data into m as protojson.Unmarshal would.
func unmarshal(data []byte, m message) error {
	d := &decoder{in: data}
	if err := d.message(0, m); err != nil {
		return err
	}
	d.skipSpace()
	if d.pos != len(d.in) {
		return d.errorf("unexpected data after the top-level object")
	}
	return nil
}

func (d *decoder) errorf(format string, args ...any) error {
	pos := min(d.pos, len(d.in))
	b := d.in[:pos]
	line := bytes.Count(b, []byte("\n")) + 1
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return fmt.Errorf("(line %d:%d): %s", line, utf8.RuneCount(b)+1, fmt.Sprintf(format, args...))
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\n', '\r', '\t':
			d.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (d *decoder) peek() byte {
	d.skipSpace()
	if d.pos < len(d.in) {
		return d.in[d.pos]
	}
	return 0
}

// consume skips white space and the byte c if it comes next.
func (d *decoder) consume(c byte) bool {
	if d.peek() == c {
		d.pos++
		return true
	}
	return false
}

func (d *decoder) expect(c byte) error {
	if !d.consume(c) {
		return d.unexpected()
	}
	return nil
}

func (d *decoder) unexpected() error {
	if d.pos >= len(d.in) {
		return d.errorf("unexpected end of input")
	}
	r, _ := utf8.DecodeRune(d.in[d.pos:])
	return d.errorf("unexpected %q", r)
}

// isNotDelim reports whether c may continue a literal or number token.
func isNotDelim(c byte) bool {
	return c == '-' || c == '+' || c == '.' || c == '_' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// literal consumes the keyword s if it comes next, followed by a delimiter.
func (d *decoder) literal(s string) bool {
	d.skipSpace()
	rest := d.in[d.pos:]
	if !bytes.HasPrefix(rest, []byte(s)) || len(rest) > len(s) && isNotDelim(rest[len(s)]) {
		return false
	}
	d.pos += len(s)
	return true
}

// number consumes a number token and returns its text.
func (d *decoder) number() ([]byte, error) {
	d.skipSpace()
	n, ok := scanNumber(d.in[d.pos:])
	if !ok {
		return nil, d.unexpected()
	}
	d.pos += n
	return d.in[d.pos-n : d.pos], nil
}

// scanNumber returns the length of the number token at the start of in:
// RFC 8259's grammar, except that an exponent may have no digits, followed
// by a delimiter or the end.
func scanNumber(in []byte) (int, bool) {
	s, n := in, 0
	if len(s) > 0 && s[0] == '-' {
		s, n = s[1:], n+1
	}
	switch {
	case len(s) == 0:
		return 0, false
	case s[0] == '0':
		s, n = s[1:], n+1
	case '1' <= s[0] && s[0] <= '9':
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s, n = s[1:], n+1
		}
	default:
		return 0, false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s, n = s[2:], n+2
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s, n = s[1:], n+1
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s, n = s[1:], n+1
		if s[0] == '+' || s[0] == '-' {
			s, n = s[1:], n+1
			if len(s) == 0 {
				return 0, false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s, n = s[1:], n+1
		}
	}
	if n < len(in) && isNotDelim(in[n]) {
		return 0, false
	}
	return n, true
}

// integerText writes a number token as a plain decimal integer, if its
// value is one: "1.0", "1e2", "10e-1" and "-0" are integers.
func integerText(num []byte) (string, bool) {
	s := num
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var intp, frac, exp []byte
	if s[0] == '0' {
		s = s[1:]
	} else {
		n := 1
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		intp, s = s[:n], s[n:]
	}
	if len(s) >= 2 && s[0] == '.' {
		n := 1
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		frac, s = bytes.TrimRight(s[1:n], "0"), s[n:]
	}
	if len(s) > 0 { // 'e' or 'E'
		exp = s[1:]
	}

	if len(intp) == 0 && len(frac) == 0 {
		return "0", true
	}
	e := 0
	if len(exp) > 0 {
		i, err := strconv.ParseInt(string(exp), 10, 32)
		if err != nil {
			return "", false
		}
		e = int(i)
	}
	var digits []byte
	if e >= 0 {
		if len(frac) > e || len(intp)+e > 20 {
			return "", false
		}
		digits = append(append([]byte(nil), intp...), frac...)
		for range e - len(frac) {
			digits = append(digits, '0')
		}
	} else {
		point := len(intp) + e
		if len(frac) > 0 || point < 0 {
			return "", false
		}
		for _, c := range intp[point:] {
			if c != '0' {
				return "", false
			}
		}
		digits = intp[:point]
	}
	if neg {
		return "-" + string(digits), true
	}
	return string(digits), true
}

// str reads a string token.
func (d *decoder) str() (string, error) {
	if d.peek() != '"' {
		return "", d.unexpected()
	}
	in := d.in[d.pos+1:]
	// Most strings (base64 keys and certificates, URLs, names) are plain
	// ASCII with no escapes: take them in one piece.
	for i, c := range in {
		if c == '"' {
			d.pos += 1 + i + 1
			return string(in[:i]), nil
		}
		if c < ' ' || c == '\\' || c >= utf8.RuneSelf {
			break
		}
	}
	var out []byte
	for len(in) > 0 {
		r, n := utf8.DecodeRune(in)
		switch {
		case r == utf8.RuneError && n == 1:
			d.pos = len(d.in) - len(in)
			return "", d.errorf("invalid UTF-8 in string")
		case r < ' ':
			d.pos = len(d.in) - len(in)
			return "", d.errorf("invalid character %q in string", r)
		case r == '"':
			d.pos = len(d.in) - len(in) + 1
			return string(out), nil
		case r == '\\':
			if len(in) < 2 {
				in = in[len(in):]
				continue
			}
			switch c := in[1]; c {
			case '"', '\\', '/':
				out = append(out, c)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, m, ok := unescapeU(in)
				if !ok {
					d.pos = len(d.in) - len(in)
					return "", d.errorf("invalid escape in string")
				}
				out = utf8.AppendRune(out, r)
				in = in[m:]
				continue
			default:
				d.pos = len(d.in) - len(in)
				return "", d.errorf("invalid escape in string")
			}
			in = in[2:]
		default:
			out = append(out, in[:n]...)
			in = in[n:]
		}
	}
	d.pos = len(d.in)
	return "", d.errorf("unterminated string")
}

// unescapeU decodes a \uXXXX escape, or a surrogate pair of them, at the
// start of in. Lone or reversed surrogates are errors.
func unescapeU(in []byte) (rune, int, bool) {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 6 {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[2:6]), 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex4(in)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r) {
		return r, 6, true
	}
	in = in[6:]
	r2, ok := hex4(in)
	if !ok || in[0] != '\\' || in[1] != 'u' {
		return 0, 0, false
	}
	r = utf16.DecodeRune(r, r2)
	if r == unicode.ReplacementChar {
		return 0, 0, false
	}
	return r, 12, true
}

// message reads an object as protojson reads a message: a field may be
// named either way but appear once, null leaves it unset, and unknown fields
// are skipped. depth is that of the enclosing message.
func (d *decoder) message(depth int, m message) error {
	depth++
	if depth > recursionLimit {
		return d.errorf("exceeded max recursion depth")
	}
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.consume('}') {
		return nil
	}
	var seen uint64
	for {
		at := d.pos
		name, err := d.str()
		if err != nil {
			return err
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		num, read := m.field(name)
		switch {
		case read == nil:
			if err := d.skipValue(recursionLimit - depth); err != nil {
				return err
			}
		case seen&(1<<num) != 0:
			d.pos = at
			d.skipSpace()
			return d.errorf("duplicate field %q", name)
		default:
			seen |= 1 << num
			if d.literal("null") {
				break
			}
			if err := read(d, depth); err != nil {
				return err
			}
		}
		if d.consume('}') {
			return nil
		}
		if err := d.expect(','); err != nil {
			return err
		}
	}
}

// list reads an array of messages, calling elem for each element.
func (d *decoder) list(depth int, elem func(d *decoder, depth int) error) error {
	if err := d.expect('['); err != nil {
		return err
	}
	if d.consume(']') {
		return nil
	}
	for {
		if err := elem(d, depth); err != nil {
			return err
		}
		if d.consume(']') {
			return nil
		}
		if err := d.expect(','); err != nil {
			return err
		}
	}
}

// skipValue checks and skips any value, as protojson skips an unknown
// field's: nesting deeper than limit is an error.
func (d *decoder) skipValue(limit int) error {
	var open []byte // '{' or '['
	for {
		// A value.
		switch c := d.peek(); {
		case c == '{' || c == '[':
			if len(open)+1 > limit {
				return d.errorf("exceeded max recursion depth")
			}
			d.pos++
			open = append(open, c)
			if c == '{' {
				if d.consume('}') {
					open = open[:len(open)-1]
					break
				}
				if err := d.name(); err != nil {
					return err
				}
				continue
			}
			if d.consume(']') {
				open = open[:len(open)-1]
				break
			}
			continue
		case c == '"':
			if _, err := d.str(); err != nil {
				return err
			}
		case c == '-' || '0' <= c && c <= '9':
			if _, err := d.number(); err != nil {
				return err
			}
		default:
			if !d.literal("null") && !d.literal("true") && !d.literal("false") {
				return d.unexpected()
			}
		}
		// What may follow it: a comma, or the end of enclosing containers.
		for {
			if len(open) == 0 {
				return nil
			}
			top := open[len(open)-1]
			if d.consume(',') {
				if top == '{' {
					if err := d.name(); err != nil {
						return err
					}
				}
				break
			}
			if top == '{' && d.consume('}') || top == '[' && d.consume(']') {
				open = open[:len(open)-1]
				continue
			}
			return d.unexpected()
		}
	}
}

// name reads an object member's name and the colon after it.
func (d *decoder) name() error {
	if _, err := d.str(); err != nil {
		return err
	}
	return d.expect(':')
}

// Field readers for the scalar kinds protojson maps.

func (d *decoder) bytes() ([]byte, error) {
	at := d.pos
	s, err := d.str()
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		d.pos = at
		d.skipSpace()
		return nil, d.errorf("invalid base64 value")
	}
	return b, nil
}

// enum reads an enum value: a name, or any 32-bit integer. An unknown name
// is not an error; ok is then false and the field keeps its default.
func (d *decoder) enum(names map[string]int32) (v int32, ok bool, err error) {
	at := d.pos
	if d.peek() == '"' {
		s, err := d.str()
		if err != nil {
			return 0, false, err
		}
		v, ok := names[s]
		return v, ok, nil
	}
	if c := d.peek(); c == '-' || '0' <= c && c <= '9' {
		num, err := d.number()
		if err != nil {
			return 0, false, err
		}
		if s, isInt := integerText(num); isInt {
			if n, err := strconv.ParseInt(s, 10, 32); err == nil {
				return int32(n), true, nil
			}
		}
	}
	d.pos = at
	d.skipSpace()
	return 0, false, d.errorf("invalid enum value")
}

// uint32 reads a uint32 field: a number, or a string holding one.
func (d *decoder) uint32() (uint32, error) {
	at := d.pos
	var num []byte
	switch c := d.peek(); {
	case c == '"':
		s, err := d.str()
		if err != nil {
			return 0, err
		}
		if strings.TrimSpace(s) == s {
			if n, ok := scanNumber([]byte(s)); ok {
				num = []byte(s[:n])
			}
		}
	case c == '-' || '0' <= c && c <= '9':
		var err error
		if num, err = d.number(); err != nil {
			return 0, err
		}
	}
	if num != nil {
		if s, ok := integerText(num); ok {
			if n, err := strconv.ParseUint(s, 10, 32); err == nil {
				return uint32(n), nil
			}
		}
	}
	d.pos = at
	d.skipSpace()
	return 0, d.errorf("invalid uint32 value")
}

// Range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// timestamp is a google.protobuf.Timestamp.
type timestamp struct {
	seconds int64
	nanos   int32
}

func newTimestamp(t time.Time) *timestamp {
	return &timestamp{seconds: t.Unix(), nanos: int32(t.Nanosecond())}
}

// time is timestamppb's AsTime, including for a nil Timestamp (the epoch).
func (t *timestamp) time() time.Time {
	if t == nil {
		return time.Unix(0, 0).UTC()
	}
	return time.Unix(t.seconds, int64(t.nanos)).UTC()
}

func (d *decoder) timestamp() (*timestamp, error) {
	at := d.pos
	s, err := d.str()
	if err != nil {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	i := strings.LastIndexByte(s, '.')
	j := strings.LastIndexAny(s, "Z-+")
	if err != nil || t.Unix() < minTimestampSeconds || t.Unix() > maxTimestampSeconds ||
		i >= 0 && j >= i && j-i > len(".999999999") {
		d.pos = at
		d.skipSpace()
		return nil, d.errorf("invalid google.protobuf.Timestamp value %q", s)
	}
	return newTimestamp(t), nil
}

// encoder writes JSON as protojson's Multiline encoder with a two-space
// indent does, less the extra space it adds after some colons at random.
type encoder struct {
	out     []byte
	last    kind
	indents []byte
	err     error
}

type kind uint8

const (
	name kind = 1 << iota
	scalar
	objectOpen
	objectClose
	arrayOpen
	arrayClose
)

func (e *encoder) prepareNext(next kind) {
	switch {
	case e.last&(objectOpen|arrayOpen) != 0:
		if next&(objectClose|arrayClose) == 0 {
			e.indents = append(e.indents, "  "...)
			e.out = append(e.out, '\n')
			e.out = append(e.out, e.indents...)
		}
	case e.last&(scalar|objectClose|arrayClose) != 0:
		if next&(objectClose|arrayClose) != 0 {
			e.indents = e.indents[:len(e.indents)-2]
			e.out = append(e.out, '\n')
		} else {
			e.out = append(e.out, ',', '\n')
		}
		e.out = append(e.out, e.indents...)
	case e.last&name != 0:
		e.out = append(e.out, ' ')
	}
	e.last = next
}

func (e *encoder) startObject() { e.prepareNext(objectOpen); e.out = append(e.out, '{') }
func (e *encoder) endObject()   { e.prepareNext(objectClose); e.out = append(e.out, '}') }
func (e *encoder) startArray()  { e.prepareNext(arrayOpen); e.out = append(e.out, '[') }
func (e *encoder) endArray()    { e.prepareNext(arrayClose); e.out = append(e.out, ']') }

func (e *encoder) name(s string) {
	e.prepareNext(name)
	e.appendString(s)
	e.out = append(e.out, ':')
}

func (e *encoder) string(s string) {
	e.prepareNext(scalar)
	e.appendString(s)
}

func (e *encoder) bytes(b []byte) { e.string(base64.StdEncoding.EncodeToString(b)) }

func (e *encoder) uint(n uint64) {
	e.prepareNext(scalar)
	e.out = strconv.AppendUint(e.out, n, 10)
}

// enum writes an enum value by name, or by number if it has none.
func (e *encoder) enum(v int32, names map[int32]string) {
	if s, ok := names[v]; ok {
		e.string(s)
		return
	}
	e.prepareNext(scalar)
	e.out = strconv.AppendInt(e.out, int64(v), 10)
}

func (e *encoder) timestamp(t *timestamp) {
	if t.seconds < minTimestampSeconds || t.seconds > maxTimestampSeconds {
		e.fail(fmt.Errorf("google.protobuf.Timestamp: seconds out of range %v", t.seconds))
	}
	if t.nanos < 0 || t.nanos > 999999999 {
		e.fail(fmt.Errorf("google.protobuf.Timestamp: nanos out of range %v", t.nanos))
	}
	s := time.Unix(t.seconds, int64(t.nanos)).UTC().Format("2006-01-02T15:04:05.000000000")
	s = strings.TrimSuffix(s, "000")
	s = strings.TrimSuffix(s, "000")
	s = strings.TrimSuffix(s, ".000")
	e.string(s + "Z")
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// appendString quotes s escaping only what JSON requires; invalid UTF-8 is
// an error, as protojson makes it.
func (e *encoder) appendString(s string) {
	e.out = append(e.out, '"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			e.fail(fmt.Errorf("string field contains invalid UTF-8"))
		case r == '"' || r == '\\':
			e.out = append(e.out, '\\', byte(r))
		case r < ' ':
			e.out = append(e.out, '\\')
			switch r {
			case '\b':
				e.out = append(e.out, 'b')
			case '\f':
				e.out = append(e.out, 'f')
			case '\n':
				e.out = append(e.out, 'n')
			case '\r':
				e.out = append(e.out, 'r')
			case '\t':
				e.out = append(e.out, 't')
			default:
				e.out = append(e.out, 'u')
				e.out = append(e.out, "0000"[1+(bits.Len32(uint32(r))-1)/4:]...)
				e.out = strconv.AppendUint(e.out, uint64(r), 16)
			}
		default:
			e.out = append(e.out, s[i:i+n]...)
		}
		i += n
	}
	e.out = append(e.out, '"')
}
