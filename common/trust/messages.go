package trust

// The protobuf-specs v0.5.2 messages (dev.sigstore.trustroot.v1 and
// dev.sigstore.common.v1) that a TrustedRoot and a SigningConfig are made of,
// with every field, so that a document protojson rejects is rejected here
// too. Field numbers only serve to catch a field given twice.

import "strconv"

// An enum maps names to numbers; protobuf enums here are open, so a number
// without a name is a valid value.
type enum struct {
	byName map[string]int32
	byNum  map[int32]string
}

func newEnum(names []string) enum {
	e := enum{byName: map[string]int32{}, byNum: map[int32]string{}}
	for i, s := range names {
		if s != "" {
			e.byName[s] = int32(i)
			e.byNum[int32(i)] = s
		}
	}
	return e
}

var (
	hashAlgorithms = newEnum([]string{ // dev.sigstore.common.v1.HashAlgorithm
		"HASH_ALGORITHM_UNSPECIFIED", "SHA2_256", "SHA2_384", "SHA2_512", "SHA3_256", "SHA3_384"})
	publicKeyDetails = newEnum([]string{ // dev.sigstore.common.v1.PublicKeyDetails
		0:  "PUBLIC_KEY_DETAILS_UNSPECIFIED",
		1:  "PKCS1_RSA_PKCS1V5",
		2:  "PKCS1_RSA_PSS",
		3:  "PKIX_RSA_PKCS1V5",
		4:  "PKIX_RSA_PSS",
		5:  "PKIX_ECDSA_P256_SHA_256",
		6:  "PKIX_ECDSA_P256_HMAC_SHA_256",
		7:  "PKIX_ED25519",
		8:  "PKIX_ED25519_PH",
		9:  "PKIX_RSA_PKCS1V15_2048_SHA256",
		10: "PKIX_RSA_PKCS1V15_3072_SHA256",
		11: "PKIX_RSA_PKCS1V15_4096_SHA256",
		12: "PKIX_ECDSA_P384_SHA_384",
		13: "PKIX_ECDSA_P521_SHA_512",
		14: "LMS_SHA256",
		15: "LMOTS_SHA256",
		16: "PKIX_RSA_PSS_2048_SHA256",
		17: "PKIX_RSA_PSS_3072_SHA256",
		18: "PKIX_RSA_PSS_4096_SHA256",
		19: "PKIX_ECDSA_P384_SHA_256",
		20: "PKIX_ECDSA_P521_SHA_256",
		21: "ML_DSA_65",
		22: "ML_DSA_87",
		23: "ML_DSA_44",
	})
	serviceSelectors = newEnum([]string{ // dev.sigstore.trustroot.v1.ServiceSelector
		"SERVICE_SELECTOR_UNDEFINED", "ALL", "ANY", "EXACT"})
)

const (
	hashSHA2_256 = 1
	selectorANY  = 2
)

// name is the enum value's name, or its number.
func (e enum) name(v int32) string {
	if s, ok := e.byNum[v]; ok {
		return s
	}
	return strconv.Itoa(int(v))
}

// Readers shared by the messages below.

func readString(p *string) fieldFunc {
	return func(d *decoder, _ int) (err error) {
		*p, err = d.str()
		return err
	}
}

func readBytes(p *[]byte) fieldFunc {
	return func(d *decoder, _ int) (err error) {
		*p, err = d.bytes()
		return err
	}
}

// readOptionalBytes reads a field with explicit presence: nil means absent.
func readOptionalBytes(p *[]byte) fieldFunc {
	return func(d *decoder, _ int) error {
		b, err := d.bytes()
		if err != nil {
			return err
		}
		*p = append([]byte{}, b...)
		return nil
	}
}

func readEnum(p *int32, e enum) fieldFunc {
	return func(d *decoder, _ int) error {
		v, ok, err := d.enum(e.byName)
		if ok {
			*p = v
		}
		return err
	}
}

func readUint32(p *uint32) fieldFunc {
	return func(d *decoder, _ int) (err error) {
		*p, err = d.uint32()
		return err
	}
}

func readTimestamp(p **timestamp) fieldFunc {
	return func(d *decoder, _ int) (err error) {
		*p, err = d.timestamp()
		return err
	}
}

