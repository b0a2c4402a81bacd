package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/spf13/cobra"
)

// show writes v as JSON with --output json, else calls text with a table
// writer over stdout.
func (g *globals) show(cmd *cobra.Command, v any, text func(w io.Writer)) error {
	if g.json() {
		return writeJSON(cmd.OutOrStdout(), v)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writePackages(w io.Writer, pkgs []client.Package) {
	fmt.Fprintln(w, "NAME\tVERSION\tARCH\tSHA256\tSIZE")
	for _, p := range pkgs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", p.Name, p.Version, p.Architecture, p.SHA256, p.Size)
	}
}

// changeSummary is the one line that reports a change to a repository, e.g.
// "stable: version 7, 120 added, 3 unchanged".
func changeSummary(repo string, ch *client.ChangeResponse) string {
	if ch.Repo != "" {
		repo = ch.Repo
	}
	parts := []string{fmt.Sprintf("version %d", ch.Version)}
	for _, c := range []struct {
		n    int
		what string
	}{{len(ch.Added), "added"}, {len(ch.Removed), "removed"}, {len(ch.Unchanged), "unchanged"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if !ch.Changed {
		parts = append(parts, "no change")
	}
	return repo + ": " + strings.Join(parts, ", ")
}

// errorLine renders err as the one line kiln prints on failure, with the
// API error code when the server gave one.
func errorLine(err error) string {
	msg := err.Error()
	var ae *client.Error
	if errors.As(err, &ae) && ae.Code != "" && !strings.Contains(msg, ae.Code) {
		msg += " (" + ae.Code + ")"
	}
	return "kiln: " + strings.Join(strings.Fields(msg), " ")
}

// about names what an error is about (`repo "stable": ...`), unless the
// message mentions it already, as the server's messages usually do.
func about(subject, mention string, err error) error {
	if err == nil || strings.Contains(err.Error(), mention) {
		return err
	}
	return fmt.Errorf("%s: %w", subject, err)
}

func aboutRepo(name string, err error) error {
	return about(fmt.Sprintf("repo %q", name), strconv.Quote(name), err)
}
