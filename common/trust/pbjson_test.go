package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	commonpb "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	trustpb "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/waxseal/waxseal/internal/testca"
)

// fixtures are the trusted roots and signing configs in the repository.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{
		filepath.Join("..", "..", "testdata", "gitsign-public-good", "trusted_root.json"),
		filepath.Join("..", "..", "testdata", "tlog", "public-good-trusted_root.json"),
		filepath.Join("..", "..", "..", "shared", "testdata", "gitsign-public-good", "trusted_root.json"),
		filepath.Join("testdata", "signing_config.json"),
	} {
		data, err := os.ReadFile(p)
		if os.IsNotExist(err) && strings.Contains(p, "shared") {
			continue // outside the repository; not every checkout has it
		}
		if err != nil {
			t.Fatal(err)
		}
		out[p] = data
	}
	return out
}

// protojsonNormal is protojson's multi-line output without the extra spaces
// it adds at random: what ours must equal byte for byte.
func protojsonNormal(t testing.TB, b []byte) []byte {
	t.Helper()
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		t.Fatalf("protojson wrote invalid JSON: %v\n%s", err, b)
	}
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// extensionError reports whether protojson failed on a "[name]" field that
// named something in its global registry; we skip every "[name]" field as
// unknown (see pbjson.go), so such inputs are not compared.
func extensionError(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "unable to resolve") || strings.Contains(err.Error(), "cannot be extended"))
}

var checkNow = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)

// crossCheck reads data as a TrustedRoot and as a SigningConfig with
// protojson and with this package and fails unless both accept it with the
// same result, or both reject it. It returns whether protojson accepted it
// as each message.
func crossCheck(t testing.TB, data []byte) (rootOK, configOK bool) {
	t.Helper()
	for _, m := range []proto.Message{&trustpb.TrustedRoot{}, &trustpb.SigningConfig{}} {
		if err := legacyUnmarshal.Unmarshal(data, m); extensionError(err) {
			t.Logf("not compared: protojson: %v", err)
			return false, false
		}
	}
	rootOK = crossCheckMessage(t, "TrustedRoot", data, &trustpb.TrustedRoot{}, func() (proto.Message, encodable, error) {
		var m trustedRoot
		err := unmarshal(data, &m)
		return m.pb(), &m, err
	})
	configOK = crossCheckMessage(t, "SigningConfig", data, &trustpb.SigningConfig{}, func() (proto.Message, encodable, error) {
		var m signingConfig
		err := unmarshal(data, &m)
		return m.pb(), &m, err
	})

	// And the API built on them.
	want, errWant := legacyParseRoot(data)
	got, err := ParseRoot(data)
	compareResults(t, "ParseRoot", data, rootOK, want, errWant, got, err)
	wantSC, errWant := legacyParseSigningConfig(data, checkNow)
	gotSC, err := ParseSigningConfig(data, checkNow)
	compareResults(t, "ParseSigningConfig", data, configOK, wantSC, errWant, gotSC, err)
	return rootOK, configOK
}

func crossCheckMessage(t testing.TB, what string, data []byte, want proto.Message, ours func() (proto.Message, encodable, error)) bool {
	t.Helper()
	errWant := legacyUnmarshal.Unmarshal(data, want)
	got, m, err := ours()
	if (err == nil) != (errWant == nil) {
		t.Errorf("%s from %q:\nprotojson: %v\nours:      %v", what, data, errWant, err)
		return false
	}
	if err != nil {
		return false
	}
	if !proto.Equal(want, got) {
		t.Errorf("%s from %q: protojson read\n%v\nwe read\n%v", what, data, prototext.Format(want), prototext.Format(got))
	}

	// Writing it back gives what protojson writes.
	wantJSON, errWant := legacyMarshal.Marshal(want)
	gotJSON, err := marshal(m)
	if (err == nil) != (errWant == nil) {
		t.Errorf("writing %s: protojson: %v, ours: %v", what, errWant, err)
	} else if err == nil && !bytes.Equal(protojsonNormal(t, wantJSON), gotJSON) {
		t.Errorf("writing %s: protojson wrote\n%s\nwe wrote\n%s", what, wantJSON, gotJSON)
	}
	return true
}

// compareResults compares what the protojson-based and the current API
// return. Errors that do not come from the JSON layer must read the same.
func compareResults[T any](t testing.TB, what string, data []byte, decoded bool, want T, errWant error, got T, err error) {
	t.Helper()
	switch {
	case (err == nil) != (errWant == nil):
		t.Errorf("%s(%q):\nbefore: %v\nnow:    %v", what, data, errWant, err)
	case err != nil:
		if decoded && err.Error() != errWant.Error() {
			t.Errorf("%s(%q): error changed:\nbefore: %v\nnow:    %v", what, data, errWant, err)
		}
	case !reflect.DeepEqual(want, got):
		t.Errorf("%s(%q):\nbefore: %+v\nnow:    %+v", what, data, want, got)
	}
}

