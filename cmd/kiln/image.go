package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newImageCmd(g *globals) *cobra.Command {
	return newNounCmd("image", "Manage the VM image catalog: versions, channels, lookups",
		newImagePushCmd(g), newImagePromoteCmd(g), newImageFindCmd(g), newImageRevokeCmd(g),
		newImageShowCmd(g), newImageListCmd(g), newImageDeleteCmd(g), newImageOutdatedCmd(g), newImagePruneCmd(g))
}

// withClient runs fn with a client of the configured server.
func withClient(g *globals, cmd *cobra.Command, fn func(context.Context, *client.Client) error) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	return fn(cmd.Context(), c)
}

// pushFlags are the flags of `kiln image push` that name files or repeat.
type pushFlags struct {
	manifest, packages string
	artifacts, disks   []string
	labels             map[string]string
}

func newImagePushCmd(g *globals) *cobra.Command {
	var req client.ImagePushRequest
	pf := pushFlags{labels: map[string]string{}}
	cmd := &cobra.Command{
		Use:   "push NAME --version V --os OS --os-version V --arch ARCH [--packer-manifest FILE] [--artifact PROVIDER:REGION:ID]... [--packages FILE] [--base NAME@VERSION] [--disk FILE]...",
		Short: "Push an image version (immutable: the same content again is a no-op)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name, req.Labels = args[0], pf.labels
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				if err := pf.fill(ctx, c, &req); err != nil {
					return err
				}
				img, err := c.PushImage(ctx, req)
				if err != nil {
					return err
				}
				return g.show(cmd, img, func(w io.Writer) {
					fmt.Fprintf(w, "pushed %s@%s: %d artifacts, %d packages, %d disks\n", img.Name, img.Version, len(img.Artifacts), len(img.Packages), len(img.Disks))
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Version, "version", "", "image version, e.g. 2026.11.21-3 (required)")
	f.StringVar(&req.OS, "os", "", "operating system, e.g. debian (required)")
	f.StringVar(&req.OSVersion, "os-version", "", "operating system version, e.g. 12 (required)")
	f.StringVar(&req.Arch, "arch", "", "architecture, e.g. amd64 (required)")
	requireFlags(cmd, "version", "os", "os-version", "arch")
	f.StringVar(&pf.manifest, "packer-manifest", "", "packer-manifest.json of the build (its last run's artifacts)")
	f.StringArrayVar(&pf.artifacts, "artifact", nil, "a cloud artifact PROVIDER:REGION:ID, e.g. aws:us-east-1:ami-0abc (repeatable)")
	f.StringVar(&pf.packages, "packages", "", "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\n' output of the image")
	f.StringArrayVar(&pf.disks, "disk", nil, "a disk file to upload with the image (qcow2, raw, ...; repeatable)")
	f.StringVar(&req.Base, "base", "", "base image, NAME@VERSION")
	f.StringToStringVar(&pf.labels, "label", nil, "label KEY=VALUE (repeatable)")
	f.StringVar(&req.Commit, "commit", "", "source commit")
	f.StringVar(&req.BuildURL, "build-url", "", "URL of the CI build")
	return cmd
}

// fill reads the files the flags name and uploads the disks.
func (pf *pushFlags) fill(ctx context.Context, c *client.Client, req *client.ImagePushRequest) error {
	var err error
	if req.PackerManifest, err = readOptional(pf.manifest); err != nil {
		return err
	}
	if req.DpkgList, err = readOptional(pf.packages); err != nil {
		return err
	}
	for _, a := range pf.artifacts {
		parts := strings.SplitN(a, ":", 3)
		if len(parts) != 3 {
			return fmt.Errorf("--artifact %q: want PROVIDER:REGION:ID, e.g. aws:us-east-1:ami-0abc", a)
		}
		req.Artifacts = append(req.Artifacts, client.Artifact{Provider: parts[0], Region: parts[1], ID: parts[2]})
	}
	for _, path := range pf.disks {
		d, err := uploadDisk(ctx, c, path)
		if err != nil {
			return err
		}
		req.Disks = append(req.Disks, *d)
	}
	return nil
}

func readOptional(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	return string(b), err
}

// uploadDisk hashes a disk file, then uploads it for the server to verify
// against that digest.
func uploadDisk(ctx context.Context, c *client.Client, path string) (*client.Disk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if _, err := c.UploadDisk(ctx, f, size, digest); err != nil {
		return nil, fmt.Errorf("uploading %s: %w", path, err)
	}
	name := filepath.Base(path)
	format := strings.TrimPrefix(filepath.Ext(name), ".")
	return &client.Disk{Filename: name, Format: format, Digest: digest, Size: size}, nil
}

func newImagePromoteCmd(g *globals) *cobra.Command {
	var channel string
	cmd := &cobra.Command{
		Use:   "promote NAME VERSION --channel CHANNEL",
		Short: "Point a channel at an image version",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				ch, err := c.Promote(ctx, args[0], args[1], channel)
				if err != nil {
					return err
				}
				return g.show(cmd, ch, func(w io.Writer) {
					fmt.Fprintf(w, "%s channel %s -> %s\n", ch.Image, ch.Name, ch.Version)
				})
			})
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "channel name, e.g. prod (required)")
	requireFlags(cmd, "channel")
	return cmd
}

