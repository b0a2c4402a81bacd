package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newAdvisoryCmd(g *globals) *cobra.Command {
	return newNounCmd("advisory", "Import security feeds (Debian Security Tracker, OSV) that group vulnerable and image outdated read",
		newAdvisoryImportCmd(g))
}

func newAdvisoryImportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Import a Debian Security Tracker JSON export or OSV JSON (a newer import of the same kind replaces the older)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				info, err := c.ImportAdvisories(ctx, f)
				if err != nil {
					return err
				}
				return g.show(cmd, info, func(w io.Writer) {
					verb := "imported"
					if !info.Changed {
						verb = "unchanged"
					}
					fmt.Fprintf(w, "%s %s feed: %d entries (sha256 %s)\n", verb, info.Kind, info.Entries, info.SHA256)
				})
			})
		},
	}
}

func newGroupVulnerableCmd(g *globals) *cobra.Command {
	var state, severity string
	cmd := &cobra.Command{
		Use:   "vulnerable [--state active] [--severity high,critical]",
		Short: "List the groups whose packages are exposed to an imported advisory, with the fixed version and the channel versions that carry it",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var sev []string
			if severity != "" {
				sev = strings.Split(severity, ",")
			}
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				res, err := c.Vulnerable(ctx, state, sev)
				if err != nil {
					return err
				}
				return g.show(cmd, res, func(w io.Writer) {
					fmt.Fprintln(w, "GROUP\tCVE\tSEVERITY\tPACKAGE\tVERSION\tFIXED\tFIX IN CHANNEL")
					for _, grp := range res.Groups {
						for _, e := range grp.Exposures {
							fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", grp.Group, e.CVE, e.Severity, e.Package, e.Version, orDash(e.Fixed), fixedIn(e.FixedIn))
						}
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "active (not destroyed), enabled, disabled or destroyed")
	cmd.Flags().StringVar(&severity, "severity", "", "only these severities: critical, high, medium, low, unimportant, unknown")
	return cmd
}

func fixedIn(fs []client.ChannelFix) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Channel+"="+f.Image)
	}
	return orDash(strings.Join(out, ","))
}

// writeExposures prints an image's CVEs (image outdated).
func writeExposures(w io.Writer, es []client.Exposure) {
	for _, e := range es {
		fmt.Fprintf(w, "%s %s:\t%s %s, fixed %s, fix in channel %s\n", e.CVE, e.Severity, e.Package, e.Version, orDash(e.Fixed), fixedIn(e.FixedIn))
	}
}
