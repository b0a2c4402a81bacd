package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const defaultURL = "http://127.0.0.1:8080"

// globals are the settings every client command shares: the persistent
// flags, resolved against the environment (flag > KILN_* > default).
type globals struct {
	getenv func(string) string
	flags  *pflag.FlagSet
	url    string
	token  string
	output string
	caCert string
}

func newRootCmd(getenv func(string) string) *cobra.Command {
	g := &globals{getenv: getenv}
	root := &cobra.Command{
		Use:               "kiln",
		Short:             "Artifact and package repository for immutable infrastructure",
		Version:           version(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              cobra.ArbitraryArgs,
		RunE:              runNoun,
		PersistentPreRunE: func(*cobra.Command, []string) error { return g.resolve() },
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	g.flags = root.PersistentFlags()
	g.flags.StringVar(&g.url, "url", defaultURL, "kiln server URL (env KILN_URL)")
	g.flags.StringVar(&g.token, "token", "", "API token (env KILN_TOKEN)")
	g.flags.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	g.flags.StringVar(&g.caCert, "ca-cert", "", "PEM file of a CA to trust for an https server, besides the system's (env KILN_CA_CERT)")
	root.AddCommand(newVersionCmd(g), newTokenCmd(g), newAuditCmd(g), newRepoCmd(g), newMirrorCmd(g), newSnapshotCmd(g), newKeyCmd(g), newPublishCmd(g),
		newImageCmd(g), newGroupCmd(g), newAdvisoryCmd(g), newGCCmd(g), newFsckCmd(g), newBackupCmd(g), newRestoreCmd(getenv), newServeCmd(getenv))
	root.CompletionOptions.DisableDefaultCmd = true // newCompletionCmd writes to the command's own output
	root.AddCommand(newCompletionCmd())
	checkRequired(root)
	setExamples(root)
	setCompletions(g, root)
	return root
}

// resolve fills what no flag set from the environment and checks --output.
func (g *globals) resolve() error {
	if v := g.getenv("KILN_URL"); v != "" && !g.flags.Changed("url") {
		g.url = v
	}
	if v := g.getenv("KILN_TOKEN"); v != "" && !g.flags.Changed("token") {
		g.token = v
	}
	if v := g.getenv("KILN_CA_CERT"); v != "" && !g.flags.Changed("ca-cert") {
		g.caCert = v
	}
	if g.output != "text" && g.output != "json" {
		return usageError{fmt.Errorf("--output must be text or json, not %q", g.output)}
	}
	return nil
}

func (g *globals) json() bool { return g.output == "json" }

func (g *globals) client() (*client.Client, error) {
	opts := []client.Option{client.WithUserAgent("kiln/" + version())}
	if g.caCert != "" {
		pool, err := client.CertPool(g.caCert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		opts = append(opts, client.WithRootCAs(pool))
	}
	return client.New(g.url, g.token, opts...)
}

// newNounCmd groups the verbs of one noun (`kiln repo ...`).
func newNounCmd(use, short string, verbs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: runNoun}
	c.AddCommand(verbs...)
	return c
}

// runNoun shows help for a bare noun and refuses an unknown verb; cobra would
// print help and exit 0 for both, hiding a typo in a CI script.
func runNoun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
}

// usageError marks a wrong command line (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// nArgs accepts between min and max positional arguments (max < 0: any).
func nArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			return usageError{fmt.Errorf("usage: %s", cmd.UseLine())}
		}
		return nil
	}
}

// requireFlags marks flags a command cannot run without, with cobra's
// annotation (help and shell completion show it); checkRequired turns a
// missing one into a usage error.
func requireFlags(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(err) // a flag name misspelt in this file: a programming error
		}
	}
}

// checkRequired makes every command check its required flags together
// with its arguments, as a usage error (exit 2) naming them and the usage
// line: cobra's own check comes later and is a plain error (exit 1). A
// required flag given empty counts as missing.
func checkRequired(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		checkRequired(c)
	}
	args := cmd.Args
	cmd.Args = func(c *cobra.Command, a []string) error {
		if args != nil {
			if err := args(c, a); err != nil {
				return err
			}
		}
		var missing []string
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if req := f.Annotations[cobra.BashCompOneRequiredFlag]; len(req) > 0 && req[0] == "true" && (!f.Changed || f.Value.String() == "" || f.Value.String() == "[]") {
				missing = append(missing, "--"+f.Name)
			}
		})
		if len(missing) > 0 {
			return usageError{fmt.Errorf("missing %s (usage: %s)", strings.Join(missing, ", "), c.UseLine())}
		}
		return nil
	}
}

// errReported is returned by a command that has already printed its
// failures; it only sets the exit code.
var errReported = errors.New("failures reported")
