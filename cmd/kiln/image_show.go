package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

// imageOverview is `kiln image show NAME`: the versions and channels.
type imageOverview struct {
	Name     string           `json:"name"`
	Versions []client.Image   `json:"versions"`
	Channels []client.Channel `json:"channels"`
}

func newImageShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME [VERSION]",
		Short: "Show an image version, or an image's versions and channels with their history",
		Args:  nArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				if len(args) == 2 {
					img, err := c.GetImage(ctx, args[0], args[1])
					if err != nil {
						return err
					}
					return g.show(cmd, img, func(w io.Writer) { writeImage(w, img) })
				}
				return showOverview(ctx, g, cmd, c, args[0])
			})
		},
	}
}

func showOverview(ctx context.Context, g *globals, cmd *cobra.Command, c *client.Client, name string) error {
	ir, err := c.ListImages(ctx, name)
	if err != nil {
		return err
	}
	chs, err := c.ListChannels(ctx, name)
	if err != nil {
		return err
	}
	ov := imageOverview{Name: name, Versions: ir.Images, Channels: chs.Channels}
	return g.show(cmd, ov, func(w io.Writer) {
		writeImages(w, ov.Versions)
		fmt.Fprintln(w, "\nCHANNEL\tVERSION\tHISTORY")
		for _, ch := range ov.Channels {
			var moves []string
			for _, m := range ch.History {
				moves = append(moves, fmt.Sprintf("%s %s by %s", m.Time.Format(time.RFC3339), orNone(m.Version), m.By))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", ch.Name, orNone(ch.Version), strings.Join(moves, "; "))
		}
	})
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func writeImage(w io.Writer, img *client.Image) {
	fmt.Fprintf(w, "image:\t%s@%s\n", img.Name, img.Version)
	fmt.Fprintf(w, "platform:\t%s %s %s\n", img.OS, img.OSVersion, img.Arch)
	for _, kv := range [][2]string{{"base", img.Base}, {"commit", img.Commit}, {"build", img.BuildURL}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%s:\t%s\n", kv[0], kv[1])
		}
	}
	for _, k := range sortedLabels(img.Labels) {
		fmt.Fprintf(w, "label:\t%s=%s\n", k, img.Labels[k])
	}
	fmt.Fprintf(w, "created:\t%s\n", img.Created.Format(time.RFC3339))
	if img.Revoked != nil {
		fmt.Fprintf(w, "REVOKED:\t%s (%s)\n", img.Revoked.Reason, img.Revoked.Time.Format(time.RFC3339))
		if img.Revoked.Source != "" {
			fmt.Fprintf(w, "revoked with:\t%s\n", img.Revoked.Source)
		}
	}
	if r := img.RevokeAt; r != nil {
		fmt.Fprintf(w, "revoke at:\t%s (%s)\n", r.Time.Format(time.RFC3339), r.Reason)
	}
	writeRevocations(w, img)
	fmt.Fprintf(w, "channels:\t%s\n", strings.Join(img.Channels, ", "))
	fmt.Fprintf(w, "groups:\t%s\n", strings.Join(img.Groups, ", "))
	for _, a := range img.Artifacts {
		fmt.Fprintf(w, "artifact:\t%s %s %s\n", a.Provider, a.Region, a.ID)
	}
	for _, d := range img.Disks {
		fmt.Fprintf(w, "disk:\t%s %s %s (%d bytes)\n", d.Filename, d.Format, d.Digest, d.Size)
	}
	linked := 0
	for _, p := range img.Packages {
		if len(p.Debs) > 0 {
			linked++
		}
	}
	fmt.Fprintf(w, "packages:\t%d (%d linked to .debs kiln holds; --output json lists them)\n", len(img.Packages), linked)
}

func sortedLabels(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func newImageOutdatedCmd(g *globals) *cobra.Command {
	var channel, repoName string
	cmd := &cobra.Command{
		Use:   "outdated NAME VERSION [--channel BASE-CHANNEL] [--repo REPO]",
		Short: "Tell whether an image's base channel moved on or its packages have updates in a repository",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withClient(g, cmd, func(ctx context.Context, c *client.Client) error {
				o, err := c.ImageOutdated(ctx, args[0], args[1], channel, repoName)
				if err != nil {
					return err
				}
				return g.show(cmd, o, func(w io.Writer) { writeOutdated(w, o) })
			})
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "only this channel of the base image")
	cmd.Flags().StringVar(&repoName, "repo", "", "compare the baked packages with this repository's")
	return cmd
}

// writeRevocations prints an image's revocation history, oldest first.
func writeRevocations(w io.Writer, img *client.Image) {
	for _, e := range img.Revocations {
		from := ""
		if e.Source != "" {
			from = " (from " + e.Source + ")"
		}
		if e.At != nil {
			from += " at " + e.At.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "revocation:\t%s %s %s%s by %s\n", e.Time.Format(time.RFC3339), e.Action, e.Reason, from, e.By)
	}
}

func writeOutdated(w io.Writer, o *client.Outdated) {
	if !o.Outdated {
		fmt.Fprintf(w, "%s is up to date\n", o.Image)
		writeExposures(w, o.Vulnerabilities) // open ones, with no fix to move to
		return
	}
	fmt.Fprintf(w, "%s is outdated\n", o.Image)
	if rb := o.RevokedBase; rb != nil {
		fmt.Fprintf(w, "revoked base:\t%s (%s)\n", rb.Image, rb.Reason)
	}
	for _, m := range o.Base {
		fmt.Fprintf(w, "base channel %s:\t%s -> %s\n", m.Channel, m.Built, orNone(m.Now))
	}
	for _, p := range o.Packages {
		fmt.Fprintf(w, "package %s:%s:\t%s -> %s\n", p.Name, p.Architecture, p.From, p.To)
	}
	writeExposures(w, o.Vulnerabilities)
}