func TestFixturesMatchProtojson(t *testing.T) {
	for name, data := range fixtures(t) {
		rootOK, configOK := crossCheck(t, data)
		if !rootOK && !configOK {
			t.Errorf("%s: protojson read it as neither message", name)
		}
		for _, v := range variants(t, data) {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				r, c := crossCheck(t, v.data)
				if r != rootOK || c != configOK {
					t.Errorf("the variant is read differently (root %v, config %v): %s", r, c, v.data)
				}
			})
		}
	}
	// The real roots yield the same Root as before, not just the same error.
	r, err := ParseRoot(fixtures(t)[filepath.Join("..", "..", "testdata", "gitsign-public-good", "trusted_root.json")])
	if err != nil || len(r.TLogs) == 0 {
		t.Fatalf("public-good root: %v", err)
	}
}

type variant struct {
	name string
	data []byte
}

// variants rewrites a document in the other ways protojson's JSON mapping
// allows: proto field names, base64 variants, enum numbers, timestamps with
// offsets and fractions, unknown fields, nulls and escapes.
func variants(t testing.TB, doc []byte) []variant {
	t.Helper()
	var out []variant
	add := func(name string, f func(key string, v any) any) {
		var tree any
		d := json.NewDecoder(bytes.NewReader(doc))
		d.UseNumber()
		if err := d.Decode(&tree); err != nil {
			t.Fatal(err)
		}
		tree = walk(tree, "", f)
		b, err := json.MarshalIndent(tree, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, variant{name, b})
	}
	keyed := func(g func(key string, v any) (string, any)) func(string, any) any {
		return func(_ string, v any) any {
			obj, ok := v.(map[string]any)
			if !ok {
				return v
			}
			res := map[string]any{}
			for k, x := range obj {
				k2, x2 := g(k, x)
				res[k2] = x2
			}
			return res
		}
	}
	add("snake_case", keyed(func(k string, v any) (string, any) { return snake(k), v }))
	i := 0
	add("mixed case", keyed(func(k string, v any) (string, any) {
		i++
		if i%2 == 0 {
			return snake(k), v
		}
		return k, v
	}))
	isBytes := func(k string) bool { return k == "rawBytes" || k == "keyId" }
	for _, enc := range []struct {
		name string
		enc  *base64.Encoding
	}{{"url-safe base64", base64.URLEncoding}, {"unpadded base64", base64.RawStdEncoding}, {"unpadded url-safe base64", base64.RawURLEncoding}} {
		add(enc.name, func(k string, v any) any {
			if s, ok := v.(string); ok && isBytes(k) {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					t.Fatal(err)
				}
				return enc.enc.EncodeToString(b)
			}
			return v
		})
	}
	add("base64 with newlines", func(k string, v any) any {
		if s, ok := v.(string); ok && isBytes(k) && len(s) > 8 {
			return s[:4] + "\n\n" + s[4:8] + "\r\n" + s[8:] // length kept a multiple of 4
		}
		return v
	})
	numbers := map[string]map[string]int32{
		"hashAlgorithm": commonpb.HashAlgorithm_value,
		"keyDetails":    commonpb.PublicKeyDetails_value,
		"selector":      trustpb.ServiceSelector_value,
	}
	add("enum numbers", func(k string, v any) any {
		if s, ok := v.(string); ok && numbers[k] != nil {
			return numbers[k][s]
		}
		return v
	})
	add("integers as strings and exponents", func(k string, v any) any {
		if n, ok := v.(json.Number); ok {
			if k == "count" {
				return json.Number(string(n) + ".000e0")
			}
			return string(n)
		}
		return v
	})
	for i, layout := range []string{
		"2006-01-02T15:04:05.9Z07:00",
		"2006-01-02T15:04:05.000000Z07:00",
		"2006-01-02T15:04:05.000000000Z07:00",
		"2006-01-02T15:04:05.00Z07:00",
	} {
		zone := time.FixedZone("", (i*7-11)*1800)
		add("timestamps "+layout, func(k string, v any) any {
			if s, ok := v.(string); ok && (k == "start" || k == "end") {
				ts, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					t.Fatal(err)
				}
				return ts.Add(time.Duration(i) * 123456789).In(zone).Format(layout)
			}
			return v
		})
	}
	add("unknown fields", func(_ string, v any) any {
		if obj, ok := v.(map[string]any); ok {
			obj["unknownField"] = map[string]any{"a": []any{1, "x", nil, true, map[string]any{}, []any{}}}
			obj["[not.an.extension]"] = 1.5e300
			obj["Uri"] = 7 // names are case-sensitive
			obj["MEDIA_TYPE"] = []any{}
		}
		return v
	})
	add("nulls", func(_ string, v any) any {
		if obj, ok := v.(map[string]any); ok {
			for _, k := range []string{"operator", "timestampAuthorities", "checkpointKeyId", "end", "subject", "count", "hashAlgorithm", "unknown"} {
				if _, ok := obj[k]; !ok {
					obj[k] = nil
				}
			}
		}
		return v
	})
	add("unknown enum names", func(k string, v any) any {
		if k == "keyDetails" || k == "selector" {
			return "NO_SUCH_VALUE"
		}
		return v
	})
	// Escapes that encoding/json does not write.
	esc := strings.NewReplacer(`"mediaType"`, `"media\u0054yp\u0065"`, `"https:`, `"https\u003a`, `/`, `\/`, `"`+"2", `"\u0032`)
	out = append(out, variant{"escapes", []byte(esc.Replace(string(doc)))})
	return out
}

