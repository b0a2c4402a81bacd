package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newGroupCmd(g *globals) *cobra.Command {
	return newNounCmd("group", "Record server groups and ask what they were built from",
		newGroupRecordCmd(g), newGroupShowCmd(g), newGroupEventCmd(g), newGroupWhichCmd(g),
		newGroupDiffCmd(g), newGroupDriftCmd(g), newGroupListCmd(g), newGroupVulnerableCmd(g))
}

func newGroupRecordCmd(g *globals) *cobra.Command {
	var req client.GroupRequest
	var packages string
	cmd := &cobra.Command{
		Use:   "record NAME (--image NAME@VERSION | --oci HOST/REPO@sha256:...|HOST/REPO:TAG | --packages FILE) [--region R] [--account A] [--deployed-by WHO]",
		Short: "Record a server group (app-stack-detail-vNNN) and the exact artifact it was built from",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			var err error
			if req.DpkgList, err = readOptional(packages); err != nil {
				return err
			}
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				grp, err := c.RecordGroup(ctx, req)
				if err != nil {
					return err
				}
				return g.show(cmd, grp, func(w io.Writer) {
					fmt.Fprintf(w, "recorded %s (%s): %s\n", grp.Name, grp.State, builtFrom(grp.Artifact))
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Image, "image", "", "image version NAME@VERSION")
	f.StringVar(&req.OCI, "oci", "", "OCI manifest HOST/REPO@sha256:DIGEST, or HOST/REPO:TAG when HOST is this server (the digest is recorded)")
	f.StringVar(&packages, "packages", "", "a package set: dpkg-query output")
	f.StringVar(&req.Region, "region", "", "region, e.g. us-east-1")
	f.StringVar(&req.Account, "account", "", "cloud account")
	f.StringVar(&req.DeployedBy, "deployed-by", "", "who deployed it, e.g. spinnaker")
	f.StringVar(&req.State, "state", "", "initial state: enabled (default) or disabled")
	return cmd
}

func builtFrom(a client.GroupArtifact) string {
	switch a.Kind {
	case "image":
		if a.ImageID != "" {
			return "image " + a.Image + " (" + a.ImageID + ")"
		}
		return "image " + a.Image
	case "oci":
		return "OCI " + a.OCI
	}
	return fmt.Sprintf("package set of %d", len(a.Packages))
}

func newGroupShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show what a group was built from, exactly, and its events",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				grp, err := c.GetGroup(ctx, args[0])
				if err != nil {
					return err
				}
				return g.show(cmd, grp, func(w io.Writer) { writeGroup(w, grp) })
			})
		},
	}
}

func writeGroup(w io.Writer, grp *client.Group) {
	fmt.Fprintf(w, "group:\t%s\n", grp.Name)
	fmt.Fprintf(w, "cluster:\t%s (app %s, stack %s, detail %s, sequence %d)\n", grp.Cluster, grp.App, orNone(grp.Stack), orNone(grp.Detail), grp.Sequence)
	fmt.Fprintf(w, "built from:\t%s\n", builtFrom(grp.Artifact))
	fmt.Fprintf(w, "region:\t%s\n", orNone(grp.Region))
	if grp.Account != "" {
		fmt.Fprintf(w, "account:\t%s\n", grp.Account)
	}
	fmt.Fprintf(w, "recorded:\t%s by %s\n", grp.Created.Format(time.RFC3339), orNone(grp.DeployedBy))
	fmt.Fprintf(w, "state:\t%s since %s\n", grp.State, grp.Updated.Format(time.RFC3339))
	for _, ev := range grp.Events {
		fmt.Fprintf(w, "event:\t%s %s %s by %s\n", ev.Time.Format(time.RFC3339), ev.State, ev.Note, ev.By)
	}
}

func newGroupEventCmd(g *globals) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "event NAME STATE [--note TEXT]",
		Short: "Record a state change: enabled, disabled or destroyed",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				grp, err := c.AddGroupEvent(ctx, args[0], args[1], note)
				if err != nil {
					return err
				}
				return g.show(cmd, grp, func(w io.Writer) { fmt.Fprintf(w, "%s is %s\n", grp.Name, grp.State) })
			})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "free text")
	return cmd
}

