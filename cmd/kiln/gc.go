package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newGCCmd(g *globals) *cobra.Command {
	var req client.GCRequest
	cmd := &cobra.Command{
		Use:   "gc [--grace DURATION] [--dry-run]",
		Short: "Delete blobs nothing refers to (online: the server goes on serving)",
		Long: `Ask the server to collect garbage: every blob that no package and no OCI
manifest refers to is deleted, unless it was put or linked within the grace
period (default 1h) before the collection began, so pushes in progress are
never harmed. Needs an admin token.`,
		Args: nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			rep, err := c.CollectGarbage(cmd.Context(), req)
			if err != nil {
				return err
			}
			return g.show(cmd, rep, func(w io.Writer) {
				verb := "freed"
				if rep.DryRun {
					verb = "would free"
				}
				fmt.Fprintf(w, "%s %d blobs, %s (%d blobs: %d live, %d unreferenced, %d spared by the grace period) in %dms\n",
					verb, rep.Deleted, humanBytes(rep.FreedBytes), rep.Blobs, rep.Live, rep.Candidates, rep.Spared, rep.Millis)
			})
		},
	}
	cmd.Flags().StringVar(&req.Grace, "grace", "", "spare blobs put within this long (default 1h)")
	cmd.Flags().BoolVar(&req.DryRun, "dry-run", false, "report what would be freed, delete nothing")
	return cmd
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
