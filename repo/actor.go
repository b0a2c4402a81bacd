package repo

// Actor is who made a change: the token's name and id and the address the
// request came from (X-Forwarded-For only from trusted proxies). Every
// history a write appends to records it beside the entry's own time:
// repository versions, channel moves, revocations and restores, group
// events. Never the token's secret.
type Actor struct {
	Token   string `json:"token,omitempty"`
	TokenID string `json:"token_id,omitempty"`
	Remote  string `json:"remote,omitempty"`
}

// As is the store writing as a: the history entries its writes append
// record a. It shares the database and everything else with s; only the
// actor differs, so the API derives it once per request and repo knows
// nothing of HTTP. Entries written by the store itself (scheduled mirror
// updates, pruning, offline commands) and those from before actors were
// recorded have none.
func (s *Store) As(a Actor) *Store {
	c := *s
	c.actor = &a
	return &c
}

// by is the actor to record, nil when there is none.
func (s *Store) by() *Actor { return s.actor }
