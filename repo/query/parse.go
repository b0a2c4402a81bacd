package query

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"regexp/syntax"
	"strings"
)

// maxDepth bounds nesting of "(" and "!": queries arrive over HTTP, and a
// deep one would only cost stack in the parser, in Match and in String.
const maxDepth = 100

// parser is a recursive-descent parser, one method per grammar rule.
type parser struct {
	src   string
	pos   int
	depth int
}

// Parse parses a query (see the package comment for the grammar). Its
// errors are *SyntaxError and wrap ErrInvalidQuery.
func Parse(s string) (Query, error) {
	p := &parser{src: s}
	if p.skipSpace(); p.eof() {
		return nil, p.errorf(0, "empty query")
	}
	q, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); !p.eof() {
		return nil, p.unexpected(`expected ",", "|" or the end of the query`)
	}
	return q, nil
}

func (p *parser) parseOr() (Query, error) {
	q, err := p.parseAnd()
	for err == nil && p.accept('|') {
		var r Query
		if r, err = p.parseAnd(); err == nil {
			q = join[orQuery](q, r)
		}
	}
	return q, err
}

func (p *parser) parseAnd() (Query, error) {
	q, err := p.parseUnary()
	for err == nil && p.accept(',') {
		var r Query
		if r, err = p.parseUnary(); err == nil {
			q = join[andQuery](q, r)
		}
	}
	return q, err
}

func (p *parser) parseUnary() (Query, error) {
	if !p.accept('!') {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	q, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return notQuery{q}, nil
}

func (p *parser) parsePrimary() (Query, error) {
	const want = `expected a package name, a field or "("`
	switch p.skipSpace(); {
	case p.eof():
		return nil, p.errorf(p.pos, "%s, but the query ends", want)
	case p.peek() == '(':
		return p.parseGroup()
	case isStop(p.peek()):
		return nil, p.errorf(p.pos, "%s, found %q", want, p.token())
	}
	return p.parseTerm()
}

func (p *parser) parseGroup() (Query, error) {
	open := p.pos
	p.pos++
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	q, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.accept(')') {
		return nil, p.unclosed(open)
	}
	return q, nil
}

// parseTerm tells the three kinds of term apart by the look of the word.
func (p *parser) parseTerm() (Query, error) {
	start := p.pos
	w := p.scanWord()
	switch {
	case isUpper(w[0]):
		return p.parseField(w, start)
	case strings.Contains(w, "_"):
		return p.parseIdentity(w, start)
	}
	return p.parseName(w, start)
}

func (p *parser) parseIdentity(w string, start int) (Query, error) {
	i := strings.LastIndexByte(w, '_')
	j := strings.LastIndexByte(w[:i], '_')
	if j < 0 {
		return nil, p.errorf(start, "%q: expected name_version_arch", w)
	}
	q := identityQuery{name: w[:j], version: w[j+1 : i], arch: w[i+1:]}
	switch {
	case !validName(q.name):
		return nil, p.errorf(start, "invalid package name %q (want [a-z0-9][a-z0-9+.-]*)", q.name)
	case !validVersion(q.version):
		return nil, p.errorf(start+j+1, "invalid version %q", q.version)
	case !validArch(q.arch):
		return nil, p.errorf(start+i+1, "invalid architecture %q", q.arch)
	}
	return q, nil
}

func (p *parser) parseName(w string, start int) (Query, error) {
	if !validName(w) {
		return nil, p.errorf(start, "invalid package name %q (want [a-z0-9][a-z0-9+.-]*)", w)
	}
	if p.skipSpace(); p.peek() != '(' {
		return nameQuery{name: w}, nil
	}
	v, err := p.scanValue()
	if err != nil {
		return nil, err
	}
	op, rest := v.cutOp()
	r, err := p.parseRelation(op, rest)
	if err != nil {
		return nil, err
	}
	return nameQuery{name: w, rel: &r}, nil
}

func (p *parser) parseField(w string, start int) (Query, error) {
	if !validField(w) {
		return nil, p.errorf(start, "invalid field name %q (want [A-Z][A-Za-z0-9-]*)", w)
	}
	if p.skipSpace(); p.peek() != '(' {
		return nil, p.errorf(p.pos, `expected "(" after field %s`, w)
	}
	v, err := p.scanValue()
	if err != nil {
		return nil, err
	}
	return p.parseCondition(w, v)
}

// parseCondition parses what is inside `Field ( ... )`.
func (p *parser) parseCondition(field string, v value) (Query, error) {
	op, rest := v.cutOp()
	switch op.text {
	case "":
		return p.parseExact(field, v.trim())
	case "%":
		return p.parseGlob(field, rest.trim())
	case "~":
		return p.parseRegexp(field, rest.trim())
	}
	return p.parseVersionRelation(field, op, rest)
}

func (p *parser) parseVersionRelation(field string, op, rest value) (Query, error) {
	if _, err := p.relOp(op); err != nil {
		return nil, err
	}
	if !strings.EqualFold(field, "Version") {
		return nil, p.errorf(op.pos, "operator %q compares versions and applies only to Version; "+
			"an exact match is written %s (value)", op.text, field)
	}
	r, err := p.parseRelation(op, rest)
	if err != nil {
		return nil, err
	}
	return versionQuery{field: field, rel: r}, nil
}

func (p *parser) parseExact(field string, v value) (Query, error) {
	if v.text == "" {
		return nil, p.errorf(v.pos, "expected a value")
	}
	return exactQuery{field: field, value: v.text}, nil
}

func (p *parser) parseGlob(field string, v value) (Query, error) {
	if v.text == "" {
		return nil, p.errorf(v.pos, "expected a glob pattern")
	}
	if _, err := path.Match(v.text, ""); err != nil {
		return nil, p.errorf(v.pos, "invalid glob pattern %q", v.text)
	}
	return globQuery{field: field, pattern: v.text}, nil
}

func (p *parser) parseRegexp(field string, v value) (Query, error) {
	if v.text == "" {
		return nil, p.errorf(v.pos, "expected a regular expression")
	}
	re, err := regexp.Compile(v.text)
	if err != nil {
		return nil, p.errorf(v.pos, "invalid regular expression %q: %s", v.text, regexpReason(err))
	}
	return regexpQuery{field: field, re: re}, nil
}

// regexpReason keeps only the error code: the full message quotes the
// expression raw, and it may hold a newline.
func regexpReason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return string(se.Code)
	}
	return "cannot compile"
}

