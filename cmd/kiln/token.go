package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/spf13/cobra"
)

func newTokenCmd(g *globals) *cobra.Command {
	return newNounCmd("token", "Manage API tokens (admin scope)",
		newTokenCreateCmd(g), newTokenListCmd(g), newTokenDeleteCmd(g))
}

func newTokenCreateCmd(g *globals) *cobra.Command {
	var req client.TokenRequest
	cmd := &cobra.Command{
		Use:   "create --scope read|write|admin [--name NAME]",
		Short: "Create a token; text output is the secret alone",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch req.Scope {
			case "read", "write", "admin":
			default:
				return usageError{fmt.Errorf("--scope must be read, write or admin, not %q", req.Scope)}
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
	cmd.Flags().StringVar(&req.Name, "name", "", "a name to recognise the token by")
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
				fmt.Fprintln(w, "ID\tNAME\tSCOPE\tCREATED")
				for _, t := range tokens {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.Created.Format(time.RFC3339))
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
