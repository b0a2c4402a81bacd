package query

import (
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		q     string
		names []string // nil: unbounded
	}{
		{"openssl", []string{"openssl"}},
		{"openssl (<< 3.0.13-1~deb12u1)", []string{"openssl"}},
		{"openssl (>= 3.0), openssl (<< 3.0.13)", []string{"openssl"}},
		{"openssl (<< 3.0.13) | libssl3 (<< 3.0.13)", []string{"libssl3", "openssl"}},
		{"hello_1.0-1_amd64", []string{"hello"}},
		{"Package (zsh)", []string{"zsh"}},
		{"Priority (optional), (hello | zsh)", []string{"hello", "zsh"}},
		{"!hello", nil},
		{"hello | Priority (optional)", nil},
		{"Version (<< 2)", nil},
		{"Package (% hel*)", nil},
	} {
		q, err := Parse(tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		names, ok := Names(q)
		if ok != (tc.names != nil) || !slices.Equal(names, tc.names) {
			t.Errorf("%s: Names = %v, %v; want %v", tc.q, names, ok, tc.names)
		}
	}
}
