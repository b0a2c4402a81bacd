package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/repo/backup"
)

func newBackupCmd(g *globals) *cobra.Command {
	var to string
	var includeSecret bool
	cmd := &cobra.Command{
		Use:   "backup --to FILE|s3:NAME [--include-secret]",
		Short: "Write a consistent copy of the server's database to FILE (online)",
		Long: `Download a backup of the server's database, taken from one read
transaction while the server goes on serving, and write it to FILE
atomically (mode 0600): a tar of kiln.db and kiln-backup.json (checksums).
It is checked whole before FILE appears; a cut-off download leaves nothing.

With --to s3:NAME the server writes the same tar into the bucket of its
publish endpoint NAME (s3-publish-endpoint), as
backups/kiln-backup-<UTC time>.tar; the object appears only whole.

The signing keys in the database are sealed with the server's
DATA/server-secret, which goes into the backup only with --include-secret:
without it, the backup reveals no private key (keep the secret apart, once);
with it, guard the backup like the keys themselves.

Blobs and published trees are not in the backup: restore with 'kiln
restore' onto the same blob store, then 'kiln publish update'. Needs an
admin token.`,
		Args: nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if strings.HasPrefix(to, "s3:") {
				res, err := c.BackupTo(cmd.Context(), to, includeSecret)
				if err != nil {
					return err
				}
				return g.show(cmd, res, func(w io.Writer) {
					note := ", without the server secret"
					if res.IncludesSecret {
						note = ", with the server secret"
					}
					fmt.Fprintf(w, "wrote %s %s (%s%s)\n", to, res.Key, humanBytes(res.Bytes), note)
				})
			}
			body, err := c.Backup(cmd.Context(), includeSecret)
			if err != nil {
				return err
			}
			defer body.Close()
			info, size, err := backup.Save(body, to)
			if err != nil {
				return fmt.Errorf("backup to %s: %w", to, err)
			}
			return g.show(cmd, map[string]any{"file": to, "bytes": size, "manifest": info}, func(w io.Writer) {
				fmt.Fprintf(w, "wrote %s (%s, database of %s%s)\n", to, humanBytes(size), info.Created.Format("2006-01-02 15:04:05Z"), secretNote(info))
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "file to write the backup to, or s3:NAME: the bucket of the server's publish endpoint NAME (required)")
	requireFlags(cmd, "to")
	cmd.Flags().BoolVar(&includeSecret, "include-secret", false, "include DATA/server-secret, which unseals the signing keys")
	return cmd
}

func secretNote(info *backup.Info) string {
	if _, ok := info.Files[backup.Secret]; ok {
		return ", with the server secret"
	}
	return ", without the server secret"
}

func newRestoreCmd(getenv func(string) string) *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "restore FROM [--data DIR]",
		Short: "Make a new data directory from a backup (offline: before 'kiln serve')",
		Long: `Restore the database of backup FROM (written by 'kiln backup') into the
data directory DIR (default: KILN_DATA, else ./kiln-data), which must not
have a database yet. The server secret comes from the backup if it has one,
else it must already be in DIR/server-secret when the database holds
signing keys. Nothing is written unless the whole backup checks out.

Then start 'kiln serve --data DIR' on the same blob store as the old server
(the same bucket and prefix, or a copy of its DATA/blobs), and run 'kiln
publish update PREFIX DIST' for each publication to regenerate its tree.`,
		Args: nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if data == "" {
				data = defaults(getenv).Data
				if v := getenv("KILN_DATA"); v != "" {
					data = v
				}
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			info, err := backup.Restore(f, data)
			if err != nil {
				return fmt.Errorf("restore into %s: %w", data, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored the database of %s into %s%s\n", info.Created.Format("2006-01-02 15:04:05Z"), data, secretNote(info))
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "data directory to create (default KILN_DATA, else ./kiln-data)")
	return cmd
}
