package main

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newGCCmd(g *globals) *cobra.Command {
	var req client.GCRequest
	cmd := &cobra.Command{
		Use:   "gc [--grace DURATION] [--dry-run]",
		Short: "Delete blobs nothing refers to (online: the server goes on serving)",
		Long: `Ask the server to collect garbage: every blob that nothing keeps is deleted,
unless it was put or linked within the grace period (default 1h) before the
collection began, so pushes in progress are never harmed. A .deb is kept by a
listed repository or mirror version, a snapshot, a publication's source, a
package-set server group not destroyed, or an image version a channel points
at or such a group was built from; a .deb uploaded into no repository only by
the grace period. A freed .deb's package record goes with it. The report gives
bytes by kind (deb, manifest, layer, disk); --dry-run -o json lists each blob it would
free, with its kind and why nothing keeps it. Needs an admin token.`,
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
				for _, kind := range slices.Sorted(maps.Keys(rep.Kinds)) {
					k := rep.Kinds[kind]
					fmt.Fprintf(w, "  %s: %d blobs, %s\n", kind, k.Count, humanBytes(k.Bytes))
				}
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
