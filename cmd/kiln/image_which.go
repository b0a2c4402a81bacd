package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newImageWhichCmd(g *globals) *cobra.Command {
	var pkg string
	cmd := &cobra.Command{
		Use:   "which --package QUERY",
		Short: "List the image versions that baked in a package version or range, with the version each carries",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				hits, err := c.ImagesWith(ctx, pkg)
				if err != nil {
					return err
				}
				return g.show(cmd, hits, func(w io.Writer) {
					fmt.Fprintln(w, "IMAGE\tPACKAGE\tVERSION\tARCH\tREVOKED")
					for _, h := range hits.Images {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", h.Image, h.Package.Name, h.Package.Version, h.Package.Architecture, h.Revoked)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&pkg, "package", "", "NAME[:ARCH]=VERSION, or a query: NAME, 'NAME (<< V)', 'NAME (>= A), NAME (<< B)', 'A | B'")
	requireFlags(cmd, "package")
	return cmd
}
