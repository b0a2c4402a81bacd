package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newSnapshotCmd(g *globals) *cobra.Command {
	return newNounCmd("snapshot", "Manage snapshots: named, immutable repository versions",
		newSnapshotCreateCmd(g), newSnapshotListCmd(g), newSnapshotShowCmd(g),
		newSnapshotDiffCmd(g), newSnapshotDeleteCmd(g), newSnapshotFilterCmd(g), newSnapshotMergeCmd(g))
}

func newSnapshotCreateCmd(g *globals) *cobra.Command {
	var req client.SnapshotRequest
	var version int
	cmd := &cobra.Command{
		Use:   "create NAME --from REPO [--version N] [--description TEXT]",
		Short: "Name a repository version (the latest by default)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if cmd.Flags().Changed("version") {
				req.Version = &version
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			snap, err := c.CreateSnapshot(cmd.Context(), req)
			if err != nil {
				return err
			}
			return g.show(cmd, snap, func(w io.Writer) {
				fmt.Fprintf(w, "created snapshot %s of %s version %d (%d packages)\n", snap.Name, snap.Repo, snap.Version, snap.Packages)
			})
		},
	}
	cmd.Flags().StringVar(&req.Repo, "from", "", "repository to snapshot, or mirror:NAME (required)")
	requireFlags(cmd, "from")
	cmd.Flags().IntVar(&version, "version", 0, "repository version (default: the latest)")
	cmd.Flags().StringVar(&req.Description, "description", "", "free text")
	return cmd
}

func newSnapshotListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List snapshots",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			snaps, err := c.ListSnapshots(cmd.Context())
			if err != nil {
				return err
			}
			return g.show(cmd, client.SnapshotsResponse{Snapshots: nonNil(snaps)}, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tREPO\tVERSION\tPACKAGES\tCREATED\tDESCRIPTION")
				for _, s := range snaps {
					fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", s.Name, s.Repo, s.Version, s.Packages,
						s.Created.Format(time.RFC3339), s.Description)
				}
			})
		},
	}
}

func newSnapshotShowCmd(g *globals) *cobra.Command {
	var query string
	cmd := &cobra.Command{
		Use:   "show NAME [--query Q]",
		Short: "List a snapshot's packages",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			pr, err := c.SnapshotPackages(cmd.Context(), args[0], query)
			if err != nil {
				return err
			}
			return g.show(cmd, pr, func(w io.Writer) { writePackages(w, pr.Packages) })
		},
	}
	cmd.Flags().StringVar(&query, "query", "", "only packages matching this query")
	return cmd
}

func newSnapshotDiffCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff FROM TO",
		Short: "Show what changed from one snapshot to another",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			dr, err := c.SnapshotDiff(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return g.show(cmd, dr, func(w io.Writer) { writeDiff(w, dr.Added, dr.Removed) })
		},
	}
}

func newSnapshotDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a snapshot (its packages stay stored)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteSnapshot(cmd.Context(), args[0]); err != nil {
				return err
			}
			if !g.json() {
				fmt.Fprintf(cmd.OutOrStdout(), "deleted snapshot %s\n", args[0])
			}
			return nil
		},
	}
}
