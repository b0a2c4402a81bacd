package deb

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Field is one field of a control stanza. Value is the text after "Name:"
// without the leading whitespace of its first line and the trailing
// whitespace of its last line; continuation lines follow, joined by "\n",
// each still starting with its space or tab (" ." included).
type Field struct {
	Name, Value string
}

// Stanza is one paragraph of a Debian control file (deb822), fields in the
// order they were read, kept exactly so that an index can reproduce the
// package's own bytes.
type Stanza []Field

// ParseStanza parses b as exactly one paragraph. Trailing empty lines are
// ignored; a line that is empty or holds only spaces and tabs ends the
// paragraph (policy lets parsers treat both as separators), so text after
// one is an error, as is a blank line before the first field. Comment lines
// are not supported: "#" cannot start a field name. Errors wrap
// ErrMalformedStanza and name the line.
func ParseStanza(b []byte) (Stanza, error) {
	text := strings.TrimRight(string(b), "\n")
	if text == "" {
		return nil, fmt.Errorf("%w: no fields", ErrMalformedStanza)
	}
	var s Stanza
	ended := false
	for n, line := range strings.Split(text, "\n") {
		var err error
		switch {
		case strings.Trim(line, " \t") == "":
			if len(s) == 0 {
				err = errors.New("blank line before the first field")
			}
			ended = true
		case ended:
			err = errors.New("text after a blank line (more than one paragraph)")
		case line[0] == ' ' || line[0] == '\t':
			if len(s) == 0 {
				err = errors.New("continuation line before the first field")
				break
			}
			s[len(s)-1].Value += "\n" + line
		default:
			s, err = s.parseField(line)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrMalformedStanza, n+1, err)
		}
	}
	for i := range s {
		s[i].Value = strings.TrimRight(s[i].Value, " \t")
	}
	return s, nil
}

// parseField appends the field that starts on line.
func (s Stanza) parseField(line string) (Stanza, error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return s, fmt.Errorf("no colon in %s", quoteShort(line))
	}
	if err := checkFieldName(name); err != nil {
		return s, err
	}
	if _, dup := s.Get(name); dup {
		return s, fmt.Errorf("duplicate field %q", name)
	}
	return append(s, Field{Name: name, Value: strings.TrimLeft(value, " \t")}), nil
}

// checkFieldName enforces deb822's field-name syntax: printable ASCII other
// than space and colon, not starting with "#" or "-".
func checkFieldName(name string) error {
	if name == "" {
		return errors.New("empty field name")
	}
	if name[0] == '#' || name[0] == '-' {
		return fmt.Errorf("field name %s starts with %q", quoteShort(name), name[0])
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < '!' || c > '~' || c == ':' {
			return fmt.Errorf("illegal character %q in field name %s", c, quoteShort(name))
		}
	}
	return nil
}

// quoteShort quotes s, cut to a length that fits in a one-line error.
func quoteShort(s string) string {
	const max = 60
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// Get returns the value of the field called name, compared without regard
// to case as field names are in Debian.
func (s Stanza) Get(name string) (string, bool) {
	if i := s.index(name); i >= 0 {
		return s[i].Value, true
	}
	return "", false
}

// Set replaces the value of the field called name (any case), keeping its
// position and spelling, or appends the field when there is none.
func (s *Stanza) Set(name, value string) {
	if i := s.index(name); i >= 0 {
		(*s)[i].Value = value
		return
	}
	*s = append(*s, Field{Name: name, Value: value})
}

func (s Stanza) index(name string) int {
	for i, f := range s {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// String renders s as a control file paragraph, "Name: Value\n" per field,
// with no blank line after it. A value that starts with a newline or is
// empty gets no space after the colon, so that ParseStanza(s.String())
// gives s back and a stanza read from a canonically written file renders
// to its original bytes.
func (s Stanza) String() string {
	return string(s.appendTo(nil))
}

// AppendTo appends s.String() to b.
func (s Stanza) AppendTo(b []byte) []byte { return s.appendTo(b) }

// WriteTo writes s.String() to w in one Write.
func (s Stanza) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(s.appendTo(nil))
	return int64(n), err
}

func (s Stanza) appendTo(b []byte) []byte {
	size := 0
	for _, f := range s {
		size += len(f.Name) + len(f.Value) + 3
	}
	b = slices.Grow(b, size)
	for _, f := range s {
		b = append(b, f.Name...)
		b = append(b, ':')
		if f.Value != "" && f.Value[0] != '\n' {
			b = append(b, ' ')
		}
		b = append(b, f.Value...)
		b = append(b, '\n')
	}
	return b
}
