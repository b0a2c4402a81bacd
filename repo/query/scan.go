package query

import "strings"

// spaces are the whitespace characters that separate tokens and are
// trimmed off values.
const spaces = " \t\n\r\v\f"

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// peek returns the next byte, or 0 at the end.
func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.peek()) {
		p.pos++
	}
}

// accept consumes c if it is the next byte after whitespace.
func (p *parser) accept(c byte) bool {
	p.skipSpace()
	if p.eof() || p.peek() != c {
		return false
	}
	p.pos++
	return true
}

// scanWord consumes a run of bytes that are neither space nor punctuation.
func (p *parser) scanWord() string {
	start := p.pos
	for !p.eof() && !isSpace(p.peek()) && !isStop(p.peek()) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// token returns the next token, shortened, for an error message.
func (p *parser) token() string {
	if isStop(p.peek()) {
		return p.src[p.pos : p.pos+1]
	}
	start := p.pos
	w := p.scanWord()
	p.pos = start
	if len(w) > 32 {
		w = w[:32] + "..."
	}
	return w
}

// scanValue consumes "(" value ")", where the value runs to the matching
// ")" and so may hold balanced parentheses.
func (p *parser) scanValue() (value, error) {
	open, depth := p.pos, 0
	p.pos++
	for start := p.pos; !p.eof(); p.pos++ {
		switch p.peek() {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				p.pos++
				return value{text: p.src[start : p.pos-1], pos: start}, nil
			}
			depth--
		}
	}
	return value{}, p.unclosed(open)
}

// value is text between a term's parentheses and where it starts in the
// query, so that errors can point into it.
type value struct {
	text string
	pos  int
}

// cutOp splits a leading operator off v: a run of '<', '=' and '>', or one
// '%' or '~'. Without one, op is empty and sits where v's text begins.
func (v value) cutOp() (op, rest value) {
	t := v.trimLeft()
	n := 0
	switch {
	case t.text == "":
	case strings.IndexByte("<=>", t.text[0]) >= 0:
		n = len(t.text) - len(strings.TrimLeft(t.text, "<=>"))
	case t.text[0] == '%' || t.text[0] == '~':
		n = 1
	}
	return value{t.text[:n], t.pos}, value{t.text[n:], t.pos + n}
}

// trim drops v's surrounding spaces. An empty result keeps v's position,
// where the missing text was expected.
func (v value) trim() value {
	t := v.trimLeft()
	if t.text = strings.TrimRight(t.text, spaces); t.text == "" {
		return value{pos: v.pos}
	}
	return t
}

func (v value) trimLeft() value {
	t := strings.TrimLeft(v.text, spaces)
	return value{t, v.pos + len(v.text) - len(t)}
}

func isSpace(c byte) bool { return strings.IndexByte(spaces, c) >= 0 }
func isStop(c byte) bool  { return strings.IndexByte("(),|!", c) >= 0 }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validName is Debian policy's package name, [a-z0-9][a-z0-9+.-]*, without
// its two-character minimum (old archives break it).
func validName(s string) bool {
	return s != "" && (isLower(s[0]) || isDigit(s[0])) && allOf(s, isLower, isDigit, in("+.-"))
}

func validField(s string) bool {
	return s != "" && isUpper(s[0]) && allOf(s, isUpper, isLower, isDigit, in("-"))
}

// validVersion checks only the characters Debian allows; an ill-formed
// version still compares, as dpkg does.
func validVersion(s string) bool {
	return s != "" && allOf(s, isUpper, isLower, isDigit, in(".+~:-"))
}

func validArch(s string) bool { return s != "" && allOf(s, isLower, isDigit, in("-")) }

func in(set string) func(byte) bool {
	return func(c byte) bool { return strings.IndexByte(set, c) >= 0 }
}

// allOf reports whether every byte of s passes one of the classes.
func allOf(s string, classes ...func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !anyOf(s[i], classes) {
			return false
		}
	}
	return true
}

func anyOf(c byte, classes []func(byte) bool) bool {
	for _, class := range classes {
		if class(c) {
			return true
		}
	}
	return false
}
