// Package tlog implements the wire formats of the Rekor v1 signature
// transparency log, shared by the waxseal log server and by verifiers.
//
// A client proposes an entry by POSTing JSON to /api/v1/log/entries. Two
// kinds are supported, both at version 0.0.1:
//
//	{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{
//	  "data":{"hash":{"algorithm":"sha256","value":"<hex digest>"}},
//	  "signature":{"content":"<b64 signature>","publicKey":{"content":"<b64 PEM>"}}}}
//
//	{"apiVersion":"0.0.1","kind":"dsse","spec":{"proposedContent":{
//	  "envelope":"<DSSE envelope JSON>","verifiers":["<b64 PEM>"]}}}
//
// The log validates the entry (the signature must verify against the key or
// certificate it carries) and stores its canonical form: the key re-encoded
// as PEM, for dsse the envelope replaced by its hash, the payload hash and
// the signatures; then serialized as JSON and put through RFC 8785 (JCS).
// Those canonical bytes are the Merkle leaf. The leaf hash is
// SHA-256(0x00 || body) (RFC 6962); its hex form is the entry UUID, and the
// entry ID is the 16-hex-digit tree ID followed by the UUID.
//
// The log answers with a [LogEntry]: the body, the integration time, the log
// ID (SHA-256 of the log key's DER SubjectPublicKeyInfo), the index and
// verification data:
//
//   - the signed entry timestamp (SET): an ECDSA signature over SHA-256 of
//     JCS({"body":..,"integratedTime":..,"logID":..,"logIndex":..}), see
//     [SignSET] and [VerifySET];
//   - an RFC 6962 inclusion proof with a checkpoint, a signed note whose
//     origin is "<hostname> - <tree ID>" and whose one signature line is
//     "— <hostname> base64(keyHint || ECDSA signature)", keyHint being the
//     first four bytes of SHA-256(DER SPKI), see [SignCheckpoint] and
//     [VerifyCheckpoint].
//
// [ToTLE] converts a response into the TransparencyLogEntry of a Sigstore
// bundle, and [VerifyTLE] verifies one offline against a set of log keys.
// [Client] speaks the REST API.
package tlog
