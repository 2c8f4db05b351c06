// Package fulcio reads the certificates a Fulcio certificate authority
// issues, as verifiers need: the signer identity and the embedded
// certificate-transparency SCTs, verified against the CT log keys of a
// trusted root. Asking a CA for a certificate is common/fulcio/fulcioclient.
package fulcio
