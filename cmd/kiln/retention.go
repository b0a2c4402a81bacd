package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// policyFlags are the retention flags of repo create and repo edit.
type policyFlags struct{ keepVersions, keepPerPackage int }

func (p *policyFlags) add(fs *pflag.FlagSet) {
	fs.IntVar(&p.keepVersions, "keep-versions", 0, "keep the newest N versions of the repository (0: all)")
	fs.IntVar(&p.keepPerPackage, "keep-per-package", 0, "keep the newest K versions of each package name and architecture (0: all)")
}

// changed returns the policy fields given on the command line.
func (p *policyFlags) changed(fs *pflag.FlagSet) client.RepoPolicy {
	var out client.RepoPolicy
	if fs.Changed("keep-versions") {
		out.KeepVersions = &p.keepVersions
	}
	if fs.Changed("keep-per-package") {
		out.KeepPerPackage = &p.keepPerPackage
	}
	return out
}

func newRepoEditCmd(g *globals) *cobra.Command {
	var pf policyFlags
	cmd := &cobra.Command{
		Use:   "edit NAME [--keep-versions N] [--keep-per-package K]",
		Short: "Change a repository's retention policy",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := pf.changed(cmd.Flags())
			if p.KeepVersions == nil && p.KeepPerPackage == nil {
				return usageError{fmt.Errorf("nothing to change: give --keep-versions or --keep-per-package")}
			}
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				r, err := c.SetRepoPolicy(ctx, args[0], p)
				if err != nil {
					return aboutRepo(args[0], err)
				}
				return g.show(cmd, r, func(w io.Writer) {
					fmt.Fprintf(w, "repo %s: %s\n", r.Name, policyText(r.KeepVersions, r.KeepPerPackage))
				})
			})
		},
	}
	pf.add(cmd.Flags())
	return cmd
}

func policyText(versions, perPackage int) string {
	count := func(n int, what string) string {
		if n == 0 {
			return "all " + what
		}
		return fmt.Sprintf("newest %d %s", n, what)
	}
	return "keeps " + count(versions, "versions") + ", " + count(perPackage, "versions of each package")
}

func newRepoPruneCmd(g *globals) *cobra.Command {
	var keep int
	var dry bool
	cmd := &cobra.Command{
		Use:   "prune NAME [--keep-versions N] [--dry-run]",
		Short: "Drop the versions older than the newest N (the repository's policy by default)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := client.PruneRequest{DryRun: dry}
			if cmd.Flags().Changed("keep-versions") {
				req.KeepVersions = &keep
			}
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				rep, err := c.PruneRepo(ctx, args[0], req)
				if err != nil {
					return aboutRepo(args[0], err)
				}
				return g.show(cmd, rep, func(w io.Writer) { writePrune(w, rep) })
			})
		},
	}
	cmd.Flags().IntVar(&keep, "keep-versions", 0, "versions to keep (default: the repository's policy)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "report what would be pruned, change nothing")
	return cmd
}

func writePrune(w io.Writer, rep *client.PruneResponse) {
	verb := "pruned"
	if rep.DryRun {
		verb = "would prune"
	}
	fmt.Fprintf(w, "%s: %s %d versions, %d membership rows; oldest listed version %d\n",
		rep.Repo, verb, len(rep.Pruned), rep.RowsDeleted, rep.Oldest)
	for _, k := range rep.Kept {
		fmt.Fprintf(w, "kept version %d: %s\n", k.Version, k.Reason)
	}
}

func newImagePruneCmd(g *globals) *cobra.Command {
	var keep int
	var dry bool
	cmd := &cobra.Command{
		Use:   "prune NAME --keep N [--dry-run]",
		Short: "Delete old image versions that no channel, server group or kept version uses",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				rep, err := c.PruneImage(ctx, args[0], client.ImagePruneRequest{Keep: keep, DryRun: dry})
				if err != nil {
					return err
				}
				return g.show(cmd, rep, func(w io.Writer) { writeImagePrune(w, rep) })
			})
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 0, "newest versions (not revoked) to keep")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "report what would be deleted, change nothing")
	requireFlags(cmd, "keep")
	return cmd
}

func writeImagePrune(w io.Writer, rep *client.ImagePruneResponse) {
	verb := "deleted"
	if rep.DryRun {
		verb = "would delete"
	}
	fmt.Fprintf(w, "%s: %s %d versions %s\n", rep.Image, verb, len(rep.Deleted), strings.Join(rep.Deleted, " "))
	for _, k := range rep.Kept {
		fmt.Fprintf(w, "kept %s: %s\n", k.Version, k.Reason)
	}
}
