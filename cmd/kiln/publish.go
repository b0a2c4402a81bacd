package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/catalog"
)

func newPublishCmd(g *globals) *cobra.Command {
	return newNounCmd("publish", "Publish apt repositories (dists/ and pool/ under a prefix)",
		newPublishCreateCmd(g), newPublishUpdateCmd(g), newPublishSwitchCmd(g),
		newPublishListCmd(g), newPublishDropCmd(g))
}

func newPublishCreateCmd(g *globals) *cobra.Command {
	var p client.Publication
	var comps []string
	var key, validFor string
	cmd := &cobra.Command{
		Use:   "create --prefix P --distribution D --component C=SOURCE... --arch A,B --sign KEY|none",
		Short: "Publish a distribution; a SOURCE is a repository or snapshot name (or repo:NAME, snapshot:NAME, mirror:NAME)",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key != "none" {
				p.Key = key
			}
			if validFor != "" {
				d, err := catalog.ParseAge(validFor)
				if err == nil && d <= 0 {
					err = fmt.Errorf("%q is not a positive duration", validFor)
				}
				if err != nil {
					return usageError{fmt.Errorf("--valid-for: %w", err)}
				}
				p.ValidFor = d.String()
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if p.Sources, err = resolveSources(cmd.Context(), c, comps); err != nil {
				return err
			}
			pub, err := c.CreatePublication(cmd.Context(), p)
			return g.showPublication(cmd, pub, err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Prefix, "prefix", "", "URL prefix: served at http://host/PREFIX/")
	f.StringVar(&p.Distribution, "distribution", "", "distribution (dists/NAME), e.g. bookworm")
	f.StringArrayVar(&comps, "component", nil, "COMPONENT=SOURCE, repeatable")
	f.StringSliceVar(&p.Architectures, "arch", nil, "architectures, e.g. amd64,arm64")
	f.StringVar(&key, "sign", "", "signing key name, or none")
	f.StringVar(&p.Origin, "origin", "", "Origin field")
	f.StringVar(&p.Label, "label", "", "Label field")
	f.StringVar(&p.Suite, "suite", "", "Suite field")
	f.StringVar(&p.Codename, "codename", "", "Codename field (default: the distribution)")
	f.StringVar(&p.Access, "access", "public", "public, or token: only read tokens allowed on this publication may fetch the prefix (apt: auth.conf)")
	f.StringVar(&p.Endpoint, "endpoint", "", "where the tree goes: the server's data directory (default) or s3:NAME, a publish endpoint of the server's config")
	f.StringVar(&validFor, "valid-for", "", "write Valid-Until this long after each publish (e.g. 7d, 36h): apt refuses older Releases")
	requireFlags(cmd, "prefix", "distribution", "component", "arch", "sign")
	return cmd
}

// resolveSources turns COMPONENT=SOURCE flags into sources; a bare name is
// a repository if one has it, else a snapshot.
func resolveSources(ctx context.Context, c *client.Client, comps []string) ([]client.Source, error) {
	var out []client.Source
	for _, spec := range comps {
		comp, src, ok := strings.Cut(spec, "=")
		if !ok || comp == "" || src == "" {
			return nil, usageError{fmt.Errorf("--component %q: want COMPONENT=SOURCE", spec)}
		}
		kind, name, explicit := strings.Cut(src, ":")
		if !explicit {
			kind, name = "snapshot", src
			if _, err := c.GetRepo(ctx, src); err == nil {
				kind = "repo"
			} else if ae := new(client.Error); !errors.As(err, &ae) || ae.Status != 404 {
				return nil, err
			}
		}
		out = append(out, client.Source{Component: comp, Kind: kind, Name: name})
	}
	return out, nil
}

func newPublishUpdateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "update PREFIX DISTRIBUTION",
		Short: "Republish from the sources' current contents (after repo add)",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			pub, err := c.UpdatePublication(cmd.Context(), args[0], args[1])
			return g.showPublication(cmd, pub, err)
		},
	}
}

func newPublishSwitchCmd(g *globals) *cobra.Command {
	var comps []string
	cmd := &cobra.Command{
		Use:   "switch PREFIX DISTRIBUTION --component C=SOURCE...",
		Short: "Point components at other sources (a snapshot pins; switching back rolls back)",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			srcs, err := resolveSources(cmd.Context(), c, comps)
			if err != nil {
				return err
			}
			pub, err := c.SwitchPublication(cmd.Context(), args[0], args[1], srcs)
			return g.showPublication(cmd, pub, err)
		},
	}
	cmd.Flags().StringArrayVar(&comps, "component", nil, "COMPONENT=SOURCE, repeatable")
	requireFlags(cmd, "component")
	return cmd
}

func (g *globals) showPublication(cmd *cobra.Command, p *client.Publication, err error) error {
	if err != nil {
		return err
	}
	return g.show(cmd, p, func(w io.Writer) {
		access := ""
		if p.Access == "token" {
			access = " (access: token)"
		}
		fmt.Fprintf(w, "published %s/%s: %s%s\n", p.Prefix, p.Distribution, describeSources(p.Sources), access)
		if p.URL != "" {
			comps := make([]string, len(p.Sources))
			for i, s := range p.Sources {
				comps[i] = s.Component
			}
			fmt.Fprintf(w, "sources.list: deb %s %s %s\n", p.URL, p.Distribution, strings.Join(comps, " "))
		}
	})
}

func describeSources(srcs []client.Source) string {
	var parts []string
	for _, s := range srcs {
		parts = append(parts, fmt.Sprintf("%s=%s:%s", s.Component, s.Kind, s.Name))
	}
	return strings.Join(parts, " ")
}

func newPublishListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List publications",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			pubs, err := c.ListPublications(cmd.Context())
			if err != nil {
				return err
			}
			return g.show(cmd, client.PublicationsResponse{Publications: nonNil(pubs)}, func(w io.Writer) {
				fmt.Fprintln(w, "PREFIX\tDISTRIBUTION\tCOMPONENTS\tARCHITECTURES\tKEY")
				for _, p := range pubs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Prefix, p.Distribution, describeSources(p.Sources),
						strings.Join(p.Architectures, ","), p.Key)
				}
			})
		},
	}
}

func newPublishDropCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "drop PREFIX DISTRIBUTION",
		Short: "Unpublish a distribution",
		Args:  nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.DropPublication(cmd.Context(), args[0], args[1])
		},
	}
}
