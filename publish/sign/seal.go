package sign

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// A sealed key is laid out as
//
//	magic "kiln-sealed-key-v1\n" | salt (32 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext
//
// The AES key is HKDF-SHA256(secret, salt, info) (crypto/hkdf, standard
// library), so a fresh random salt gives every sealing its own key even
// under one server secret, and a long random secret needs no slow KDF. The
// magic and salt are authenticated as additional data. The plaintext is the
// key's binary OpenPGP serialization, secret material unprotected.
const (
	sealMagic = "kiln-sealed-key-v1\n"
	sealInfo  = "kiln publish/sign sealed key v1"
	saltSize  = 32
)

// Seal encrypts k's private key with secret for storage at rest.
func Seal(k *Key, secret []byte) ([]byte, error) {
	if len(secret) == 0 {
		return nil, ErrEmptySecret
	}
	var plain bytes.Buffer
	if err := k.serializePrivate(&plain); err != nil {
		return nil, fmt.Errorf("sealing key %s: %w", k.Fingerprint(), err)
	}
	header := make([]byte, len(sealMagic)+saltSize)
	copy(header, sealMagic)
	rand.Read(header[len(sealMagic):]) // never fails (crypto/rand docs)
	aead, err := sealAEAD(secret, header[len(sealMagic):])
	if err != nil {
		return nil, fmt.Errorf("sealing key %s: %w", k.Fingerprint(), err)
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out := append(header, nonce...)
	return aead.Seal(out, nonce, plain.Bytes(), header), nil
}

// Open decrypts a key made by Seal. A wrong secret or altered bytes give
// ErrWrongSecret; bytes that are not a sealed key give ErrNotSealed.
func Open(sealed, secret []byte) (*Key, error) {
	if len(secret) == 0 {
		return nil, ErrEmptySecret
	}
	headerSize := len(sealMagic) + saltSize
	if len(sealed) < headerSize || string(sealed[:len(sealMagic)]) != sealMagic {
		return nil, ErrNotSealed
	}
	header := sealed[:headerSize]
	aead, err := sealAEAD(secret, header[len(sealMagic):])
	if err != nil {
		return nil, fmt.Errorf("opening sealed key: %w", err)
	}
	rest := sealed[headerSize:]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: truncated", ErrNotSealed)
	}
	nonce, ciphertext := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ciphertext, header)
	if err != nil {
		return nil, ErrWrongSecret
	}
	k, err := readPrivate(bytes.NewReader(plain), nil)
	if err != nil {
		return nil, fmt.Errorf("opening sealed key: %w", err)
	}
	return k, nil
}

func sealAEAD(secret, salt []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, salt, sealInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
