package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
)

// KeyDetails names a public key's algorithm the way trusted roots and
// bundles do: the name of its dev.sigstore.common.v1.PublicKeyDetails
// value, such as "PKIX_ECDSA_P256_SHA_256".
func KeyDetails(key crypto.PublicKey) (string, error) {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "PKIX_ECDSA_P256_SHA_256", nil
		case elliptic.P384():
			return "PKIX_ECDSA_P384_SHA_384", nil
		case elliptic.P521():
			return "PKIX_ECDSA_P521_SHA_512", nil
		}
		return "", fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return "PKIX_ED25519", nil
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return "PKIX_RSA_PKCS1V15_2048_SHA256", nil
		case 3072:
			return "PKIX_RSA_PKCS1V15_3072_SHA256", nil
		case 4096:
			return "PKIX_RSA_PKCS1V15_4096_SHA256", nil
		}
		return "", fmt.Errorf("unsupported RSA key size %d", k.N.BitLen())
	}
	return "", fmt.Errorf("unsupported key type %T", key)
}
