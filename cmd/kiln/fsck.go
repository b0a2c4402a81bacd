package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newFsckCmd(g *globals) *cobra.Command {
	var req client.FsckRequest
	cmd := &cobra.Command{
		Use:   "fsck [--sample N]",
		Short: "Check that every blob the database refers to is stored whole (online, read-only)",
		Long: `Ask the server to read back every blob its database refers to (.debs,
image disks, OCI manifests and the blobs they list) and hash it, on either
blob store backend. Missing and corrupt blobs are listed with what refers
to them; nothing is changed. Exits 1 if anything is wrong. With --sample N,
N referenced blobs chosen at random are checked. Needs an admin token.`,
		Args: nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Sample < 0 {
				return usageError{fmt.Errorf("--sample must be 0 (all) or more")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			rep, err := c.Fsck(cmd.Context(), req)
			if err != nil {
				return err
			}
			if err := g.show(cmd, rep, func(w io.Writer) { writeFsck(w, rep) }); err != nil {
				return err
			}
			if n := len(rep.Problems); n > 0 {
				return fmt.Errorf("fsck: %d of %d checked blobs missing or corrupt", n, rep.Checked)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&req.Sample, "sample", 0, "check N referenced blobs chosen at random (default: all)")
	return cmd
}

func writeFsck(w io.Writer, rep *client.FsckReport) {
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Status, p.Kind, p.Digest, strings.Join(p.Owners, ", "), p.Detail)
	}
	fmt.Fprintf(w, "checked %d of %d referenced blobs (%s) in %dms: %d problems\n",
		rep.Checked, rep.Referenced, humanBytes(rep.Bytes), rep.Millis, len(rep.Problems))
}
