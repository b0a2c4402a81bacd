package main

import (
	"fmt"
	"io"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/spf13/cobra"
)

func newAuditCmd(g *globals) *cobra.Command {
	var q client.AuditQuery
	cmd := &cobra.Command{
		Use:   "audit [--since 24h|7d|RFC3339] [--token NAME|ID] [--kind KIND] [--limit N]",
		Short: "Show the audit log of writes, newest first (admin scope)",
		Long: `Show the audit log: every write made through the API, with the token
(name and id) that made it, when, from where (the client address, or
X-Forwarded-For from a --trusted-proxy), the action, path and status.
Kinds: repo, snapshot, publication, image, channel, group, mirror, key,
token, package, disk, registry, gc, ...`,
		Args: nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if q.Limit < 0 {
				return usageError{fmt.Errorf("--limit must be 0 or more, not %d", q.Limit)}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			entries, err := c.Audit(cmd.Context(), q)
			if err != nil {
				return err
			}
			return g.show(cmd, client.AuditResponse{Entries: nonNil(entries)}, func(w io.Writer) {
				fmt.Fprintln(w, "TIME\tTOKEN\tTOKEN ID\tFROM\tACTION\tMETHOD\tPATH\tSTATUS")
				for _, e := range entries {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", e.Time.Format(time.RFC3339), orDash(e.Token),
						orDash(e.TokenID), e.Remote, e.Action, e.Method, e.Path, e.Status)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Since, "since", "", "only entries newer than this age (24h, 7d) or time (RFC 3339)")
	f.StringVar(&q.Token, "token", "", "only entries of this token (name or id)")
	f.StringVar(&q.Kind, "kind", "", "only entries of this kind (repo, publication, image, registry, token, ...)")
	f.IntVar(&q.Limit, "limit", 0, "at most this many entries (0: all)")
	return cmd
}
