package query

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidQuery means a query string does not follow the grammar. Every
	// error Parse returns wraps it; the error's text says where and why.
	ErrInvalidQuery = errors.New("invalid query")
)

// SyntaxError tells where and why a query failed to parse, for a caller that
// wants to point at the spot. It wraps ErrInvalidQuery.
type SyntaxError struct {
	Query string // the whole query as given
	Pos   int    // 0-based byte offset into Query
	Msg   string // the reason, one line
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("query %q: position %d: %s", e.Query, e.Pos, e.Msg)
}

func (e *SyntaxError) Unwrap() error { return ErrInvalidQuery }
