package sign_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/kiln-repo/kiln/publish/sign"
)

// encryptedKey returns an armored Ed25519 private key locked with passphrase,
// as `gpg --export-secret-keys` gives it.
func encryptedKey(t testing.TB, passphrase []byte) []byte {
	t.Helper()
	e, err := openpgp.NewEntity("locked", "", "locked@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.EncryptPrivateKeys(passphrase, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParsePrivateRefuses(t *testing.T) {
	k := newKey(t)
	public, err := k.PublicArmored()
	if err != nil {
		t.Fatal(err)
	}
	private, err := k.PrivateArmored()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input []byte
		also  error // a second sentinel the error must match, if any
	}{
		{"public key", public, nil},
		{"garbage", []byte("not a key at all\n"), nil},
		{"empty", nil, nil},
		{"truncated", private[:len(private)/2], nil},
		{"two keys", append(append([]byte{}, private...), mustPrivate(t, newKey(t))...), nil},
		{"encrypted, no passphrase", encryptedKey(t, []byte("hunter2")), sign.ErrKeyEncrypted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sign.ParsePrivate(tt.input)
			if !errors.Is(err, sign.ErrNotPrivateKey) {
				t.Fatalf("ParsePrivate: err = %v, want ErrNotPrivateKey", err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("ParsePrivate: err = %v, want it to match %v too", err, tt.also)
			}
		})
	}
}

func mustPrivate(t testing.TB, k *sign.Key) []byte {
	t.Helper()
	b, err := k.PrivateArmored()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePrivateWithPassphrase(t *testing.T) {
	locked := encryptedKey(t, []byte("hunter2"))
	if _, err := sign.ParsePrivateWithPassphrase(locked, []byte("wrong")); !errors.Is(err, sign.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: err = %v, want ErrWrongPassphrase", err)
	}
	k, err := sign.ParsePrivateWithPassphrase(locked, []byte("hunter2"))
	if err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
	if _, err := k.ClearSign([]byte(release)); err != nil {
		t.Errorf("ClearSign with an unlocked key: %v", err)
	}
	// A passphrase given for an unprotected key is not an error.
	if _, err := sign.ParsePrivateWithPassphrase(mustPrivate(t, newKey(t)), []byte("unused")); err != nil {
		t.Errorf("unprotected key with passphrase: %v", err)
	}
}
