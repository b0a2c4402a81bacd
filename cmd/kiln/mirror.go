package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newMirrorCmd(g *globals) *cobra.Command {
	return newNounCmd("mirror", "Manage mirrors of upstream apt repositories (a source elsewhere as mirror:NAME)",
		newMirrorCreateCmd(g), newMirrorUpdateCmd(g), newMirrorListCmd(g), newMirrorShowCmd(g),
		newMirrorEditCmd(g), newMirrorDropCmd(g))
}

// mirrorFlags are the settings create and edit share.
type mirrorFlags struct {
	comps, arches, keyrings []string
	filter                  string
	withDeps, ignoreSigs    bool
}

func (f *mirrorFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.comps, "component", nil, "components to mirror (default main)")
	cmd.Flags().StringSliceVar(&f.arches, "arch", nil, "architectures to mirror (default amd64)")
	cmd.Flags().StringArrayVar(&f.keyrings, "keyring", nil, "OpenPGP keyring file (binary or armored) the upstream signs with; repeatable")
	cmd.Flags().StringVar(&f.filter, "filter", "", "package query: mirror only what matches")
	cmd.Flags().BoolVar(&f.withDeps, "with-deps", false, "with --filter, add what the packages depend on")
	cmd.Flags().BoolVar(&f.ignoreSigs, "ignore-signatures", false, "accept an unsigned (or unverifiable) upstream")
}

func readKeyrings(files []string) ([][]byte, error) {
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, usageError{fmt.Errorf("--keyring: %w", err)}
		}
		out = append(out, b)
	}
	return out, nil
}

func newMirrorCreateCmd(g *globals) *cobra.Command {
	var f mirrorFlags
	var flat bool
	cmd := &cobra.Command{
		Use:   "create NAME URL DIST [--component main,contrib] [--arch amd64,arm64] [--keyring FILE ...] [--filter QUERY] [--with-deps] [--flat]",
		Short: "Record a mirror of an upstream apt repository (then run mirror update); with --flat, DIST is the directory (./)",
		Args:  nArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := client.Mirror{Name: args[0], URL: args[1], Components: f.comps, Architectures: f.arches,
				Filter: f.filter, WithDeps: f.withDeps, Flat: flat, IgnoreSignatures: f.ignoreSigs}
			if len(args) == 3 {
				m.Distribution = args[2]
			} else if !flat {
				return usageError{fmt.Errorf("DIST is required (unless --flat)")}
			}
			if len(m.Architectures) == 0 {
				m.Architectures = []string{"amd64"}
			}
			var err error
			if m.Keyrings, err = readKeyrings(f.keyrings); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			out, err := c.CreateMirror(cmd.Context(), m)
			if err != nil {
				return err
			}
			return g.show(cmd, out, func(w io.Writer) {
				fmt.Fprintf(w, "created mirror %s of %s %s (run: kiln mirror update %s)\n", out.Name, out.URL, out.Distribution, out.Name)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&flat, "flat", false, "a flat repository (deb URL ./): Release and Packages in DIST itself")
	return cmd
}

func newMirrorUpdateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "update NAME",
		Short: "Fetch the upstream, verify it and record what it selects as the mirror's new version (a progress bar on a terminal)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			bar := newMirrorBar(cmd.ErrOrStderr())
			res, err := c.UpdateMirrorProgress(cmd.Context(), args[0], bar.update)
			bar.end()
			if err != nil {
				return err
			}
			return g.show(cmd, res, func(w io.Writer) {
				if res.Unchanged {
					fmt.Fprintf(w, "mirror %s: version %d, upstream unchanged since the last update\n", res.Mirror, res.Version)
					return
				}
				fmt.Fprintf(w, "mirror %s: version %d, %d upstream, %d selected, %d downloaded (%d bytes), +%d -%d\n",
					res.Mirror, res.Version, res.Upstream, res.Selected, res.Downloaded, res.Bytes, len(res.Added), len(res.Removed))
				for _, m := range res.Missing {
					fmt.Fprintf(w, "unsatisfied: %s\n", m)
				}
			})
		},
	}
}

func newMirrorListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List mirrors",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ms, err := c.ListMirrors(cmd.Context())
			if err != nil {
				return err
			}
			return g.show(cmd, client.MirrorsResponse{Mirrors: nonNil(ms)}, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tURL\tDIST\tVERSION\tPACKAGES\tUPDATED")
				for _, m := range ms {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", m.Name, m.URL, m.Distribution, m.Version, m.Packages, updated(m.Updated))
				}
			})
		},
	}
}

func updated(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func newMirrorShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a mirror's settings (its packages: kiln repo show mirror:NAME)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			m, err := c.GetMirror(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(cmd, m, func(w io.Writer) {
				fmt.Fprintf(w, "mirror:\t%s\nupstream:\t%s %s %s\narchitectures:\t%s\nkeyrings:\t%d\n",
					m.Name, m.URL, m.Distribution, strings.Join(m.Components, ","), strings.Join(m.Architectures, ","), m.KeyringCount)
				fmt.Fprintf(w, "filter:\t%s\nwith-deps:\t%t\nflat:\t%t\nignore-signatures:\t%t\nversion:\t%d\npackages:\t%d\nupdated:\t%s\n",
					m.Filter, m.WithDeps, m.Flat, m.IgnoreSignatures, m.Version, m.Packages, updated(m.Updated))
			})
		},
	}
}

func newMirrorEditCmd(g *globals) *cobra.Command {
	var f mirrorFlags
	var url, dist string
	cmd := &cobra.Command{
		Use:   "edit NAME [--upstream URL] [--distribution DIST] [--filter QUERY] [--with-deps=false] ...",
		Short: "Change a mirror's settings; the next update uses them",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.edit(cmd, url, dist)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			m, err := c.EditMirror(cmd.Context(), args[0], e)
			if err != nil {
				return err
			}
			return g.show(cmd, m, func(w io.Writer) { fmt.Fprintf(w, "edited mirror %s\n", m.Name) })
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&url, "upstream", "", "upstream URL")
	cmd.Flags().StringVar(&dist, "distribution", "", "upstream distribution")
	return cmd
}

// edit turns the flags given into an edit; those not given stay nil.
func (f *mirrorFlags) edit(cmd *cobra.Command, url, dist string) (client.MirrorEdit, error) {
	var e client.MirrorEdit
	changed := cmd.Flags().Changed
	if changed("upstream") {
		e.URL = &url
	}
	if changed("distribution") {
		e.Distribution = &dist
	}
	if changed("filter") {
		e.Filter = &f.filter
	}
	if changed("with-deps") {
		e.WithDeps = &f.withDeps
	}
	if changed("ignore-signatures") {
		e.IgnoreSignatures = &f.ignoreSigs
	}
	e.Components, e.Architectures = f.comps, f.arches
	var err error
	e.Keyrings, err = readKeyrings(f.keyrings)
	return e, err
}

func newMirrorDropCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "drop NAME [--force]",
		Short: "Delete a mirror and its versions (the packages stay until gc)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DropMirror(cmd.Context(), args[0], force); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "dropped mirror %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "drop even if a snapshot or publication uses it")
	return cmd
}