// walk applies f to every value, bottom up; key is the member name the value
// is found under, for array elements that of the array.
func walk(v any, key string, f func(key string, v any) any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			x[k] = walk(y, k, f)
		}
	case []any:
		for i, y := range x {
			x[i] = walk(y, key, f)
		}
	}
	return f(key, v)
}

func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// protojsonCases are documents protojson accepts or rejects for reasons that
// are easy to get wrong; accepted says which.
var protojsonCases = []struct {
	name     string
	doc      string
	accepted bool
}{
	{"empty object", `{}`, true},
	{"white space", " \t\r\n{ \t\r\n} \t\r\n", true},
	{"nothing", ``, false},
	{"null document", `null`, false},
	{"array document", `[]`, false},
	{"trailing data", `{} {}`, false},
	{"trailing comma", `{"x":1,}`, false},
	{"trailing comma in list", `{"tlogs":[{},]}`, false},
	{"byte order mark", "\xef\xbb\xbf{}", false},
	{"invalid UTF-8 in unknown field", "{\"x\":\"\xff\"}", false},
	{"invalid UTF-8 in name", "{\"\xff\":1}", false},
	{"control character in string", "{\"x\":\"\x01\"}", false},
	{"lone high surrogate", `{"x":"\ud800"}`, false},
	{"lone low surrogate", `{"x":"\udc00x"}`, false},
	{"reversed surrogates", `{"x":"\udc00\ud800"}`, false},
	{"surrogate pair", `{"mediaType":"\ud83d\ude00"}`, true},
	{"short escape", `{"x":"\u12"}`, false},
	{"unknown escape", `{"x":"\a"}`, false},
	{"escaped U+FFFD", `{"mediaType":"\ufffd"}`, true},
	{"bad number in unknown field", `{"x":01}`, false},
	{"bare exponent in unknown field", `{"x":1e}`, true},
	{"bare exponent sign in unknown field", `{"x":[1e+]}`, true},
	{"huge exponent in unknown field", `{"x":1e999999}`, true},
	{"bad literal", `{"x":nul}`, false},
	{"literal without delimiter", `{"x":truex}`, false},
	{"number without delimiter", `{"x":1.5.3}`, false},
	{"missing colon", `{"x" 1}`, false},
	{"single quotes", `{'x':1}`, false},
	{"deep unknown value", `{"x":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`, true},

	{"duplicate field", `{"mediaType":"a","mediaType":"a"}`, false},
	{"duplicate field, both spellings", `{"mediaType":"a","media_type":"a"}`, false},
	{"duplicate null field", `{"mediaType":null,"media_type":"a"}`, false},
	{"duplicate unknown field", `{"x":1,"x":2}`, true},
	{"null field", `{"mediaType":null,"tlogs":null,"rekorTlogConfig":null}`, true},
	{"null list element", `{"tlogs":[null]}`, false},
	{"object for list", `{"tlogs":{}}`, false},
	{"string for message", `{"tsaConfig":"ANY"}`, false},
	{"number for string", `{"mediaType":1}`, false},
	{"bool for string", `{"certificateAuthorities":[{"uri":true}]}`, false},

	{"standard base64", `{"ctlogs":[{"logId":{"keyId":"+/+/"}}]}`, true},
	{"url-safe base64", `{"ctlogs":[{"logId":{"keyId":"-_-_"}}]}`, true},
	{"mixed base64 alphabets", `{"ctlogs":[{"logId":{"keyId":"-/+_"}}]}`, false},
	{"unpadded base64", `{"ctlogs":[{"logId":{"keyId":"AAA"}}]}`, true},
	{"wrongly padded base64", `{"ctlogs":[{"logId":{"keyId":"AA=="}}]}`, true},
	{"overpadded base64", `{"ctlogs":[{"logId":{"keyId":"AA==="}}]}`, false},
	{"padding inside base64", `{"ctlogs":[{"logId":{"keyId":"AA==AA=="}}]}`, false},
	{"base64 of length 1 mod 4", `{"ctlogs":[{"logId":{"keyId":"AAAAA"}}]}`, false},
	{"base64 with junk", `{"ctlogs":[{"logId":{"keyId":"AA*A"}}]}`, false},
	{"base64 with non-zero trailing bits", `{"ctlogs":[{"logId":{"keyId":"AB=="}}]}`, true},
	{"base64 with space", `{"ctlogs":[{"logId":{"keyId":"AA AA"}}]}`, false},
	{"empty base64", `{"ctlogs":[{"logId":{"keyId":""},"publicKey":{"rawBytes":""}}]}`, true},
	{"number for bytes", `{"ctlogs":[{"logId":{"keyId":0}}]}`, false},

	{"enum name", `{"tlogs":[{"hashAlgorithm":"SHA2_384"}]}`, true},
	{"enum number", `{"tlogs":[{"hashAlgorithm":2}]}`, true},
	{"unnamed enum number", `{"tlogs":[{"hashAlgorithm":-7}]}`, true},
	{"enum number as a float", `{"tlogs":[{"hashAlgorithm":2.0e0}]}`, true},
	{"enum number out of range", `{"tlogs":[{"hashAlgorithm":2147483648}]}`, false},
	{"fractional enum number", `{"tlogs":[{"hashAlgorithm":1.5}]}`, false},
	{"unknown enum name", `{"tlogs":[{"hashAlgorithm":"SHA1"}]}`, true},
	{"enum name in the wrong case", `{"tsaConfig":{"selector":"any"}}`, true},
	{"quoted enum number (an unknown name)", `{"tsaConfig":{"selector":"2"}}`, true},
	{"bool for enum", `{"tsaConfig":{"selector":true}}`, false},
	{"object for enum", `{"tsaConfig":{"selector":{}}}`, false},

	{"uint32", `{"tsaConfig":{"count":4294967295}}`, true},
	{"uint32 overflow", `{"tsaConfig":{"count":4294967296}}`, false},
	{"negative uint32", `{"tsaConfig":{"count":-1}}`, false},
	{"negative zero uint32", `{"tsaConfig":{"count":-0}}`, true},
	{"uint32 with fraction", `{"tsaConfig":{"count":1.5}}`, false},
	{"uint32 with zero fraction", `{"tsaConfig":{"count":1.000}}`, true},
	{"uint32 with exponent", `{"tsaConfig":{"count":10e-1}}`, true},
	{"uint32 with bare exponent", `{"tsaConfig":{"count":1e}}`, true},
	{"uint32 with huge exponent", `{"tsaConfig":{"count":0.0e99999999999}}`, true},
	{"quoted uint32", `{"tsaConfig":{"count":"7"}}`, true},
	{"quoted uint32 with exponent", `{"tsaConfig":{"count":"7e1"}}`, true},
	{"quoted uint32 read to a delimiter", `{"tsaConfig":{"count":"7 8"}}`, true},
	{"quoted uint32 read to a comma", `{"tsaConfig":{"count":"7,x"}}`, true},
	{"quoted uint32 with letters", `{"tsaConfig":{"count":"7x"}}`, false},
	{"quoted uint32 with spaces", `{"tsaConfig":{"count":" 7"}}`, false},
	{"quoted uint32 with a no-break space", `{"tsaConfig":{"count":"7\u00a0"}}`, false},
	{"empty quoted uint32", `{"tsaConfig":{"count":""}}`, false},
	{"quoted uint32 with plus", `{"tsaConfig":{"count":"+7"}}`, false},
	{"bool for uint32", `{"tsaConfig":{"count":true}}`, false},

	{"timestamp", `{"caUrls":[{"validFor":{"start":"2021-01-12T11:53:27Z"}}]}`, true},
	{"timestamp with offset", `{"caUrls":[{"validFor":{"start":"2021-01-12T11:53:27+05:30"}}]}`, true},
	{"timestamp with negative offset", `{"caUrls":[{"validFor":{"start":"2021-01-12T11:53:27.5-08:00"}}]}`, true},
	{"timestamp with nanoseconds", `{"caUrls":[{"validFor":{"start":"2021-01-12T11:53:27.123456789Z"}}]}`, true},
	{"timestamp with 1 digit", `{"caUrls":[{"validFor":{"start":"2021-01-12T11:53:27.1Z"}}]}`, true},
	{"timestamp with 10 digits", `{"caUrls":[{"validFor":{"start":"2021-01-12T11:53:27.1234567890Z"}}]}`, false},
	{"timestamp with empty fraction", `{"caUrls":[{"validFor":{"start":"2021-01-12T11:53:27.Z"}}]}`, false},
	{"timestamp in lower case", `{"caUrls":[{"validFor":{"start":"2021-01-12t11:53:27z"}}]}`, false},
	{"timestamp without zone", `{"caUrls":[{"validFor":{"start":"2021-01-12T11:53:27"}}]}`, false},
	{"date", `{"caUrls":[{"validFor":{"start":"2021-01-12"}}]}`, false},
	{"timestamp with space", `{"caUrls":[{"validFor":{"start":"2021-01-12 11:53:27Z"}}]}`, false},
	{"timestamp month 13", `{"caUrls":[{"validFor":{"start":"2021-13-12T11:53:27Z"}}]}`, false},
	{"timestamp hour 24", `{"caUrls":[{"validFor":{"start":"2021-01-12T24:00:00Z"}}]}`, false},
	{"leap second", `{"caUrls":[{"validFor":{"start":"2016-12-31T23:59:60Z"}}]}`, false},
	{"first timestamp", `{"caUrls":[{"validFor":{"start":"0001-01-01T00:00:00Z"}}]}`, true},
	{"last timestamp", `{"caUrls":[{"validFor":{"end":"9999-12-31T23:59:59.999999999Z"}}]}`, true},
	{"timestamp before year 1", `{"caUrls":[{"validFor":{"start":"0001-01-01T00:00:00+00:01"}}]}`, false},
	{"timestamp after year 9999", `{"caUrls":[{"validFor":{"start":"9999-12-31T23:59:59-00:01"}}]}`, false},
	{"number for timestamp", `{"caUrls":[{"validFor":{"start":1610452407}}]}`, false},
	{"object for timestamp", `{"caUrls":[{"validFor":{"start":{"seconds":1}}}]}`, false},
	{"null timestamp", `{"caUrls":[{"validFor":{"start":null,"end":null}}]}`, true},
}

