package sign

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Key is an OpenPGP key with its secret material, ready to sign.
// Nothing in this package changes a Key once it is made, so one Key may
// sign from several goroutines at once.
type Key struct {
	entity *openpgp.Entity
}

// Generate makes a new signing key for the user ID "name <email>", created
// at now.
//
// The key is a v4 Ed25519 (EdDSA) primary key that may sign and certify,
// with no subkeys: an archive key never needs to decrypt anything. gpgv in
// Debian 12 (GnuPG 2.2) and sqv in later releases both verify Ed25519, and
// the package tests check that with the real gpgv. Ed25519 keys are small and
// their signatures fast and deterministic, which RSA 3072 is not.
func Generate(name, email string, now time.Time) (*Key, error) {
	cfg := &packet.Config{
		Algorithm:   packet.PubKeyAlgoEdDSA,
		Curve:       packet.Curve25519,
		DefaultHash: crypto.SHA512,
		Time:        func() time.Time { return now },
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("generating key for %s <%s>: %w", name, email, err)
	}
	// NewEntity always adds an encryption subkey; a signing-only key is
	// smaller and says what it is for.
	e.Subkeys = nil
	return &Key{entity: e}, nil
}

// ParsePrivate imports one armored OpenPGP private key ("-----BEGIN PGP
// PRIVATE KEY BLOCK-----"). A public key, garbage, several keys, or a key
// whose secret is passphrase-protected are refused with an error matching
// ErrNotPrivateKey (the last also matches ErrKeyEncrypted).
func ParsePrivate(armored []byte) (*Key, error) {
	return ParsePrivateWithPassphrase(armored, nil)
}

// ParsePrivateWithPassphrase is ParsePrivate for a key whose secret may be
// protected by passphrase. An unprotected key is accepted as is; a wrong
// passphrase gives ErrWrongPassphrase.
func ParsePrivateWithPassphrase(armored, passphrase []byte) (*Key, error) {
	// armor.Decode reads only the first block; refuse more rather than
	// silently drop them.
	if n := bytes.Count(armored, []byte("-----BEGIN PGP")); n > 1 {
		return nil, fmt.Errorf("%w: input holds %d armored blocks, want 1", ErrNotPrivateKey, n)
	}
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("%w: no armored key found: %w", ErrNotPrivateKey, err)
	}
	if block.Type != openpgp.PrivateKeyType {
		return nil, fmt.Errorf("%w: armor type is %q, want %q", ErrNotPrivateKey, block.Type, openpgp.PrivateKeyType)
	}
	return readPrivate(block.Body, passphrase)
}

// readPrivate reads exactly one private key from binary OpenPGP packets.
func readPrivate(r io.Reader, passphrase []byte) (*Key, error) {
	list, err := openpgp.ReadKeyRing(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotPrivateKey, err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("%w: input holds %d keys, want exactly 1", ErrNotPrivateKey, len(list))
	}
	e := list[0]
	if e.PrivateKey == nil {
		return nil, fmt.Errorf("%w: only a public key was given", ErrNotPrivateKey)
	}
	if err := decrypt(e, passphrase); err != nil {
		return nil, err
	}
	k := &Key{entity: e}
	if _, err := k.signer(time.Now()); err != nil {
		return nil, err
	}
	return k, nil
}

// decrypt unlocks e's secret keys with passphrase, if any are locked.
func decrypt(e *openpgp.Entity, passphrase []byte) error {
	if !encrypted(e) {
		return nil
	}
	if len(passphrase) == 0 {
		return fmt.Errorf("%w: %w", ErrNotPrivateKey, ErrKeyEncrypted)
	}
	if err := e.DecryptPrivateKeys(passphrase); err != nil {
		return fmt.Errorf("%w: %w", ErrWrongPassphrase, err)
	}
	return nil
}

func encrypted(e *openpgp.Entity) bool {
	if e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// signer returns the key that signs at time now: the primary key for keys
// made by Generate, possibly a signing subkey for imported ones.
func (k *Key) signer(now time.Time) (*packet.PrivateKey, error) {
	sk, ok := k.entity.SigningKey(now)
	if !ok {
		return nil, fmt.Errorf("key %s: %w (expired, revoked or not allowed to sign)", k.Fingerprint(), ErrNoSigningKey)
	}
	if sk.PrivateKey == nil || sk.PrivateKey.Dummy() {
		return nil, fmt.Errorf("key %s: %w (the signing key's secret is not included)", k.Fingerprint(), ErrNoSigningKey)
	}
	return sk.PrivateKey, nil
}

// Fingerprint is the primary key's fingerprint in upper-case hex, the form
// gpg prints and apt's signed-by accepts.
func (k *Key) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", k.entity.PrimaryKey.Fingerprint))
}

// PublicArmored is the public key, armored, for clients to put in
// /etc/apt/keyrings and name with signed-by=.
func (k *Key) PublicArmored() ([]byte, error) {
	return k.armored(openpgp.PublicKeyType, k.entity.Serialize)
}

// PublicBinary is the public key as binary OpenPGP packets: the form of a
// ".gpg" keyring that gpgv and older apt read without dearmoring.
func (k *Key) PublicBinary() ([]byte, error) {
	var buf bytes.Buffer
	if err := k.entity.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("serializing public key %s: %w", k.Fingerprint(), err)
	}
	return buf.Bytes(), nil
}

// PrivateArmored is the whole key with its unprotected secret material,
// armored. Handle the result as a secret; at rest, prefer Seal.
func (k *Key) PrivateArmored() ([]byte, error) {
	return k.armored(openpgp.PrivateKeyType, k.serializePrivate)
}

// serializePrivate writes the key as it is, without re-signing its user
// IDs: re-signing would change an imported key's self-signatures.
func (k *Key) serializePrivate(w io.Writer) error {
	return k.entity.SerializePrivateWithoutSigning(w, nil)
}

func (k *Key) armored(blockType string, serialize func(io.Writer) error) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, blockType, nil)
	if err != nil {
		return nil, err
	}
	if err := serialize(w); err != nil {
		return nil, fmt.Errorf("serializing key %s: %w", k.Fingerprint(), err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("armoring key %s: %w", k.Fingerprint(), err)
	}
	return endLine(buf.Bytes()), nil
}
