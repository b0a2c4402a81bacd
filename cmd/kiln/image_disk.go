package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newImageDiskCmd(g *globals) *cobra.Command {
	return newNounCmd("disk", "Download an image version's disk files", newImageDiskGetCmd(g))
}

func newImageDiskGetCmd(g *globals) *cobra.Command {
	var format, file string
	cmd := &cobra.Command{
		Use:   "get NAME VERSION [--format qcow2] --file FILE",
		Short: "Download a disk of an image version, checked against its digest while it streams",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				img, err := c.GetImage(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				disk, err := pickDisk(img, format)
				if err != nil {
					return err
				}
				if err := downloadDisk(ctx, c, disk, file); err != nil {
					return err
				}
				return g.show(cmd, disk, func(w io.Writer) {
					fmt.Fprintf(w, "%s: %s, %d bytes, %s\n", file, disk.Filename, disk.Size, disk.Digest)
				})
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "the disk of this format (qcow2, raw, ...); needed when there are several")
	cmd.Flags().StringVar(&file, "file", "", "where to write it (required)")
	requireFlags(cmd, "file")
	return cmd
}

// pickDisk is the image's one disk, or its one disk of format.
func pickDisk(img *client.Image, format string) (*client.Disk, error) {
	var found []client.Disk
	var formats []string
	for _, d := range img.Disks {
		formats = append(formats, d.Format)
		if format == "" || d.Format == format {
			found = append(found, d)
		}
	}
	ref := img.Name + "@" + img.Version
	switch {
	case len(img.Disks) == 0:
		return nil, fmt.Errorf("%s has no disk files", ref)
	case len(found) == 0:
		return nil, fmt.Errorf("%s has no %s disk (it has: %s)", ref, format, strings.Join(formats, ", "))
	case len(found) > 1:
		return nil, fmt.Errorf("%s has %d disks (%s): choose one with --format", ref, len(found), strings.Join(formats, ", "))
	}
	return &found[0], nil
}

// downloadDisk writes into a temporary file beside path and renames it
// into place only once size and digest check out: path never holds a
// partial or corrupted disk.
func downloadDisk(ctx context.Context, c *client.Client, d *client.Disk, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kiln-disk-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := c.DownloadDisk(ctx, d.Digest, tmp)
	if err == nil && n != d.Size {
		err = fmt.Errorf("disk %s: got %d bytes, the image says %d", d.Digest, n, d.Size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