func TestProtojsonCases(t *testing.T) {
	for _, c := range protojsonCases {
		t.Run(c.name, func(t *testing.T) {
			rootOK, configOK := crossCheck(t, []byte(c.doc))
			// Each case is about one of the two messages; the other skips
			// its fields as unknown.
			if (rootOK && configOK) != c.accepted {
				t.Errorf("protojson accepted it: %v as a root, %v as a config; the case says %v", rootOK, configOK, c.accepted)
			}
		})
	}
}

// The recursion limit protojson puts on skipped values depends on how deep
// the enclosing message is, not on the arrays around it.
func TestDeepUnknownValues(t *testing.T) {
	for _, n := range []int{9996, 9997, 9998, 9999, 10000} {
		for _, doc := range []string{
			`{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`,
			`{"x":` + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) + `}`,
			`{"tlogs":[{"publicKey":{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}]}`,
		} {
			crossCheck(t, []byte(doc))
		}
	}
}

func TestEnumTables(t *testing.T) {
	for _, c := range []struct {
		ours enum
		pb   map[int32]string
	}{
		{hashAlgorithms, commonpb.HashAlgorithm_name},
		{publicKeyDetails, commonpb.PublicKeyDetails_name},
		{serviceSelectors, trustpb.ServiceSelector_name},
	} {
		if !reflect.DeepEqual(c.ours.byNum, c.pb) {
			t.Errorf("enum names %v, protobuf-specs has %v", c.ours.byNum, c.pb)
		}
		for n, s := range c.pb {
			if c.ours.byName[s] != n || c.ours.name(n) != s {
				t.Errorf("enum %s = %d", s, n)
			}
		}
	}
	if hashAlgorithms.name(99) != "99" || hashSHA2_256 != int32(commonpb.HashAlgorithm_SHA2_256) ||
		selectorANY != int32(trustpb.ServiceSelector_ANY) {
		t.Error("enum constants")
	}
}

