package oci

// openLocks counts the per-session lock entries the registry holds.
func (r *Registry) openLocks() int { return r.sessions.len() }