// parseRelation parses "op version" once op has been cut off.
func (p *parser) parseRelation(op, rest value) (relation, error) {
	o, err := p.relOp(op)
	if err != nil {
		return relation{}, err
	}
	v := rest.trim()
	switch {
	case v.text == "":
		return relation{}, p.errorf(v.pos, "expected a version")
	case !validVersion(v.text):
		return relation{}, p.errorf(v.pos, "invalid version %q", v.text)
	}
	return relation{op: o, version: v.text}, nil
}

func (p *parser) relOp(op value) (relOp, error) {
	o, ok := parseRelOp(op.text)
	switch {
	case ok:
		return o, nil
	case op.text == "" || op.text == "%" || op.text == "~":
		return 0, p.errorf(op.pos, "expected a relational operator (<<, <=, =, >=, >>)")
	case op.text == "<":
		return 0, p.errorf(op.pos, `obsolete operator "<" is ambiguous: use "<<" or "<="`)
	case op.text == ">":
		return 0, p.errorf(op.pos, `obsolete operator ">" is ambiguous: use ">>" or ">="`)
	}
	return 0, p.errorf(op.pos, "unknown operator %q (want <<, <=, =, >=, >>)", op.text)
}

// enter and leave bracket one level of nesting.
func (p *parser) enter() error {
	if p.depth++; p.depth > maxDepth {
		return p.errorf(p.pos, "nested deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) unclosed(open int) error {
	if p.eof() {
		return p.errorf(p.pos, `missing ")" to close "(" at position %d`, open)
	}
	return p.unexpected(fmt.Sprintf(`expected ")" to close "(" at position %d`, open))
}

// unexpected reports the token at p.pos, saying what was wanted instead.
func (p *parser) unexpected(want string) error {
	if p.peek() == ')' {
		return p.errorf(p.pos, `unexpected ")" with no "(" to match`)
	}
	return p.errorf(p.pos, "unexpected %q, %s", p.token(), want)
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return &SyntaxError{Query: p.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