func TestKeyDetailsNames(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, c := range []struct {
		key  crypto.PublicKey
		want commonpb.PublicKeyDetails
	}{
		{p256.Public(), commonpb.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256},
		{p384.Public(), commonpb.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384},
		{p521.Public(), commonpb.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512},
		{edPub, commonpb.PublicKeyDetails_PKIX_ED25519},
		{rsaKey.Public(), commonpb.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256},
	} {
		key, want := c.key, c.want
		got, err := KeyDetails(key)
		if err != nil || got != want.String() {
			t.Errorf("KeyDetails(%T) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []crypto.PublicKey{nil, "key", &rsa.PublicKey{N: big.NewInt(65537), E: 3}} {
		if got, err := KeyDetails(key); err == nil || got != "" {
			t.Errorf("KeyDetails(%T) = %q, %v", key, got, err)
		}
	}
}

// NewRoot and NewSigningConfig write what they wrote with protojson.
func TestWritersMatchProtojson(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert := func(subject pkix.Name) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: subject,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		return testca.Cert(t, tmpl, nil, p256.Public(), p256)
	}
	plain := cert(pkix.Name{CommonName: "root", Organization: []string{"test"}})
	odd := cert(pkix.Name{CommonName: "<a & b> \"q\" \\ \u2028 \x01\x1f\t é 😀", Organization: []string{"/</script>"}})
	anonymous := cert(pkix.Name{})
	badUTF8 := &x509.Certificate{Raw: plain.Raw, Subject: pkix.Name{CommonName: "\xff"}}
	now := time.Now()

	roots := map[string]RootSpec{
		"one tlog": {CAURI: "http://ca", CAChain: []*x509.Certificate{plain},
			TLogs: []LogSpec{{BaseURL: "http://log", Key: p256.Public()}}, Start: now},
		"everything": {CAURI: "https://ca.example/a?b=c&d=<e>", CAChain: []*x509.Certificate{odd, anonymous, plain},
			TLogs:  []LogSpec{{BaseURL: "http://log", Key: p256.Public()}, {BaseURL: "", Key: edPub}},
			CTLogs: []LogSpec{{BaseURL: "http://ct", Key: p384.Public()}, {BaseURL: "http://ct2", Key: rsaKey.Public()}},
			Start:  now.In(time.FixedZone("", -7*3600)).Add(123456789)},
		"no logs, no URI":      {CAChain: []*x509.Certificate{anonymous}, Start: now},
		"escapes in subject":   {CAChain: []*x509.Certificate{odd}, Start: now},
		"zero start":           {CAChain: []*x509.Certificate{plain}},
		"start in year 9999":   {CAChain: []*x509.Certificate{plain}, Start: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"start after 9999":     {CAChain: []*x509.Certificate{plain}, Start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"start before year 1":  {CAChain: []*x509.Certificate{plain}, Start: time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)},
		"invalid UTF-8":        {CAChain: []*x509.Certificate{badUTF8}, Start: now},
		"invalid UTF-8 in URL": {CAURI: "http://\xc3", CAChain: []*x509.Certificate{plain}, Start: now},
		"unsupported key":      {CAChain: []*x509.Certificate{plain}, TLogs: []LogSpec{{Key: "key"}}},
		"no chain":             {},
	}
	for name, spec := range roots {
		want, errWant := legacyNewRoot(spec)
		got, err := NewRoot(spec)
		checkWritten(t, "NewRoot "+name, want, errWant, got, err)
		if err == nil {
			crossCheck(t, got)
		}
	}
	configs := map[string]SigningConfigSpec{
		"all":      {CAURL: "http://ca", OIDCURL: "http://oidc", RekorURL: "http://log", Operator: "me & <you>", Start: now},
		"minimal":  {CAURL: "http://ca", RekorURL: "http://log"},
		"empty":    {},
		"bad UTF8": {CAURL: "http://ca", Operator: "\xff"},
		"far":      {CAURL: "http://ca", Start: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for name, spec := range configs {
		want, errWant := legacyNewSigningConfig(spec)
		got, err := NewSigningConfig(spec)
		checkWritten(t, "NewSigningConfig "+name, want, errWant, got, err)
		if err == nil {
			crossCheck(t, got)
		}
	}
}

func checkWritten(t *testing.T, what string, want []byte, errWant error, got []byte, err error) {
	t.Helper()
	if (err == nil) != (errWant == nil) {
		t.Errorf("%s: protojson: %v, ours: %v", what, errWant, err)
		return
	}
	if err != nil {
		return
	}
	if !bytes.Equal(protojsonNormal(t, want), got) {
		t.Errorf("%s: protojson wrote\n%s\nwe wrote\n%s", what, want, got)
	}
	if !json.Valid(got) || !bytes.HasPrefix(got, []byte("{\n  \"")) || bytes.HasSuffix(got, []byte("\n")) {
		t.Errorf("%s: not two-space indented JSON:\n%s", what, got)
	}
}

// Parsing returns the same Root and SigningConfig as before for the real
// documents, compared field by field rather than through the JSON layer.
func TestSameRootAsBefore(t *testing.T) {
	for name, data := range fixtures(t) {
		if strings.Contains(name, "signing") {
			for _, now := range []time.Time{checkNow, time.Date(2099, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)} {
				want, errWant := legacyParseSigningConfig(data, now)
				got, err := ParseSigningConfig(data, now)
				compareResults(t, name, data, true, want, errWant, got, err)
			}
			continue
		}
		want, err := legacyParseRoot(data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseRoot(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: Root differs:\nbefore %+v\nnow    %+v", name, want, got)
		}
		if len(got.CAs) != 2 || got.CAs[0].ValidFor.End.IsZero() || !got.CAs[1].ValidFor.End.IsZero() ||
			got.CAs[0].ValidFor.End.Nanosecond() != 999000000 || got.CAs[0].ValidFor.End.Location() != time.UTC {
			t.Errorf("%s: CA validity %+v", name, got.CAs)
		}
	}
}

// A service without a start sorts at the Unix epoch, as it did with the
// protobuf getters.
func TestPickServiceWithoutStart(t *testing.T) {
	doc := `{"mediaType":"` + SigningConfigMediaType + `",
	 "caUrls":[{"url":"http://1960","majorApiVersion":1,"validFor":{"start":"1960-01-01T00:00:00Z"}},
	           {"url":"http://nostart","majorApiVersion":1,"validFor":{}},
	           {"url":"http://novalidity","majorApiVersion":1}],
	 "rekorTlogUrls":[{"url":"http://log","majorApiVersion":"1"}]}`
	for _, now := range []time.Time{checkNow, time.Date(1965, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		want, errWant := legacyParseSigningConfig([]byte(doc), now)
		got, err := ParseSigningConfig([]byte(doc), now)
		compareResults(t, "ParseSigningConfig", []byte(doc), true, want, errWant, got, err)
		if err != nil || got.CAURL != "http://nostart" {
			t.Errorf("at %v picked %+v, %v", now, got, err)
		}
	}
}

func FuzzProtojson(f *testing.F) {
	for _, data := range fixtures(f) {
		f.Add(data)
		for _, v := range variants(f, data) {
			f.Add(v.data)
		}
	}
	for _, c := range protojsonCases {
		f.Add([]byte(c.doc))
	}
	ca := testCA(f)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root, _ := NewRoot(RootSpec{CAURI: "http://ca", CAChain: []*x509.Certificate{ca}, TLogs: []LogSpec{{BaseURL: "http://log", Key: key.Public()}},
		CTLogs: []LogSpec{{BaseURL: "http://ct", Key: key.Public()}}, Start: checkNow.Add(-time.Hour)})
	f.Add(root)
	sc, _ := NewSigningConfig(SigningConfigSpec{CAURL: "http://ca", OIDCURL: "http://oidc", RekorURL: "http://log", Operator: "op", Start: checkNow.Add(-time.Hour)})
	f.Add(sc)
	f.Fuzz(func(t *testing.T, data []byte) {
		crossCheck(t, data)
	})
}

func TestDependencies(t *testing.T) {
	// The point of the package's own JSON layer: `go list -deps` is the real
	// check; this keeps the reason next to the code.
	if testing.Short() {
		t.Skip()
	}
	out, err := goListDeps()
	if err != nil {
		t.Skip(err)
	}
	for _, dep := range strings.Fields(out) {
		if strings.Contains(dep, "protobuf") {
			t.Errorf("common/trust depends on %s", dep)
		}
	}
}

func goListDeps() (string, error) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		return "", fmt.Errorf("go list: %w", err)
	}
	return string(out), nil
}

// genSchema describes the messages for randomDocument: per message, its
// fields' names and kinds; a kind naming a message is a singular message
// field, "[]" and a name a repeated one.
var genSchema = map[string][][3]string{
	"TrustedRoot": {{"mediaType", "media_type", "string"}, {"tlogs", "", "[]TLog"},
		{"certificateAuthorities", "certificate_authorities", "[]CA"}, {"ctlogs", "", "[]TLog"},
		{"timestampAuthorities", "timestamp_authorities", "[]CA"}},
	"TLog": {{"baseUrl", "base_url", "string"}, {"hashAlgorithm", "hash_algorithm", "hash"},
		{"publicKey", "public_key", "PublicKey"}, {"logId", "log_id", "LogId"},
		{"checkpointKeyId", "checkpoint_key_id", "LogId"}, {"operator", "", "string"}},
	"CA": {{"subject", "", "DN"}, {"uri", "", "string"}, {"certChain", "cert_chain", "Chain"},
		{"validFor", "valid_for", "TimeRange"}, {"operator", "", "string"}},
	"PublicKey": {{"rawBytes", "raw_bytes", "bytes"}, {"keyDetails", "key_details", "details"},
		{"validFor", "valid_for", "TimeRange"}},
	"LogId":     {{"keyId", "key_id", "bytes"}},
	"DN":        {{"organization", "", "string"}, {"commonName", "common_name", "string"}},
	"Chain":     {{"certificates", "", "[]Cert"}},
	"Cert":      {{"rawBytes", "raw_bytes", "bytes"}},
	"TimeRange": {{"start", "", "timestamp"}, {"end", "", "timestamp"}},
	"SigningConfig": {{"mediaType", "media_type", "string"}, {"caUrls", "ca_urls", "[]Service"},
		{"oidcUrls", "oidc_urls", "[]Service"}, {"rekorTlogUrls", "rekor_tlog_urls", "[]Service"},
		{"rekorTlogConfig", "rekor_tlog_config", "ServiceConfig"}, {"tsaUrls", "tsa_urls", "[]Service"},
		{"tsaConfig", "tsa_config", "ServiceConfig"}},
	"Service": {{"url", "", "string"}, {"majorApiVersion", "major_api_version", "uint32"},
		{"validFor", "valid_for", "TimeRange"}, {"operator", "", "string"}},
	"ServiceConfig": {{"selector", "", "selector"}, {"count", "", "uint32"}},
}

// genValues are values of each scalar kind, valid and not quite; any kind
// may also get a value of another.
var genValues = map[string][]string{
	"string": {`""`, `"x"`, `"application/vnd.dev.sigstore.trustedroot+json;version=0.1"`,
		`"application/vnd.dev.sigstore.signingconfig.v0.2+json"`, `"\u00e9\ud83d\ude00\n\"\\\/"`, `"\ud800"`, `"a` + "\x01" + `"`, "\"\xff\"", `1`, `true`},
	"bytes":    {`""`, `"AAAA"`, `"AAA"`, `"AA"`, `"A"`, `"AA=="`, `"AA="`, `"-_-_"`, `"+/+/"`, `"-/"`, `"AA\r\nAA"`, `"AB=="`, `"AAAA===="`, `"A A"`, `0`},
	"hash":     {`"SHA2_256"`, `"SHA2_384"`, `"SHA1"`, `"sha2_256"`, `1`, `2`, `99`, `-1`, `1.0`, `1e0`, `1e`, `"1"`, `2147483648`, `-2147483649`, `true`},
	"details":  {`"PKIX_ECDSA_P256_SHA_256"`, `"ML_DSA_44"`, `"NOPE"`, `5`, `24`, `"5"`, `0.5e1`, `{}`},
	"selector": {`"ANY"`, `"ALL"`, `"EXACT"`, `"SERVICE_SELECTOR_UNDEFINED"`, `"any"`, `3`, `4`, `"3"`, `[]`},
	"uint32": {`0`, `1`, `-0`, `-1`, `1.0`, `1.5`, `1e`, `1e+`, `1E1`, `10e-1`, `100e-2`, `0.0e99999999999`, `4294967295`, `4294967296`,
		`"1"`, `"1 2"`, `"1,"`, `" 1"`, `"1 "`, `"1x"`, `""`, `"-0"`, `"+1"`, `"1e"`, `"0x1"`, `"\u0031"`, `1e99999999999`},
	"timestamp": {`"2021-01-12T11:53:27Z"`, `"2021-01-12T11:53:27.000Z"`, `"2021-01-12T11:53:27.1+05:30"`, `"2021-01-12T11:53:27.123456789-00:00"`,
		`"2021-01-12T11:53:27.1234567890Z"`, `"2021-01-12T11:53:27"`, `"2021-01-12t11:53:27z"`, `"0001-01-01T00:00:00Z"`,
		`"0001-01-01T00:00:00+00:01"`, `"9999-12-31T23:59:59.999999999Z"`, `"9999-12-31T23:59:59-01:00"`, `"2021-02-29T00:00:00Z"`,
		`"2021-01-12T11:53:27.Z"`, `"2021-01-12T11:53:27,5Z"`, `1610452407`},
	"any": {`null`, `true`, `false`, `0`, `-1.5e-3`, `1e`, `""`, `"x"`, `{}`, `[]`, `[null,{"a":[1,"b"]}]`, `{"a":null}`, `nul`, `01`, `[1,]`},
}

// randomDocument writes a random message of the given type: mostly the
// right shape, with both field spellings, duplicates, nulls, unknown fields,
// wrong kinds and odd white space.
func randomDocument(r *mrand.Rand, msg string, depth int) string {
	var b strings.Builder
	space := func() {
		if r.IntN(4) == 0 {
			b.WriteString([]string{" ", "\n", "\t", "\r\n  "}[r.IntN(4)])
		}
	}
	b.WriteByte('{')
	fields := genSchema[msg]
	n := r.IntN(len(fields) + 2)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		space()
		f := fields[r.IntN(len(fields))]
		name := f[0]
		switch k := r.IntN(10); {
		case k < 3 && f[1] != "":
			name = f[1]
		case k == 3:
			name = []string{"unknown", "[ext.name]", strings.ToUpper(f[0]), "media\\u0054ype"}[r.IntN(4)]
		}
		b.WriteString(`"` + name + `":`)
		space()
		b.WriteString(randomValue(r, f[2], depth))
		space()
	}
	b.WriteByte('}')
	return b.String()
}

func randomValue(r *mrand.Rand, kind string, depth int) string {
	switch k := r.IntN(20); {
	case k == 0:
		return "null"
	case k == 1:
		pool := genValues["any"]
		return pool[r.IntN(len(pool))]
	}
	if list, ok := strings.CutPrefix(kind, "[]"); ok {
		if depth > 4 {
			return "[]"
		}
		var elems []string
		for range r.IntN(3) {
			elems = append(elems, randomValue(r, list, depth+1))
		}
		return "[" + strings.Join(elems, ",") + "]"
	}
	if _, ok := genSchema[kind]; ok {
		if depth > 4 {
			return "{}"
		}
		return randomDocument(r, kind, depth+1)
	}
	pool := genValues[kind]
	return pool[r.IntN(len(pool))]
}

// Random documents of the right shape reach far more of the JSON mapping
// than byte-level fuzzing does.
func TestRandomDocuments(t *testing.T) {
	n, seed := 50000, uint64(1)
	if testing.Short() {
		n = 2000
	}
	if s := os.Getenv("TRUST_RANDOM_DOCUMENTS"); s != "" { // n,seed
		fmt.Sscanf(s, "%d,%d", &n, &seed)
	}
	r := mrand.New(mrand.NewPCG(seed, 2))
	accepted := 0
	for i := range n {
		msg := []string{"TrustedRoot", "SigningConfig"}[i%2]
		doc := randomDocument(r, msg, 0)
		rootOK, configOK := crossCheck(t, []byte(doc))
		if rootOK && configOK {
			accepted++
		}
		if t.Failed() {
			t.Fatalf("document #%d: %s", i, doc)
		}
	}
	if accepted < n/20 || accepted > n*19/20 {
		t.Errorf("protojson accepted %d of %d documents: the generator needs tuning", accepted, n)
	}
	t.Logf("protojson accepted %d of %d documents", accepted, n)
}
