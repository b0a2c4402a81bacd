package storage

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Digest is "<algorithm>:<hex>", as in OCI: "sha256:9f86d0...". Only sha256
// and sha512 are supported.
type Digest string

// Algorithms kiln can name blobs by, with the length of their hex encoding.
const (
	SHA256 = "sha256"
	SHA512 = "sha512"
)

// ParseDigest checks s and returns it as a Digest, or ErrInvalidDigest.
func ParseDigest(s string) (Digest, error) {
	alg, hx, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("%w: %q has no algorithm", ErrInvalidDigest, s)
	}
	var n int
	switch alg {
	case SHA256:
		n = 64
	case SHA512:
		n = 128
	default:
		return "", fmt.Errorf("%w: unsupported algorithm %q", ErrInvalidDigest, alg)
	}
	if len(hx) != n || !isLowerHex(hx) {
		return "", fmt.Errorf("%w: %q is not %d lowercase hex digits", ErrInvalidDigest, hx, n)
	}
	return Digest(s), nil
}

// FromSHA256 returns the sha256 digest with the given raw sum.
func FromSHA256(sum []byte) Digest {
	return Digest(SHA256 + ":" + hex.EncodeToString(sum))
}

// Algorithm returns the part before the colon.
func (d Digest) Algorithm() string {
	alg, _, _ := strings.Cut(string(d), ":")
	return alg
}

// Hex returns the part after the colon.
func (d Digest) Hex() string {
	_, hx, _ := strings.Cut(string(d), ":")
	return hx
}

// String returns d as a string.
func (d Digest) String() string { return string(d) }

// NewHash returns a fresh hash for the algorithm, or nil if it is unsupported.
func NewHash(alg string) hash.Hash {
	switch alg {
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
