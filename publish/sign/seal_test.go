package sign_test

import (
	"errors"
	"testing"

	"github.com/kiln-repo/kiln/publish/sign"
)

func TestSealOpen(t *testing.T) {
	k := newKey(t)
	secret := []byte("server secret, 32 random bytes in real life")
	sealed, err := sign.Seal(k, secret)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	back, err := sign.Open(sealed, secret)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if back.Fingerprint() != k.Fingerprint() {
		t.Errorf("fingerprint %s after Seal/Open, want %s", back.Fingerprint(), k.Fingerprint())
	}
	if again, _ := sign.Seal(k, secret); string(again) == string(sealed) {
		t.Error("two sealings of one key are identical; salt or nonce is not random")
	}
}

func TestOpenRefuses(t *testing.T) {
	k := newKey(t)
	secret := []byte("right secret")
	sealed, err := sign.Seal(k, secret)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte{}, sealed...)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name   string
		sealed []byte
		secret []byte
		want   error
	}{
		{"wrong secret", sealed, []byte("wrong secret"), sign.ErrWrongSecret},
		{"altered byte", flipped, secret, sign.ErrWrongSecret},
		{"empty secret", sealed, nil, sign.ErrEmptySecret},
		{"not sealed", []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----"), secret, sign.ErrNotSealed},
		{"truncated", sealed[:40], secret, sign.ErrNotSealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sign.Open(tt.sealed, tt.secret); !errors.Is(err, tt.want) {
				t.Errorf("Open: err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := sign.Seal(k, nil); !errors.Is(err, sign.ErrEmptySecret) {
		t.Errorf("Seal with empty secret: err = %v, want ErrEmptySecret", err)
	}
}
