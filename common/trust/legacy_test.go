package trust

// The protojson-based implementation this package had before it read and
// wrote the JSON mapping itself, kept as the reference the tests compare
// against, and converters from our messages to the protobuf-specs ones.

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	commonpb "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	trustpb "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var legacyUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}

func legacyParseRoot(data []byte) (*Root, error) {
	var pb trustpb.TrustedRoot
	if err := legacyUnmarshal.Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	if !acceptedRootMediaTypes[pb.GetMediaType()] {
		return nil, fmt.Errorf("trusted root: unsupported media type %q", pb.GetMediaType())
	}
	r := &Root{raw: append([]byte(nil), data...)}
	for i, ca := range pb.GetCertificateAuthorities() {
		c := CA{URI: ca.GetUri(), ValidFor: legacyValidity(ca.GetValidFor())}
		for _, cert := range ca.GetCertChain().GetCertificates() {
			parsed, err := x509.ParseCertificate(cert.GetRawBytes())
			if err != nil {
				return nil, fmt.Errorf("trusted root: certificate authority #%d: %w", i, err)
			}
			c.Chain = append(c.Chain, parsed)
		}
		if len(c.Chain) == 0 {
			return nil, fmt.Errorf("trusted root: certificate authority #%d has no certificates", i)
		}
		r.CAs = append(r.CAs, c)
	}
	var err error
	if r.TLogs, err = legacyParseLogs("tlog", pb.GetTlogs()); err != nil {
		return nil, err
	}
	if r.CTLogs, err = legacyParseLogs("ctlog", pb.GetCtlogs()); err != nil {
		return nil, err
	}
	return r, nil
}

func legacyParseLogs(what string, in []*trustpb.TransparencyLogInstance) ([]Log, error) {
	var out []Log
	for i, l := range in {
		if l.GetHashAlgorithm() != commonpb.HashAlgorithm_SHA2_256 {
			return nil, fmt.Errorf("trusted root: %s #%d: unsupported hash algorithm %v", what, i, l.GetHashAlgorithm())
		}
		pk := l.GetPublicKey()
		if pk.GetValidFor().GetStart() == nil {
			return nil, fmt.Errorf("trusted root: %s #%d: public key has no validFor.start", what, i)
		}
		key, err := x509.ParsePKIXPublicKey(pk.GetRawBytes())
		if err != nil {
			return nil, fmt.Errorf("trusted root: %s #%d: %w", what, i, err)
		}
		id := l.GetLogId().GetKeyId()
		if len(id) == 0 {
			sum := sha256.Sum256(pk.GetRawBytes())
			id = sum[:]
		}
		out = append(out, Log{BaseURL: l.GetBaseUrl(), ID: id, Key: key, ValidFor: legacyValidity(pk.GetValidFor())})
	}
	return out, nil
}

func legacyValidity(tr *commonpb.TimeRange) Validity {
	var v Validity
	if tr.GetStart() != nil {
		v.Start = tr.GetStart().AsTime()
	}
	if tr.GetEnd() != nil {
		v.End = tr.GetEnd().AsTime()
	}
	return v
}

func legacyParseSigningConfig(data []byte, now time.Time) (*SigningConfig, error) {
	var pb trustpb.SigningConfig
	if err := legacyUnmarshal.Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("signing config: %w", err)
	}
	if pb.GetMediaType() != SigningConfigMediaType {
		return nil, fmt.Errorf("signing config: unsupported media type %q", pb.GetMediaType())
	}
	sc := &SigningConfig{raw: append([]byte(nil), data...)}
	var err error
	if sc.CAURL, err = legacyPick("CA", pb.GetCaUrls(), 1, now); err != nil {
		return nil, err
	}
	if sc.RekorURL, err = legacyPick("transparency log", pb.GetRekorTlogUrls(), 1, now); err != nil {
		return nil, err
	}
	sc.OIDCURL, _ = legacyPick("OIDC", pb.GetOidcUrls(), 1, now)
	return sc, nil
}

