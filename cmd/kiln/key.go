package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newKeyCmd(g *globals) *cobra.Command {
	return newNounCmd("key", "Manage the OpenPGP keys that sign publications",
		newKeyGenerateCmd(g), newKeyImportCmd(g), newKeyListCmd(g), newKeyExportCmd(g), newKeyDropCmd(g))
}

func newKeyGenerateCmd(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "generate --name NAME",
		Short: "Generate a signing key on the server (Ed25519)",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.createKey(cmd, client.KeyRequest{Name: name})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "key name (required)")
	requireFlags(cmd, "name")
	return cmd
}

func newKeyImportCmd(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "import FILE --name NAME",
		Short: "Import an armored OpenPGP private key (unprotected)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return g.createKey(cmd, client.KeyRequest{Name: name, Armored: string(data)})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "key name (required)")
	requireFlags(cmd, "name")
	return cmd
}

func (g *globals) createKey(cmd *cobra.Command, req client.KeyRequest) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	k, err := c.CreateKey(cmd.Context(), req)
	if err != nil {
		return err
	}
	return g.show(cmd, k, func(w io.Writer) { fmt.Fprintf(w, "key %s %s\n", k.Name, k.Fingerprint) })
}

func newKeyListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List signing keys",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			keys, err := c.ListKeys(cmd.Context())
			if err != nil {
				return err
			}
			return g.show(cmd, client.KeysResponse{Keys: nonNil(keys)}, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tFINGERPRINT\tCREATED")
				for _, k := range keys {
					fmt.Fprintf(w, "%s\t%s\t%s\n", k.Name, k.Fingerprint, k.Created.Format(time.RFC3339))
				}
			})
		},
	}
}

func newKeyExportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "export NAME",
		Short: "Print a key's armored public key",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.GetKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(cmd, k, func(w io.Writer) { io.WriteString(w, k.Public) })
		},
	}
}

func newKeyDropCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "drop NAME",
		Aliases: []string{"delete"},
		Short:   "Delete a key no publication signs with",
		Args:    nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			return c.DeleteKey(cmd.Context(), args[0])
		},
	}
}
