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
	var (
		p     stanzaParser
		ended bool
		n     int
	)
	for rest := text; rest != ""; n++ {
		off := len(text) - len(rest)
		line, next, _ := strings.Cut(rest, "\n")
		rest = next
		var err error
		switch {
		case strings.Trim(line, " \t") == "":
			if len(p.s) == 0 {
				err = errors.New("blank line before the first field")
			}
			ended = true
		case ended:
			err = errors.New("text after a blank line (more than one paragraph)")
		case line[0] == ' ' || line[0] == '\t':
			if len(p.s) == 0 {
				err = errors.New("continuation line before the first field")
				break
			}
			p.end = off + len(line)
		default:
			err = p.field(text, off, line)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrMalformedStanza, n+1, err)
		}
	}
	return p.finish(text), nil
}

// stanzaParser collects fields in time linear in the text: a value is cut
// out of the text once its last line is known, not grown line by line, and
// duplicates are found by a names set.
type stanzaParser struct {
	s     Stanza
	names names
	start int // offset in the text of the value of the last field
	end   int // offset of the end of its last line
}

// field starts the field on line, at offset off of text.
func (p *stanzaParser) field(text string, off int, line string) error {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return fmt.Errorf("no colon in %s", quoteShort(line))
	}
	if err := checkFieldName(name); err != nil {
		return err
	}
	if p.names.seen(p.s, name) {
		return fmt.Errorf("duplicate field %q", name)
	}
	p.close(text)
	p.s = append(p.s, Field{Name: name})
	p.end = off + len(line)
	p.start = p.end - len(strings.TrimLeft(value, " \t"))
	return nil
}

// close sets the value of the last field, if any.
func (p *stanzaParser) close(text string) {
	if len(p.s) > 0 {
		p.s[len(p.s)-1].Value = strings.TrimRight(text[p.start:p.end], " \t")
	}
}

func (p *stanzaParser) finish(text string) Stanza {
	p.close(text)
	return p.s
}

// names finds duplicate field names (any case) among the fields of a
// stanza as they are added. Up to shortStanza fields it scans them, which
// for real control files (10 to 40 fields) is quicker than hashing; past
// that it keeps a set, so that a hostile file of many thousands of fields
// costs linear time, not quadratic.
type names struct{ set map[string]struct{} }

const shortStanza = 64

// seen reports whether name is in s, the fields before it, and notes it.
// Calls must follow s's order: each with the fields before the one named.
func (n *names) seen(s Stanza, name string) bool {
	if len(s) < shortStanza {
		return s.index(name) >= 0
	}
	if n.set == nil {
		n.set = make(map[string]struct{}, 2*len(s))
		for _, f := range s {
			n.set[strings.ToLower(f.Name)] = struct{}{}
		}
	}
	key := strings.ToLower(name)
	_, dup := n.set[key]
	n.set[key] = struct{}{}
	return dup
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
