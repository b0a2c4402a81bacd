package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/spf13/cobra"
)

func newRepoCmd(g *globals) *cobra.Command {
	return newNounCmd("repo", "Manage repositories of .deb packages",
		newRepoCreateCmd(g), newRepoListCmd(g), newRepoShowCmd(g), newRepoSearchCmd(g),
		newRepoDeleteCmd(g), newRepoAddCmd(g), newRepoRemoveCmd(g),
		newRepoVersionsCmd(g), newRepoDiffCmd(g), newRepoEditCmd(g), newRepoPruneCmd(g),
		newRepoFlowCmd(g, false), newRepoFlowCmd(g, true))
}

func newRepoCreateCmd(g *globals) *cobra.Command {
	var r client.Repo
	var pf policyFlags
	cmd := &cobra.Command{
		Use:   "create NAME [--distribution D] [--component C] [--description TEXT] [--keep-versions N] [--keep-per-package K]",
		Short: "Create a repository",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.Name, r.KeepVersions, r.KeepPerPackage = args[0], pf.keepVersions, pf.keepPerPackage
			c, err := g.client()
			if err != nil {
				return err
			}
			created, err := c.CreateRepo(cmd.Context(), r)
			if err != nil {
				return aboutRepo(r.Name, err)
			}
			return g.show(cmd, created, func(w io.Writer) {
				fmt.Fprintf(w, "created repo %s (distribution %s, component %s)\n",
					created.Name, created.Distribution, created.Component)
			})
		},
	}
	cmd.Flags().StringVar(&r.Distribution, "distribution", "", "default distribution to publish it as, e.g. bookworm")
	cmd.Flags().StringVar(&r.Component, "component", "main", "default component to publish it as")
	cmd.Flags().StringVar(&r.Description, "description", "", "free text")
	pf.add(cmd.Flags())
	return cmd
}

func newRepoListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List repositories",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			repos, err := c.ListRepos(cmd.Context())
			if err != nil {
				return err
			}
			return g.show(cmd, client.ReposResponse{Repos: nonNil(repos)}, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tDISTRIBUTION\tCOMPONENT\tVERSION\tPACKAGES\tDESCRIPTION")
				for _, r := range repos {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n",
						r.Name, r.Distribution, r.Component, r.Version, r.Packages, r.Description)
				}
			})
		},
	}
}

func newRepoShowCmd(g *globals) *cobra.Command {
	var query string
	var version int
	cmd := &cobra.Command{
		Use:   "show NAME [--version N] [--query Q]",
		Short: "List a repository's packages",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := client.ListOptions{Query: query}
			if cmd.Flags().Changed("version") {
				opts.Version = &version
			}
			return g.showPackages(cmd, args[0], opts)
		},
	}
	cmd.Flags().StringVar(&query, "query", "", "only packages matching this query")
	cmd.Flags().IntVar(&version, "version", 0, "repository version (default: the latest)")
	return cmd
}

func newRepoSearchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "search NAME QUERY",
		Short: "List a repository's packages matching a query",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.showPackages(cmd, args[0], client.ListOptions{Query: args[1]})
		},
	}
}

// showPackages prints every matching package of a repository, all pages.
func (g *globals) showPackages(cmd *cobra.Command, name string, opts client.ListOptions) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	pr, err := c.AllRepoPackages(cmd.Context(), name, opts)
	if err != nil {
		return aboutRepo(name, err)
	}
	return g.show(cmd, pr, func(w io.Writer) { writePackages(w, pr.Packages) })
}

func newRepoDeleteCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete NAME [--force]",
		Short: "Delete a repository",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteRepo(cmd.Context(), args[0], force); err != nil {
				return aboutRepo(args[0], err)
			}
			if !g.json() {
				fmt.Fprintf(cmd.OutOrStdout(), "deleted repo %s\n", args[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete even when the repository is in use")
	return cmd
}

func newRepoRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME QUERY",
		Short: "Remove the packages matching a query (one new version)",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ch, err := c.RemovePackages(cmd.Context(), args[0], args[1])
			if err != nil {
				return aboutRepo(args[0], err)
			}
			return g.show(cmd, ch, func(w io.Writer) { fmt.Fprintln(w, changeSummary(args[0], ch)) })
		},
	}
}

func newRepoVersionsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "versions NAME",
		Short: "List a repository's versions, oldest first",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			vr, err := c.RepoVersions(cmd.Context(), args[0])
			if err != nil {
				return aboutRepo(args[0], err)
			}
			return g.show(cmd, vr, func(w io.Writer) { writeVersions(w, vr.Versions) })
		},
	}
}

func writeVersions(w io.Writer, versions []client.RepoVersion) {
	fmt.Fprintln(w, "VERSION\tCREATED\tADDED\tREMOVED\tPACKAGES\tBY")
	for _, v := range versions {
		fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%d\t%s\n",
			v.Number, v.Created.Format(time.RFC3339), v.Added, v.Removed, v.Packages, v.By)
	}
}

func newRepoDiffCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff NAME FROM TO",
		Short: "Show what changed between two versions of a repository",
		Args:  nArgs(3, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err1 := strconv.Atoi(args[1])
			to, err2 := strconv.Atoi(args[2])
			if err1 != nil || err2 != nil || from < 0 || to < 0 {
				return usageError{fmt.Errorf("FROM and TO must be version numbers, not %q and %q", args[1], args[2])}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			dr, err := c.RepoDiff(cmd.Context(), args[0], from, to)
			if err != nil {
				return aboutRepo(args[0], err)
			}
			return g.show(cmd, dr, func(w io.Writer) { writeDiff(w, dr.Added, dr.Removed) })
		},
	}
}

// writeDiff prints one line per package, + for added and - for removed.
func writeDiff(w io.Writer, added, removed []client.Package) {
	fmt.Fprintln(w, "\tNAME\tVERSION\tARCH\tSHA256")
	for _, side := range []struct {
		mark string
		pkgs []client.Package
	}{{"-", removed}, {"+", added}} {
		for _, p := range side.pkgs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", side.mark, p.Name, p.Version, p.Architecture, p.SHA256)
		}
	}
}
