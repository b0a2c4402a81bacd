package sign

import "errors"

var (
	// ErrNotPrivateKey means input could not be used as a signing key: it is
	// not OpenPGP at all, holds only a public key, holds more than one key, or
	// its secret material is passphrase-protected and no passphrase was given
	// (then the error also matches ErrKeyEncrypted).
	ErrNotPrivateKey = errors.New("not a usable OpenPGP private key")

	// ErrKeyEncrypted means the private key is protected by a passphrase;
	// import it with ParsePrivateWithPassphrase.
	ErrKeyEncrypted = errors.New("private key is passphrase-protected; a passphrase is needed to import it")

	// ErrWrongPassphrase means the passphrase given for an encrypted private
	// key does not decrypt it.
	ErrWrongPassphrase = errors.New("wrong passphrase for private key")

	// ErrNoSigningKey means the key has no valid signing key with secret
	// material at the time asked: it is expired, revoked, not allowed to
	// sign, or a stub whose secret lives elsewhere (e.g. on a smartcard).
	ErrNoSigningKey = errors.New("no valid signing key")

	// ErrWrongSecret means a sealed key did not open with the secret given:
	// either the secret is not the one it was sealed with, or the sealed
	// bytes were altered (AES-GCM cannot tell the two apart).
	ErrWrongSecret = errors.New("sealed key does not open with this secret (wrong secret or corrupted data)")

	// ErrNotSealed means bytes given to Open were not made by Seal.
	ErrNotSealed = errors.New("not a sealed kiln signing key")

	// ErrEmptySecret means Seal or Open was given an empty server secret.
	ErrEmptySecret = errors.New("empty sealing secret")
)
