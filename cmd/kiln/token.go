package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/spf13/cobra"
)

func newTokenCmd(g *globals) *cobra.Command {
	return newNounCmd("token", "Manage API tokens (admin scope)",
		newTokenCreateCmd(g), newTokenListCmd(g), newTokenDeleteCmd(g))
}

func newTokenCreateCmd(g *globals) *cobra.Command {
	var req client.TokenRequest
	patterns := map[string]*[]string{}
	cmd := &cobra.Command{
		Use:   "create --scope read|write|admin [--name NAME]",
		Short: "Create a token; text output is the secret alone",
		Long: `Create a token. A token has a role (read < write < admin) and, optionally,
the resources it may touch as glob patterns per kind: a token with any
pattern may touch only resources of the kinds it names, with matching
names (--repo, --publication PREFIX/DIST, --registry, --image, each
repeatable). Deleting a repository, snapshot, publication, image or
mirror, and revoking an image, need admin or --allow-delete. --expires
takes an age (90d, 2w, 12h) or an RFC 3339 time.`,
		Args: nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch req.Scope {
			case "read", "write", "admin":
			default:
				return usageError{fmt.Errorf("--scope must be read, write or admin, not %q", req.Scope)}
			}
			for kind, pats := range patterns {
				if len(*pats) > 0 {
					if req.Resources == nil {
						req.Resources = map[string][]string{}
					}
					req.Resources[kind] = *pats
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			// The secret alone, so that `export KILN_TOKEN=$(kiln token create ...)` works.
			return g.show(cmd, t, func(w io.Writer) { fmt.Fprintln(w, t.Secret) })
		},
	}
	cmd.Flags().StringVar(&req.Scope, "scope", "", "scope: read, write or admin (required)")
	requireFlags(cmd, "scope")
	cmd.Flags().StringVar(&req.Name, "name", "", "a unique name to recognise the token by")
	for _, kind := range repo.ResourceKinds {
		what := map[string]string{"repo": "repositories", "registry": "registry repositories"}[kind]
		if what == "" {
			what = kind + "s"
		}
		patterns[kind] = cmd.Flags().StringArray(kind, nil, "limit the token to "+what+" matching this glob (repeatable)")
	}
	cmd.Flags().BoolVar(&req.AllowDelete, "allow-delete", false, "let a write token delete and revoke within its resources")
	cmd.Flags().StringVar(&req.Expires, "expires", "", "expiry: an age (90d, 12h) or an RFC 3339 time; default never")
	return cmd
}

func newTokenListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens (without secrets)",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			tokens, err := c.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			return g.show(cmd, client.TokensResponse{Tokens: nonNil(tokens)}, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tSCOPE\tRESOURCES\tCREATED\tEXPIRES\tLAST USED\tFROM")
				for _, t := range tokens {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, orDash(t.Name), t.Scope, tokenResources(t),
						t.Created.Format(time.RFC3339), timeOrDash(t.Expires, "never"), timeOrDash(t.LastUsed, "never"), orDash(t.LastAddr))
				}
			})
		},
	}
}

func newTokenDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Revoke a token",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteToken(cmd.Context(), args[0]); err != nil {
				return about(fmt.Sprintf("token %q", args[0]), strconv.Quote(args[0]), err)
			}
			if !g.json() {
				fmt.Fprintf(cmd.OutOrStdout(), "deleted token %s\n", args[0])
			}
			return nil
		},
	}
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// tokenResources is "all" or the token's patterns ("repo=web-*,..."),
// with "+delete" for the delete grant.
func tokenResources(t client.Token) string {
	s := repo.Resources(t.Resources).String()
	if s == "" {
		s = "all"
	}
	if t.AllowDelete {
		s += "+delete"
	}
	return s
}

func timeOrDash(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
