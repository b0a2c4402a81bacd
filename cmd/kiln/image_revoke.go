package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newImageRevokeCmd(g *globals) *cobra.Command {
	var req client.RevokeRequest
	cmd := &cobra.Command{
		Use:   "revoke NAME VERSION --reason TEXT [--descendants] [--at TIME]",
		Short: "Revoke an image version (and, with --descendants, every version built on it): it never resolves again",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				res, err := c.RevokeImageTree(ctx, args[0], args[1], req)
				if err != nil {
					return err
				}
				return g.show(cmd, res, func(w io.Writer) { writeRevoke(w, "revoked", res) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Reason, "reason", "", "why (required), e.g. \"CVE-2026-1234 in openssl\"")
	f.BoolVar(&req.Descendants, "descendants", false, "also revoke every image version built on it, transitively")
	f.StringVar(&req.At, "at", "", "schedule it: an RFC 3339 time or a duration from now (72h, 3d); until then the version resolves")
	requireFlags(cmd, "reason")
	return cmd
}

func newImageRestoreCmd(g *globals) *cobra.Command {
	var descendants bool
	cmd := &cobra.Command{
		Use:   "restore NAME VERSION [--descendants]",
		Short: "Undo a revocation (and, with --descendants, the revocations inherited from it)",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				res, err := c.RestoreImage(ctx, args[0], args[1], descendants)
				if err != nil {
					return err
				}
				return g.show(cmd, res, func(w io.Writer) { writeRevoke(w, "restored", res) })
			})
		},
	}
	cmd.Flags().BoolVar(&descendants, "descendants", false, "also restore the versions whose revocation came from this one")
	return cmd
}

// writeRevoke prints one line per image version the call changed.
func writeRevoke(w io.Writer, verb string, res *client.RevokeResponse) {
	reason := ""
	if res.Revoked != nil {
		reason = ": " + res.Revoked.Reason
	} else if r := res.RevokeAt; r != nil && verb == "revoked" {
		verb, reason = "scheduled revocation of", " at "+r.Time.Format(time.RFC3339)+": "+r.Reason
	}
	fmt.Fprintf(w, "%s %s@%s%s\n", verb, res.Name, res.Version, reason)
	for _, d := range res.Descendants {
		fmt.Fprintf(w, "%s %s@%s (built on %s)\n", verb, d.Name, d.Version, d.Base)
	}
}
