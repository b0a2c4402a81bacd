package query

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics or hangs, that its errors are
// well-formed, and that what it accepts renders to a fixed point.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range errorTests {
		f.Add(tt.in)
	}
	for _, tt := range matchTests {
		f.Add(tt.q)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			checkError(t, s, err)
			return
		}
		checkRoundTrip(t, s, q)
	})
}

func checkError(t *testing.T, s string, err error) {
	var se *SyntaxError
	switch {
	case !errors.Is(err, ErrInvalidQuery):
		t.Fatalf("Parse(%q): %v does not wrap ErrInvalidQuery", s, err)
	case !errors.As(err, &se):
		t.Fatalf("Parse(%q): %v is not a *SyntaxError", s, err)
	case se.Pos < 0 || se.Pos > len(s):
		t.Fatalf("Parse(%q): position %d is outside the query", s, se.Pos)
	case strings.ContainsAny(err.Error(), "\r\n"):
		t.Fatalf("Parse(%q): error %q is not one line", s, err)
	}
}