func newImageFindCmd(g *globals) *cobra.Command {
	fq := client.FindQuery{}
	cmd := &cobra.Command{
		Use:   "find NAME --os OS --os-version V --arch ARCH --region REGION [--channel C | --label KEY=VALUE...]",
		Short: "Print the one artifact id (e.g. ami-0abc...) a lookup resolves to",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				f, err := c.FindImage(ctx, args[0], fq)
				if err != nil {
					return err
				}
				return g.show(cmd, f, func(w io.Writer) { fmt.Fprintln(w, f.ID) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&fq.OS, "os", "", "operating system")
	f.StringVar(&fq.OSVersion, "os-version", "", "operating system version")
	f.StringVar(&fq.Arch, "arch", "", "architecture")
	f.StringVar(&fq.Region, "region", "", "region, e.g. us-east-1")
	f.StringVar(&fq.Channel, "channel", "", "the channel's version (default: the newest version)")
	f.StringToStringVar(&fq.Labels, "label", nil, "only versions with label KEY=VALUE (repeatable)")
	requireFlags(cmd, "os", "os-version", "arch", "region")
	return cmd
}

func newImageRevokeCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke NAME VERSION --reason TEXT",
		Short: "Revoke an image version: it never resolves again",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				img, err := c.RevokeImage(ctx, args[0], args[1], reason)
				if err != nil {
					return err
				}
				return g.show(cmd, img, func(w io.Writer) {
					fmt.Fprintf(w, "revoked %s@%s: %s\n", img.Name, img.Version, img.Revoked.Reason)
				})
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required), e.g. \"CVE-2026-1234 in openssl\"")
	requireFlags(cmd, "reason")
	return cmd
}

func newImageListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list [NAME]",
		Short: "List image versions (of one image, or all)",
		Args:  nArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				ir, err := c.ListImages(ctx, name)
				if err != nil {
					return err
				}
				return g.show(cmd, ir, func(w io.Writer) { writeImages(w, ir.Images) })
			})
		},
	}
}

func writeImages(w io.Writer, imgs []client.Image) {
	fmt.Fprintln(w, "NAME\tVERSION\tOS\tARCH\tREGIONS\tCREATED\tREVOKED")
	for _, img := range imgs {
		var regions []string
		for _, a := range img.Artifacts {
			regions = append(regions, a.Region)
		}
		revoked := ""
		if img.Revoked != nil {
			revoked = img.Revoked.Reason
		}
		fmt.Fprintf(w, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", img.Name, img.Version, img.OS, img.OSVersion, img.Arch,
			strings.Join(regions, ","), img.Created.Format(time.RFC3339), revoked)
	}
}

func newImageDeleteCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete NAME VERSION [--force]",
		Short: "Delete an image version (refused while active groups run it or channels point at it)",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				broken, err := c.DeleteImage(ctx, args[0], args[1], force)
				if err != nil {
					return err
				}
				return g.show(cmd, broken, func(w io.Writer) {
					fmt.Fprintf(w, "deleted %s@%s\n", args[0], args[1])
					if len(broken.Groups)+len(broken.Channels) > 0 {
						fmt.Fprintf(w, "broke: groups %v, channels %v (now pointing at nothing)\n", broken.Groups, broken.Channels)
					}
				})
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete even if active groups or channels use it")
	return cmd
}