// readMessage reads a singular message field into a new *T.
func readMessage[T any, PT interface {
	*T
	message
}](p **T) fieldFunc {
	return func(d *decoder, depth int) error {
		m := PT(new(T))
		*p = m
		return d.message(depth, m)
	}
}

// readList reads a repeated message field.
func readList[T any, PT interface {
	*T
	message
}](p *[]*T) fieldFunc {
	return func(d *decoder, depth int) error {
		return d.list(depth, func(d *decoder, depth int) error {
			m := PT(new(T))
			*p = append(*p, m)
			return d.message(depth, m)
		})
	}
}

// dev.sigstore.trustroot.v1.TrustedRoot
type trustedRoot struct {
	mediaType              string
	tlogs                  []*transparencyLogInstance
	certificateAuthorities []*certificateAuthority
	ctlogs                 []*transparencyLogInstance
	timestampAuthorities   []*certificateAuthority
}

func (m *trustedRoot) field(name string) (int, fieldFunc) {
	switch name {
	case "mediaType", "media_type":
		return 1, readString(&m.mediaType)
	case "tlogs":
		return 2, readList(&m.tlogs)
	case "certificateAuthorities", "certificate_authorities":
		return 3, readList(&m.certificateAuthorities)
	case "ctlogs":
		return 4, readList(&m.ctlogs)
	case "timestampAuthorities", "timestamp_authorities":
		return 5, readList(&m.timestampAuthorities)
	}
	return 0, nil
}

func (m *trustedRoot) encode(e *encoder) {
	e.startObject()
	if m.mediaType != "" {
		e.name("mediaType")
		e.string(m.mediaType)
	}
	encodeList(e, "tlogs", m.tlogs)
	encodeList(e, "certificateAuthorities", m.certificateAuthorities)
	encodeList(e, "ctlogs", m.ctlogs)
	encodeList(e, "timestampAuthorities", m.timestampAuthorities)
	e.endObject()
}

// dev.sigstore.trustroot.v1.TransparencyLogInstance
type transparencyLogInstance struct {
	baseURL         string
	hashAlgorithm   int32
	publicKey       *publicKey
	logID           *logID
	checkpointKeyID *logID
	operator        string
}

func (m *transparencyLogInstance) field(name string) (int, fieldFunc) {
	switch name {
	case "baseUrl", "base_url":
		return 1, readString(&m.baseURL)
	case "hashAlgorithm", "hash_algorithm":
		return 2, readEnum(&m.hashAlgorithm, hashAlgorithms)
	case "publicKey", "public_key":
		return 3, readMessage(&m.publicKey)
	case "logId", "log_id":
		return 4, readMessage(&m.logID)
	case "checkpointKeyId", "checkpoint_key_id":
		return 5, readMessage(&m.checkpointKeyID)
	case "operator":
		return 6, readString(&m.operator)
	}
	return 0, nil
}

func (m *transparencyLogInstance) encode(e *encoder) {
	e.startObject()
	if m.baseURL != "" {
		e.name("baseUrl")
		e.string(m.baseURL)
	}
	if m.hashAlgorithm != 0 {
		e.name("hashAlgorithm")
		e.enum(m.hashAlgorithm, hashAlgorithms.byNum)
	}
	encodeMessage(e, "publicKey", m.publicKey)
	encodeMessage(e, "logId", m.logID)
	encodeMessage(e, "checkpointKeyId", m.checkpointKeyID)
	if m.operator != "" {
		e.name("operator")
		e.string(m.operator)
	}
	e.endObject()
}

// dev.sigstore.trustroot.v1.CertificateAuthority
type certificateAuthority struct {
	subject   *distinguishedName
	uri       string
	certChain *x509CertificateChain
	validFor  *timeRange
	operator  string
}

func (m *certificateAuthority) field(name string) (int, fieldFunc) {
	switch name {
	case "subject":
		return 1, readMessage(&m.subject)
	case "uri":
		return 2, readString(&m.uri)
	case "certChain", "cert_chain":
		return 3, readMessage(&m.certChain)
	case "validFor", "valid_for":
		return 4, readMessage(&m.validFor)
	case "operator":
		return 5, readString(&m.operator)
	}
	return 0, nil
}

