package deb

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed Debian version: [epoch:]upstream[-revision].
type Version struct {
	Epoch    uint64
	Upstream string
	Revision string
}

// ParseVersion parses and checks s by Debian policy §5.6.12: an optional
// numeric epoch (at most 2147483647, as dpkg allows), an upstream part that starts with a digit and holds only
// alphanumerics and . + ~ - : (a hyphen only with a revision, a colon only
// with an epoch), and an optional revision of alphanumerics and + . ~.
func ParseVersion(s string) (Version, error) {
	var v Version
	if s == "" {
		return v, fmt.Errorf("%w: empty version", ErrInvalidVersion)
	}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		// dpkg refuses epochs above INT_MAX ("epoch in version is too big").
		e, err := strconv.ParseUint(rest[:i], 10, 31)
		if err != nil || i == 0 {
			return v, fmt.Errorf("%w: %q has a bad epoch", ErrInvalidVersion, s)
		}
		v.Epoch, rest = e, rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		v.Upstream, v.Revision = rest[:i], rest[i+1:]
		if v.Revision == "" {
			return v, fmt.Errorf("%w: %q has an empty revision", ErrInvalidVersion, s)
		}
	} else {
		v.Upstream = rest
	}
	if v.Upstream == "" || v.Upstream[0] < '0' || v.Upstream[0] > '9' {
		return v, fmt.Errorf("%w: %q: upstream version must start with a digit", ErrInvalidVersion, s)
	}
	if !validChars(v.Upstream, ".+~-:") || !validChars(v.Revision, ".+~") {
		return v, fmt.Errorf("%w: %q has an illegal character", ErrInvalidVersion, s)
	}
	return v, nil
}

func validChars(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && strings.IndexByte(extra, c) < 0 {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// String renders v as dpkg would, with the epoch only when it is not zero.
func (v Version) String() string {
	s := v.Upstream
	if v.Epoch != 0 {
		s = strconv.FormatUint(v.Epoch, 10) + ":" + s
	}
	if v.Revision != "" {
		s += "-" + v.Revision
	}
	return s
}

// Compare orders v and w as dpkg --compare-versions does: -1, 0 or 1.
func (v Version) Compare(w Version) int {
	switch {
	case v.Epoch < w.Epoch:
		return -1
	case v.Epoch > w.Epoch:
		return 1
	}
	if c := compareFragment(v.Upstream, w.Upstream); c != 0 {
		return c
	}
	return compareFragment(v.Revision, w.Revision)
}

// CompareVersions parses and compares two version strings. A string that
// does not parse sorts by dpkg's rules all the same (dpkg compares what it
// is given), so a query never fails on a stored oddity.
func CompareVersions(a, b string) int {
	va, erra := ParseVersion(a)
	vb, errb := ParseVersion(b)
	if erra != nil {
		va = lenientVersion(a)
	}
	if errb != nil {
		vb = lenientVersion(b)
	}
	return va.Compare(vb)
}

func lenientVersion(s string) Version {
	var v Version
	if i := strings.IndexByte(s, ':'); i >= 0 {
		v.Epoch, _ = strconv.ParseUint(s[:i], 10, 32)
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.Upstream, v.Revision = s[:i], s[i+1:]
	} else {
		v.Upstream = s
	}
	return v
}

// compareFragment is dpkg's verrevcmp: alternate runs of non-digits (compared
// by order(), where ~ sorts before everything, even the end) and digits
// (compared numerically).
func compareFragment(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := 0, 0
			if i < len(a) {
				ac = order(a[i])
			}
			if j < len(b) {
				bc = order(b[j])
			}
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return sign(first)
		}
	}
	return 0
}

// order is dpkg's character weight: digits 0, letters their ASCII value,
// ~ below everything, other characters after all letters.
func order(c byte) int {
	switch {
	case isDigit(c):
		return 0
	case isAlnum(c):
		return int(c)
	case c == '~':
		return -1
	case c != 0:
		return int(c) + 256
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