func legacyPick(what string, services []*trustpb.Service, version uint32, now time.Time) (string, error) {
	var best *trustpb.Service
	for _, s := range services {
		if s.GetMajorApiVersion() != version || !legacyValidity(s.GetValidFor()).Contains(now) {
			continue
		}
		if best == nil || s.GetValidFor().GetStart().AsTime().After(best.GetValidFor().GetStart().AsTime()) {
			best = s
		}
	}
	if best == nil {
		return "", fmt.Errorf("signing config: no %s service with API version %d valid now", what, version)
	}
	return best.GetUrl(), nil
}

var legacyMarshal = protojson.MarshalOptions{Multiline: true, Indent: "  "}

func legacyNewRoot(spec RootSpec) ([]byte, error) {
	if len(spec.CAChain) == 0 {
		return nil, errors.New("trusted root: no CA chain")
	}
	start := timestamppb.New(spec.Start.UTC().Truncate(time.Second))
	pb := &trustpb.TrustedRoot{MediaType: TrustedRootMediaType}
	chain := &commonpb.X509CertificateChain{}
	for _, c := range spec.CAChain {
		chain.Certificates = append(chain.Certificates, &commonpb.X509Certificate{RawBytes: c.Raw})
	}
	anchor := spec.CAChain[len(spec.CAChain)-1]
	pb.CertificateAuthorities = []*trustpb.CertificateAuthority{{
		Subject:   &commonpb.DistinguishedName{Organization: first(anchor.Subject.Organization), CommonName: anchor.Subject.CommonName},
		Uri:       spec.CAURI,
		CertChain: chain,
		ValidFor:  &commonpb.TimeRange{Start: start},
	}}
	for _, set := range []struct {
		in  []LogSpec
		out *[]*trustpb.TransparencyLogInstance
	}{{spec.TLogs, &pb.Tlogs}, {spec.CTLogs, &pb.Ctlogs}} {
		for _, l := range set.in {
			der, err := x509.MarshalPKIXPublicKey(l.Key)
			if err != nil {
				return nil, fmt.Errorf("trusted root: log %s: %w", l.BaseURL, err)
			}
			details, err := KeyDetails(l.Key)
			if err != nil {
				return nil, fmt.Errorf("trusted root: log %s: %w", l.BaseURL, err)
			}
			id := sha256.Sum256(der)
			*set.out = append(*set.out, &trustpb.TransparencyLogInstance{
				BaseUrl:       l.BaseURL,
				HashAlgorithm: commonpb.HashAlgorithm_SHA2_256,
				PublicKey: &commonpb.PublicKey{
					RawBytes:   der,
					KeyDetails: commonpb.PublicKeyDetails(commonpb.PublicKeyDetails_value[details]),
					ValidFor:   &commonpb.TimeRange{Start: start},
				},
				LogId: &commonpb.LogId{KeyId: id[:]},
			})
		}
	}
	return legacyMarshal.Marshal(pb)
}

func legacyNewSigningConfig(spec SigningConfigSpec) ([]byte, error) {
	tr := &commonpb.TimeRange{Start: timestamppb.New(spec.Start.UTC().Truncate(time.Second))}
	svc := func(u string) []*trustpb.Service {
		if u == "" {
			return nil
		}
		return []*trustpb.Service{{Url: u, MajorApiVersion: 1, ValidFor: tr, Operator: spec.Operator}}
	}
	pb := &trustpb.SigningConfig{
		MediaType:       SigningConfigMediaType,
		CaUrls:          svc(spec.CAURL),
		OidcUrls:        svc(spec.OIDCURL),
		RekorTlogUrls:   svc(spec.RekorURL),
		RekorTlogConfig: &trustpb.ServiceConfiguration{Selector: trustpb.ServiceSelector_ANY},
		TsaConfig:       &trustpb.ServiceConfiguration{Selector: trustpb.ServiceSelector_ANY},
	}
	return legacyMarshal.Marshal(pb)
}

