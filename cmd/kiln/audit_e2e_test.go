package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestAuditSurvivesKill: a write the CLI saw succeed is in the audit log
// even when the server is killed (SIGKILL) right after answering it: the
// entry is committed before the answer goes out.
func TestAuditSurvivesKill(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr)
	env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": readToken(t, dir)}
	const n = 8
	for i := range n {
		mustRun(t, env, "repo", "create", fmt.Sprintf("r%d", i))
		p = p.restart(t, dir) // SIGKILL at once, then start again
	}
	audit := mustRun(t, env, "audit", "--kind", "repo")
	if got := strings.Count(audit, "repo-create"); got != n {
		t.Errorf("%d repo-create entries, want %d (each killed right after its answer):\n%s", got, n, audit)
	}
}