func newGroupWhichCmd(g *globals) *cobra.Command {
	var q client.WhichQuery
	cmd := &cobra.Command{
		Use:   "which (--package QUERY | --image NAME@VERSION | --oci DIGEST|REF) [--state active]",
		Short: "List the groups built with a package (a version or a range), an image version or an OCI manifest",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				gr, err := c.Which(ctx, q)
				if err != nil {
					return err
				}
				return g.show(cmd, gr, func(w io.Writer) {
					writeWhich(w, gr.Groups)
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Package, "package", "", "NAME[:ARCH]=VERSION, or a query: NAME, 'NAME (<< V)', 'NAME (>= A), NAME (<< B)', 'A | B'")
	f.StringVar(&q.Image, "image", "", "image version NAME@VERSION")
	f.StringVar(&q.OCI, "oci", "", "OCI manifest digest or reference")
	f.StringVar(&q.State, "state", "", "active (not destroyed), enabled, disabled or destroyed")
	return cmd
}

// writeWhich prints a which answer; package questions get the version
// each group carries.
func writeWhich(w io.Writer, gs []client.Group) {
	if len(gs) == 0 || gs[0].Carries == nil {
		fmt.Fprintln(w, "GROUP\tSTATE\tREGION\tVIA")
		for _, grp := range gs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", grp.Name, grp.State, grp.Region, grp.Via)
		}
		return
	}
	fmt.Fprintln(w, "GROUP\tSTATE\tREGION\tPACKAGE\tVERSION\tARCH\tVIA")
	for _, grp := range gs {
		p := grp.Carries
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", grp.Name, grp.State, grp.Region, p.Name, p.Version, p.Architecture, grp.Via)
	}
}

func newGroupDiffCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff FROM TO",
		Short: "Show the packages added, removed and changed from one group to another",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				d, err := c.DiffGroups(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return g.show(cmd, d, func(w io.Writer) { writePackageDiff(w, d) })
			})
		},
	}
}

func newGroupDriftCmd(g *globals) *cobra.Command {
	var fromHost string
	cmd := &cobra.Command{
		Use:   "drift NAME --from-host FILE",
		Short: "Compare a host's dpkg-query output with what its group was built from",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := os.ReadFile(fromHost)
			if err != nil {
				return err
			}
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				d, err := c.Drift(ctx, args[0], string(list))
				if err != nil {
					return err
				}
				return g.show(cmd, d, func(w io.Writer) { writePackageDiff(w, d) })
			})
		},
	}
	cmd.Flags().StringVar(&fromHost, "from-host", "", "the host's dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\n' output")
	requireFlags(cmd, "from-host")
	return cmd
}

// writePackageDiff prints + added, - removed, ~ changed (from -> to).
func writePackageDiff(w io.Writer, d *client.PackageDiff) {
	if len(d.Added)+len(d.Removed)+len(d.Changed) == 0 {
		fmt.Fprintf(w, "no difference between %s and %s\n", d.From, d.To)
		return
	}
	fmt.Fprintf(w, "\tNAME\tARCH\t%s\t%s\n", d.From, d.To)
	for _, p := range d.Removed {
		fmt.Fprintf(w, "-\t%s\t%s\t%s\t\n", p.Name, p.Architecture, p.Version)
	}
	for _, p := range d.Added {
		fmt.Fprintf(w, "+\t%s\t%s\t\t%s\n", p.Name, p.Architecture, p.Version)
	}
	for _, p := range d.Changed {
		fmt.Fprintf(w, "~\t%s\t%s\t%s\t%s\n", p.Name, p.Architecture, p.From, p.To)
	}
}

func newGroupListCmd(g *globals) *cobra.Command {
	var f client.GroupFilter
	cmd := &cobra.Command{
		Use:   "list [--app A] [--cluster C] [--state S] [--older-than AGE]",
		Short: "List server groups (e.g. past their maximum age: --older-than 30d)",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				gr, err := c.ListGroups(ctx, f)
				if err != nil {
					return err
				}
				return g.show(cmd, gr, func(w io.Writer) {
					fmt.Fprintln(w, "GROUP\tSTATE\tREGION\tRECORDED\tBUILT FROM")
					for _, grp := range gr.Groups {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", grp.Name, grp.State, grp.Region, grp.Created.Format(time.RFC3339), builtFrom(grp.Artifact))
					}
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.App, "app", "", "only this application")
	fl.StringVar(&f.Cluster, "cluster", "", "only this cluster (app-stack-detail)")
	fl.StringVar(&f.State, "state", "", "active (not destroyed), enabled, disabled or destroyed")
	fl.StringVar(&f.OlderThan, "older-than", "", "only groups recorded longer ago: 30d, 2w, 36h")
	return cmd
}
