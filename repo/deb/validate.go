package deb

import (
	"fmt"
	"slices"
	"strings"
)

// Control is the identity of a binary package, from its control stanza.
// Version is kept as the package spells it ("0:1.0" stays "0:1.0").
type Control struct {
	Name, Version, Architecture string
}

// FileName is the package's file name as Debian spells it,
// <name>_<version>_<arch>.deb, with the version's epoch left out as in
// Debian's archive (a ':' in a URL path is trouble).
func (c Control) FileName() string {
	return c.Name + "_" + WithoutEpoch(c.Version) + "_" + c.Architecture + ".deb"
}

// WithoutEpoch drops "<epoch>:" from a Debian version. Only an all-digit
// prefix is an epoch; a colon elsewhere stays (upstream versions may hold one).
func WithoutEpoch(v string) string {
	e, rest, ok := strings.Cut(v, ":")
	if !ok || e == "" || strings.Trim(e, "0123456789") != "" {
		return v
	}
	return rest
}

const (
	// MaxFileName bounds FileName: a repository's pool puts a sha256 (64
	// hex digits) and a separator in front of it, and the result must fit
	// in the 255 bytes most file systems allow for a name (NAME_MAX). A
	// package over it would be stored, then fail every publish.
	MaxFileName = 255 - 65
	// maxArchitecture bounds an architecture name. Debian's longest, such
	// as musl-linux-arm64 or kfreebsd-amd64, are under 20 bytes.
	maxArchitecture = 32
)

// indexFields are the fields kiln writes into Packages itself; a package
// that brought its own could point apt at another file or checksum.
var indexFields = []string{"Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"}

// IndexFields returns the fields a repository writes into a Packages
// stanza itself (where the file is and its checksums), which a package's
// own control must not carry.
func IndexFields() []string { return slices.Clone(indexFields) }

// IsIndexField reports whether name is one of IndexFields, in any case.
func IsIndexField(name string) bool {
	return slices.ContainsFunc(indexFields, func(n string) bool { return strings.EqualFold(n, name) })
}

// Validate checks that s is a binary package's control stanza that kiln
// can copy into a Packages index unchanged: Package, Version and
// Architecture present and legal, and no field that could add a line or a
// paragraph to the index or override what kiln writes there. Errors are
// *InvalidPackageError.
func Validate(s Stanza) (Control, error) {
	if err := checkFields(s); err != nil {
		return Control{}, err
	}
	var c Control
	for _, f := range []struct {
		name string
		dst  *string
	}{{"Package", &c.Name}, {"Version", &c.Version}, {"Architecture", &c.Architecture}} {
		v, _ := s.Get(f.name)
		if v == "" {
			return Control{}, invalid(nil, "control file: missing %s field", f.name)
		}
		*f.dst = v
	}
	if !validPackageName(c.Name) {
		return Control{}, invalid(nil, "control file: illegal package name %s "+
			"(lower-case letters, digits and + - . only, at least 2, starting alphanumeric)", quoteShort(c.Name))
	}
	if _, err := ParseVersion(c.Version); err != nil {
		return Control{}, invalid(err, "control file: %v", err)
	}
	if !validArchitecture(c.Architecture) {
		return Control{}, invalid(nil, "control file: illegal architecture %s "+
			"(at most %d bytes of lower-case letters, digits and -, starting alphanumeric)", quoteShort(c.Architecture), maxArchitecture)
	}
	if n := len(c.FileName()); n > MaxFileName {
		return Control{}, invalid(nil, "control file: file name %s is %d bytes, more than %d "+
			"(shorten the package name or version)", quoteShort(c.FileName()), n, MaxFileName)
	}
	return c, nil
}

// MaxFields is how many fields a control stanza may hold. Real ones hold
// 10 to 40; the limit keeps a hostile stanza from costing every query and
// index that copies it.
const MaxFields = 1000

func checkFields(s Stanza) error {
	if len(s) > MaxFields {
		return invalid(nil, "control file: %d fields, more than %d", len(s), MaxFields)
	}
	var seen names
	for i, f := range s {
		if err := checkFieldName(f.Name); err != nil {
			return invalid(err, "control file: %v", err)
		}
		if seen.seen(s[:i], f.Name) {
			return invalid(nil, "control file: duplicate field %s", quoteShort(f.Name))
		}
		if IsIndexField(f.Name) {
			return invalid(nil, "control file: field %s is written by the repository, not the package", f.Name)
		}
		if err := checkValue(f.Value); err != nil {
			return invalid(err, "control file: field %s: %v", f.Name, err)
		}
	}
	return nil
}

// checkValue refuses what a Packages parser could read as a new field or a
// new paragraph: a continuation line without leading space or tab, a blank
// one (" ." is how a control file spells an empty line), CR, NUL and other
// control characters.
func checkValue(v string) error {
	for i, line := range strings.Split(v, "\n") {
		if i > 0 {
			switch {
			case strings.Trim(line, " \t") == "":
				return fmt.Errorf("blank continuation line %d (an empty line is written \" .\")", i+1)
			case line[0] != ' ' && line[0] != '\t':
				return fmt.Errorf("continuation line %d does not start with a space: %s", i+1, quoteShort(line))
			}
		}
		for j := 0; j < len(line); j++ {
			switch c := line[j]; {
			case c == '\r':
				return fmt.Errorf("carriage return in line %d", i+1)
			case c == 0:
				return fmt.Errorf("NUL byte in line %d", i+1)
			case (c < ' ' && c != '\t') || c == 0x7f:
				return fmt.Errorf("control character %q in line %d", c, i+1)
			}
		}
	}
	return nil
}

// validPackageName follows policy §5.6.7: [a-z0-9][a-z0-9+.-]+.
func validPackageName(s string) bool {
	if len(s) < 2 || !isLowerAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validArchitecture accepts one architecture token ([a-z0-9][a-z0-9-]*) of at
// most maxArchitecture bytes: amd64, arm64, all, and wildcards such as linux-any.
func validArchitecture(s string) bool {
	if s == "" || len(s) > maxArchitecture || !isLowerAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'z') }
