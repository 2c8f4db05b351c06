// Package gitsign verifies git commits and tags signed keylessly, in the
// format sigstore's gitsign writes in its offline mode, so that either tool
// verifies the other's commits given the same trusted root. Signing is
// package gitsign/signing, apart so that verifying links no HTTP client.
//
// # Signing
//
// git hands the program named by gpg.x509.program the object to sign on
// stdin and expects an armored detached CMS signature on stdout (see package
// cms for the profile). signing.Signer obtains a short-lived credential (an
// ephemeral key and its certificate) from its Credentials, signs the CMS
// signed attributes, records a hashedrekord of sha256(signed attributes) in
// the transparency log, and embeds the log's answer (SET, inclusion proof,
// checkpoint) in the signature as unsigned attribute 1.3.6.1.4.1.57264.3.1.
//
// # Verifying
//
// [Verifier.Verify] needs only the payload, the signature and a trusted root:
//
//  1. the message digest attribute is the payload's digest, and the
//     signature verifies over the signed attributes with the certificate's
//     key (a failure here is git's BADSIG);
//  2. the log entry, its canonical body rebuilt from the signature, verifies
//     against the trusted root; the certificate chains to a trusted CA at the
//     time the log integrated the entry, and its SCT verifies (common/provenance);
//  3. the identity: the signer's certificate identity and OIDC issuer must be
//     allowed for the committer's (or tagger's) email by an [AllowedSigners]
//     file, or match an explicit identity policy.
//
// Steps 1 and 2 decide whether the signature is valid (git's GOODSIG, else
// BADSIG or ERRSIG); step 3 decides trust: [TrustFully] only when an identity
// policy allowed the signer, [TrustUndefined] otherwise, which git shows as
// %G? "U" and which `git merge --verify-signatures` refuses. A valid
// signature is never trusted merely for being valid.
//
// # Raw objects
//
// [ParseObject] splits a raw commit or tag exactly as git does (commit.c
// parse_buffer_signed_by_header, gpg-interface.c parse_signed_buffer): the
// payload is the object without its gpgsig / gpgsig-sha256 headers, or a
// tag's bytes before its last signature block. Verifiers must read raw object
// bytes; an object re-encoded by a library is not what was signed.
//
// # Status protocol
//
// [Status] writes the "[GNUPG:] " lines git parses from gpgsm: BEGIN_SIGNING
// and SIG_CREATED when signing; NEWSIG, then GOODSIG/VALIDSIG/TRUST_* or
// BADSIG or ERRSIG when verifying.
package gitsign