func (m *certificateAuthority) encode(e *encoder) {
	e.startObject()
	encodeMessage(e, "subject", m.subject)
	if m.uri != "" {
		e.name("uri")
		e.string(m.uri)
	}
	encodeMessage(e, "certChain", m.certChain)
	encodeMessage(e, "validFor", m.validFor)
	if m.operator != "" {
		e.name("operator")
		e.string(m.operator)
	}
	e.endObject()
}

// dev.sigstore.common.v1.PublicKey
type publicKey struct {
	rawBytes   []byte // optional: nil when absent
	keyDetails int32
	validFor   *timeRange // optional
}

func (m *publicKey) field(name string) (int, fieldFunc) {
	switch name {
	case "rawBytes", "raw_bytes":
		return 1, readOptionalBytes(&m.rawBytes)
	case "keyDetails", "key_details":
		return 2, readEnum(&m.keyDetails, publicKeyDetails)
	case "validFor", "valid_for":
		return 3, readMessage(&m.validFor)
	}
	return 0, nil
}

func (m *publicKey) encode(e *encoder) {
	e.startObject()
	if m.rawBytes != nil {
		e.name("rawBytes")
		e.bytes(m.rawBytes)
	}
	if m.keyDetails != 0 {
		e.name("keyDetails")
		e.enum(m.keyDetails, publicKeyDetails.byNum)
	}
	encodeMessage(e, "validFor", m.validFor)
	e.endObject()
}

// dev.sigstore.common.v1.LogId
type logID struct {
	keyID []byte
}

func (m *logID) field(name string) (int, fieldFunc) {
	switch name {
	case "keyId", "key_id":
		return 1, readBytes(&m.keyID)
	}
	return 0, nil
}

func (m *logID) encode(e *encoder) {
	e.startObject()
	if len(m.keyID) > 0 {
		e.name("keyId")
		e.bytes(m.keyID)
	}
	e.endObject()
}

// dev.sigstore.common.v1.DistinguishedName
type distinguishedName struct {
	organization, commonName string
}

func (m *distinguishedName) field(name string) (int, fieldFunc) {
	switch name {
	case "organization":
		return 1, readString(&m.organization)
	case "commonName", "common_name":
		return 2, readString(&m.commonName)
	}
	return 0, nil
}

func (m *distinguishedName) encode(e *encoder) {
	e.startObject()
	if m.organization != "" {
		e.name("organization")
		e.string(m.organization)
	}
	if m.commonName != "" {
		e.name("commonName")
		e.string(m.commonName)
	}
	e.endObject()
}

// dev.sigstore.common.v1.X509CertificateChain
type x509CertificateChain struct {
	certificates []*x509Certificate
}

func (m *x509CertificateChain) field(name string) (int, fieldFunc) {
	switch name {
	case "certificates":
		return 1, readList(&m.certificates)
	}
	return 0, nil
}

func (m *x509CertificateChain) encode(e *encoder) {
	e.startObject()
	encodeList(e, "certificates", m.certificates)
	e.endObject()
}

// dev.sigstore.common.v1.X509Certificate
type x509Certificate struct {
	rawBytes []byte
}

func (m *x509Certificate) field(name string) (int, fieldFunc) {
	switch name {
	case "rawBytes", "raw_bytes":
		return 1, readBytes(&m.rawBytes)
	}
	return 0, nil
}

func (m *x509Certificate) encode(e *encoder) {
	e.startObject()
	if len(m.rawBytes) > 0 {
		e.name("rawBytes")
		e.bytes(m.rawBytes)
	}
	e.endObject()
}

// dev.sigstore.common.v1.TimeRange
type timeRange struct {
	start *timestamp
	end   *timestamp // optional
}

func (m *timeRange) field(name string) (int, fieldFunc) {
	switch name {
	case "start":
		return 1, readTimestamp(&m.start)
	case "end":
		return 2, readTimestamp(&m.end)
	}
	return 0, nil
}

func (m *timeRange) encode(e *encoder) {
	e.startObject()
	if m.start != nil {
		e.name("start")
		e.timestamp(m.start)
	}
	if m.end != nil {
		e.name("end")
		e.timestamp(m.end)
	}
	e.endObject()
}

