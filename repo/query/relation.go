package query

import "github.com/kiln-repo/kiln/repo/deb"

// relOp is a Debian relational operator.
type relOp int

const (
	opLess      relOp = iota // <<
	opLessEq                 // <=
	opEq                     // =
	opGreaterEq              // >=
	opGreater                // >>
)

// parseRelOp recognizes the operators dpkg accepts today.
func parseRelOp(s string) (relOp, bool) {
	switch s {
	case "<<":
		return opLess, true
	case "<=":
		return opLessEq, true
	case "=":
		return opEq, true
	case ">=":
		return opGreaterEq, true
	case ">>":
		return opGreater, true
	}
	return 0, false
}

func (o relOp) String() string {
	return [...]string{"<<", "<=", "=", ">=", ">>"}[o]
}

// holds reports whether a comparison result c (-1, 0, 1) satisfies o.
func (o relOp) holds(c int) bool {
	switch o {
	case opLess:
		return c < 0
	case opLessEq:
		return c <= 0
	case opEq:
		return c == 0
	case opGreaterEq:
		return c >= 0
	}
	return c > 0
}

// relation is "op version", as in `hello (<< 2.0)`.
type relation struct {
	op      relOp
	version string
}

// matchField compares p's field (a version) against r in Debian order.
func (r relation) matchField(p Package, field string) bool {
	v, ok := p.Field(field)
	return ok && r.op.holds(deb.CompareVersions(v, r.version))
}

func (r relation) String() string { return r.op.String() + " " + r.version }
