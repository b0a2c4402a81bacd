package query

import (
	"slices"
	"strings"
)

// Names returns the package names a package must carry to match q, sorted,
// and false when q can match a package of any name (`!hello`, or a field
// condition other than `Package (value)`). Callers that look packages up
// by name (which groups hold `openssl (<< 3.0.13)`?) seek those names
// instead of scanning everything.
func Names(q Query) ([]string, bool) {
	switch q := q.(type) {
	case nameQuery:
		return []string{q.name}, true
	case identityQuery:
		return []string{q.name}, true
	case exactQuery:
		if strings.EqualFold(q.field, "Package") {
			return []string{q.value}, true
		}
	case andQuery:
		return andNames(q)
	case orQuery:
		return orNames(q)
	}
	return nil, false
}

// andNames: every operand must hold, so any one bounded operand bounds
// the whole; the smallest such set is kept.
func andNames(qs andQuery) ([]string, bool) {
	var best []string
	found := false
	for _, q := range qs {
		if names, ok := Names(q); ok && (!found || len(names) < len(best)) {
			best, found = names, true
		}
	}
	return best, found
}

// orNames: any operand may hold, so each must be bounded.
func orNames(qs orQuery) ([]string, bool) {
	var all []string
	for _, q := range qs {
		names, ok := Names(q)
		if !ok {
			return nil, false
		}
		all = append(all, names...)
	}
	slices.Sort(all)
	return slices.Compact(all), true
}