// dev.sigstore.trustroot.v1.SigningConfig
type signingConfig struct {
	mediaType       string
	caURLs          []*service
	oidcURLs        []*service
	rekorTlogURLs   []*service
	rekorTlogConfig *serviceConfiguration
	tsaURLs         []*service
	tsaConfig       *serviceConfiguration
}

func (m *signingConfig) field(name string) (int, fieldFunc) {
	switch name {
	case "mediaType", "media_type":
		return 5, readString(&m.mediaType)
	case "caUrls", "ca_urls":
		return 6, readList(&m.caURLs)
	case "oidcUrls", "oidc_urls":
		return 7, readList(&m.oidcURLs)
	case "rekorTlogUrls", "rekor_tlog_urls":
		return 8, readList(&m.rekorTlogURLs)
	case "rekorTlogConfig", "rekor_tlog_config":
		return 9, readMessage(&m.rekorTlogConfig)
	case "tsaUrls", "tsa_urls":
		return 10, readList(&m.tsaURLs)
	case "tsaConfig", "tsa_config":
		return 11, readMessage(&m.tsaConfig)
	}
	return 0, nil
}

func (m *signingConfig) encode(e *encoder) {
	e.startObject()
	if m.mediaType != "" {
		e.name("mediaType")
		e.string(m.mediaType)
	}
	encodeList(e, "caUrls", m.caURLs)
	encodeList(e, "oidcUrls", m.oidcURLs)
	encodeList(e, "rekorTlogUrls", m.rekorTlogURLs)
	encodeMessage(e, "rekorTlogConfig", m.rekorTlogConfig)
	encodeList(e, "tsaUrls", m.tsaURLs)
	encodeMessage(e, "tsaConfig", m.tsaConfig)
	e.endObject()
}

// dev.sigstore.trustroot.v1.Service
type service struct {
	url             string
	majorAPIVersion uint32
	validFor        *timeRange
	operator        string
}

func (m *service) field(name string) (int, fieldFunc) {
	switch name {
	case "url":
		return 1, readString(&m.url)
	case "majorApiVersion", "major_api_version":
		return 2, readUint32(&m.majorAPIVersion)
	case "validFor", "valid_for":
		return 3, readMessage(&m.validFor)
	case "operator":
		return 4, readString(&m.operator)
	}
	return 0, nil
}

func (m *service) encode(e *encoder) {
	e.startObject()
	if m.url != "" {
		e.name("url")
		e.string(m.url)
	}
	if m.majorAPIVersion != 0 {
		e.name("majorApiVersion")
		e.uint(uint64(m.majorAPIVersion))
	}
	encodeMessage(e, "validFor", m.validFor)
	if m.operator != "" {
		e.name("operator")
		e.string(m.operator)
	}
	e.endObject()
}

// dev.sigstore.trustroot.v1.ServiceConfiguration
type serviceConfiguration struct {
	selector int32
	count    uint32
}

func (m *serviceConfiguration) field(name string) (int, fieldFunc) {
	switch name {
	case "selector":
		return 1, readEnum(&m.selector, serviceSelectors)
	case "count":
		return 2, readUint32(&m.count)
	}
	return 0, nil
}

func (m *serviceConfiguration) encode(e *encoder) {
	e.startObject()
	if m.selector != 0 {
		e.name("selector")
		e.enum(m.selector, serviceSelectors.byNum)
	}
	if m.count != 0 {
		e.name("count")
		e.uint(uint64(m.count))
	}
	e.endObject()
}

type encodable interface{ encode(*encoder) }

// encodeMessage writes a singular message field if it is set.
func encodeMessage[T any, PT interface {
	*T
	encodable
}](e *encoder, name string, m PT) {
	if m != nil {
		e.name(name)
		m.encode(e)
	}
}

// encodeList writes a repeated message field if it has elements.
func encodeList[T any, PT interface {
	*T
	encodable
}](e *encoder, name string, list []PT) {
	if len(list) == 0 {
		return
	}
	e.name(name)
	e.startArray()
	for _, m := range list {
		m.encode(e)
	}
	e.endArray()
}

// marshal writes m as protojson.MarshalOptions{Multiline: true, Indent: "  "}
// does (without its random extra spaces).
func marshal(m encodable) ([]byte, error) {
	var e encoder
	m.encode(&e)
	if e.err != nil {
		return nil, e.err
	}
	return e.out, nil
}