// Conversions from our messages to protobuf-specs', for proto.Equal.

func pbList[T, U any](in []*T, f func(*T) *U) []*U {
	var out []*U
	for _, m := range in {
		out = append(out, f(m))
	}
	return out
}

func (m *timestamp) pb() *timestamppb.Timestamp {
	if m == nil {
		return nil
	}
	return &timestamppb.Timestamp{Seconds: m.seconds, Nanos: m.nanos}
}

func (m *timeRange) pb() *commonpb.TimeRange {
	if m == nil {
		return nil
	}
	return &commonpb.TimeRange{Start: m.start.pb(), End: m.end.pb()}
}

func (m *logID) pb() *commonpb.LogId {
	if m == nil {
		return nil
	}
	return &commonpb.LogId{KeyId: m.keyID}
}

func (m *publicKey) pb() *commonpb.PublicKey {
	if m == nil {
		return nil
	}
	return &commonpb.PublicKey{RawBytes: m.rawBytes, KeyDetails: commonpb.PublicKeyDetails(m.keyDetails), ValidFor: m.validFor.pb()}
}

func (m *transparencyLogInstance) pb() *trustpb.TransparencyLogInstance {
	return &trustpb.TransparencyLogInstance{
		BaseUrl:         m.baseURL,
		HashAlgorithm:   commonpb.HashAlgorithm(m.hashAlgorithm),
		PublicKey:       m.publicKey.pb(),
		LogId:           m.logID.pb(),
		CheckpointKeyId: m.checkpointKeyID.pb(),
		Operator:        m.operator,
	}
}

func (m *certificateAuthority) pb() *trustpb.CertificateAuthority {
	ca := &trustpb.CertificateAuthority{Uri: m.uri, ValidFor: m.validFor.pb(), Operator: m.operator}
	if m.subject != nil {
		ca.Subject = &commonpb.DistinguishedName{Organization: m.subject.organization, CommonName: m.subject.commonName}
	}
	if m.certChain != nil {
		ca.CertChain = &commonpb.X509CertificateChain{Certificates: pbList(m.certChain.certificates,
			func(c *x509Certificate) *commonpb.X509Certificate {
				return &commonpb.X509Certificate{RawBytes: c.rawBytes}
			})}
	}
	return ca
}

func (m *trustedRoot) pb() *trustpb.TrustedRoot {
	return &trustpb.TrustedRoot{
		MediaType:              m.mediaType,
		Tlogs:                  pbList(m.tlogs, (*transparencyLogInstance).pb),
		CertificateAuthorities: pbList(m.certificateAuthorities, (*certificateAuthority).pb),
		Ctlogs:                 pbList(m.ctlogs, (*transparencyLogInstance).pb),
		TimestampAuthorities:   pbList(m.timestampAuthorities, (*certificateAuthority).pb),
	}
}

func (m *service) pb() *trustpb.Service {
	return &trustpb.Service{Url: m.url, MajorApiVersion: m.majorAPIVersion, ValidFor: m.validFor.pb(), Operator: m.operator}
}

func (m *serviceConfiguration) pb() *trustpb.ServiceConfiguration {
	if m == nil {
		return nil
	}
	return &trustpb.ServiceConfiguration{Selector: trustpb.ServiceSelector(m.selector), Count: m.count}
}

func (m *signingConfig) pb() *trustpb.SigningConfig {
	return &trustpb.SigningConfig{
		MediaType:       m.mediaType,
		CaUrls:          pbList(m.caURLs, (*service).pb),
		OidcUrls:        pbList(m.oidcURLs, (*service).pb),
		RekorTlogUrls:   pbList(m.rekorTlogURLs, (*service).pb),
		RekorTlogConfig: m.rekorTlogConfig.pb(),
		TsaUrls:         pbList(m.tsaURLs, (*service).pb),
		TsaConfig:       m.tsaConfig.pb(),
	}
}
