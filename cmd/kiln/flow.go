package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

// newRepoFlowCmd is `repo copy` (move false) or `repo move`.
func newRepoFlowCmd(g *globals, move bool) *cobra.Command {
	verb := map[bool]string{false: "copy", true: "move"}[move]
	var req client.FlowRequest
	cmd := &cobra.Command{
		Use: verb + " SRC DST QUERY [--with-deps] [--ignore-missing] [--dry-run]",
		Short: fmt.Sprintf("%s the packages of SRC that QUERY matches into DST (one new version of each repository "+
			"touched; no byte is uploaded again)", map[bool]string{false: "Copy", true: "Move"}[move]),
		Args: nArgs(3, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.To, req.Query = args[1], args[2]
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.CopyPackages(cmd.Context(), args[0], move, req)
			if err != nil {
				return err
			}
			return g.show(cmd, res, func(w io.Writer) {
				if res.DryRun {
					fmt.Fprintf(w, "would %s %d packages:\n", verb, len(res.Selected))
					writePackages(w, res.Selected)
				} else {
					fmt.Fprintln(w, changeSummary(args[1], res.To))
					if move {
						fmt.Fprintln(w, changeSummary(args[0], res.From))
					}
				}
				writeMissing(w, res.Missing)
			})
		},
	}
	flowFlags(cmd, &req.WithDeps, &req.IgnoreMissing)
	cmd.Flags().BoolVar(&req.DryRun, "dry-run", false, "show what would be "+map[bool]string{false: "copied", true: "moved"}[move]+", change nothing")
	return cmd
}

func flowFlags(cmd *cobra.Command, withDeps, ignoreMissing *bool) {
	cmd.Flags().BoolVar(withDeps, "with-deps", false, "take along what the packages depend on (Depends, Pre-Depends)")
	cmd.Flags().BoolVar(ignoreMissing, "ignore-missing", false, "with --with-deps, go on when a dependency cannot be satisfied")
}

func writeMissing(w io.Writer, missing []string) {
	for _, m := range missing {
		fmt.Fprintf(w, "unsatisfied: %s\n", m)
	}
}

func newSnapshotFilterCmd(g *globals) *cobra.Command {
	var req client.SnapshotFilterRequest
	cmd := &cobra.Command{
		Use:   "filter NEW SRC QUERY [--with-deps] [--ignore-missing]",
		Short: "Name the packages of snapshot SRC that QUERY matches as snapshot NEW",
		Args:  nArgs(3, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name, req.Query = args[0], args[2]
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.FilterSnapshot(cmd.Context(), args[1], req)
			return showSnapshotFlow(g, cmd, res, err)
		},
	}
	flowFlags(cmd, &req.WithDeps, &req.IgnoreMissing)
	return cmd
}

func newSnapshotMergeCmd(g *globals) *cobra.Command {
	var req client.SnapshotMergeRequest
	cmd := &cobra.Command{
		Use:   "merge NEW SRC1 SRC2 ... [--latest]",
		Short: "Name the union of snapshots as snapshot NEW: later sources win, or with --latest the newest version",
		Args:  nArgs(3, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name, req.Sources = args[0], args[1:]
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.MergeSnapshots(cmd.Context(), req)
			return showSnapshotFlow(g, cmd, res, err)
		},
	}
	cmd.Flags().BoolVar(&req.Latest, "latest", false, "keep the newest version of each package, whichever source has it")
	return cmd
}

func showSnapshotFlow(g *globals, cmd *cobra.Command, res *client.SnapshotFlowResponse, err error) error {
	if err != nil {
		return err
	}
	return g.show(cmd, res, func(w io.Writer) {
		fmt.Fprintf(w, "created snapshot %s (%d packages): %s\n", res.Snapshot.Name, res.Snapshot.Packages, res.Snapshot.Description)
		writeMissing(w, res.Missing)
	})
}
