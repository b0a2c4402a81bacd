package storage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/storage"
)

func TestParseDigest(t *testing.T) {
	hex64, hex128 := strings.Repeat("0123456789abcdef", 4), strings.Repeat("0123456789abcdef", 8)
	tests := []struct {
		in      string
		wantAlg string // empty: want ErrInvalidDigest
	}{
		{"sha256:" + hex64, storage.SHA256},
		{"sha512:" + hex128, storage.SHA512},
		{"", ""},
		{hex64, ""},
		{"sha256:", ""},
		{":" + hex64, ""},
		{"md5:d41d8cd98f00b204e9800998ecf8427e", ""},
		{"SHA256:" + hex64, ""},
		{"sha256:" + strings.ToUpper(hex64), ""},
		{"sha256:" + hex64[:63], ""},
		{"sha256:" + hex64 + "0", ""},
		{"sha256:" + hex128, ""},
		{"sha512:" + hex64, ""},
		{"sha256:" + hex64[:63] + "g", ""},
		{"sha256:" + hex64[:62] + "/.", ""},
		{"sha256:../../../../../../../../../../../../../../../../etc/passwd", ""},
	}
	for _, tt := range tests {
		d, err := storage.ParseDigest(tt.in)
		if tt.wantAlg == "" {
			if !errors.Is(err, storage.ErrInvalidDigest) {
				t.Errorf("ParseDigest(%q) = %q, %v; want ErrInvalidDigest", tt.in, d, err)
			}
			continue
		}
		if err != nil || string(d) != tt.in || d.Algorithm() != tt.wantAlg || tt.wantAlg+":"+d.Hex() != tt.in {
			t.Errorf("ParseDigest(%q) = %q (alg %q, hex %q), %v; want it back with alg %q",
				tt.in, d, d.Algorithm(), d.Hex(), err, tt.wantAlg)
		}
	}
}
