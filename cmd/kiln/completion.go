package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api/client"
)

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script (names of repositories, snapshots, ... come from the server)",
		Long: `Print the completion script of a shell. Loaded, it completes commands and
flags, and the names of repositories, snapshots, publications, mirrors, keys,
images and server groups, asked of the server in KILN_URL with KILN_TOKEN.`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, w := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(w)
			}
			return usageError{fmt.Errorf("no completion for shell %q: bash, zsh, fish or powershell", args[0])}
		},
	}
}

// names lists, from the server, the names one argument can take; args are
// the arguments before it.
type names func(ctx context.Context, c *client.Client, args []string) ([]string, error)

// completeArgs says what each positional argument of a command is, by
// command path; rest completes every argument after those (nil: none).
var completeArgs = map[string]struct {
	args []names
	rest names
	file bool // after args: file names (kiln repo add stable build/*.deb)
}{
	"kiln repo add":      {args: []names{repoNames}, file: true},
	"kiln repo remove":   {args: []names{repoNames}},
	"kiln repo show":     {args: []names{repoNames}},
	"kiln repo search":   {args: []names{repoNames}},
	"kiln repo versions": {args: []names{repoNames}},
	"kiln repo diff":     {args: []names{repoNames}},
	"kiln repo delete":   {args: []names{repoNames}},
	"kiln repo edit":     {args: []names{repoNames}},
	"kiln repo prune":    {args: []names{repoNames}},
	"kiln repo copy":     {args: []names{repoNames, repoNames}},
	"kiln repo move":     {args: []names{repoNames, repoNames}},

	"kiln mirror update": {args: []names{mirrorNames}},
	"kiln mirror show":   {args: []names{mirrorNames}},
	"kiln mirror edit":   {args: []names{mirrorNames}},
	"kiln mirror drop":   {args: []names{mirrorNames}},

	"kiln snapshot show":   {args: []names{snapshotNames}},
	"kiln snapshot delete": {args: []names{snapshotNames}},
	"kiln snapshot diff":   {args: []names{snapshotNames, snapshotNames}},
	"kiln snapshot filter": {args: []names{nil, snapshotNames}},
	"kiln snapshot merge":  {args: []names{nil}, rest: snapshotNames},

	"kiln key export": {args: []names{keyNames}},
	"kiln key drop":   {args: []names{keyNames}},

	"kiln publish update": {args: []names{prefixNames, distributionNames}},
	"kiln publish switch": {args: []names{prefixNames, distributionNames}},
	"kiln publish drop":   {args: []names{prefixNames, distributionNames}},

	"kiln image show":     {args: []names{imageNames, imageVersions}},
	"kiln image delete":   {args: []names{imageNames, imageVersions}},
	"kiln image outdated": {args: []names{imageNames, imageVersions}},
	"kiln image promote":  {args: []names{imageNames, imageVersions}},
	"kiln image revoke":   {args: []names{imageNames, imageVersions}},
	"kiln image list":     {args: []names{imageNames}},
	"kiln image find":     {args: []names{imageNames}},
	"kiln image prune":    {args: []names{imageNames}},
	"kiln image push":     {args: []names{imageNames}},

	"kiln group show":  {args: []names{groupNames}},
	"kiln group event": {args: []names{groupNames}},
	"kiln group drift": {args: []names{groupNames}},
	"kiln group diff":  {args: []names{groupNames, groupNames}},
}

// completeFlags completes flag values that name things on the server.
var completeFlags = map[string]map[string]names{
	"kiln snapshot create": {"from": sourceNames},
	"kiln publish create":  {"sign": signNames},
	"kiln image push":      {"base": imageRefs},
	"kiln group record":    {"image": imageRefs},
	"kiln group which":     {"image": imageRefs},
}

// setCompletions attaches the server-backed completions of the tables to
// the commands under cmd.
func setCompletions(g *globals, cmd *cobra.Command) {
	if spec, ok := completeArgs[cmd.CommandPath()]; ok {
		cmd.ValidArgsFunction = func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			var fn names
			switch {
			case len(args) < len(spec.args):
				fn = spec.args[len(args)]
			case spec.file:
				return nil, cobra.ShellCompDirectiveDefault
			default:
				fn = spec.rest
			}
			return g.complete(c, fn, args)
		}
	}
	for flag, fn := range completeFlags[cmd.CommandPath()] {
		cmd.RegisterFlagCompletionFunc(flag, func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return g.complete(c, fn, args)
		})
	}
	for _, c := range cmd.Commands() {
		setCompletions(g, c)
	}
}

// complete asks the server, briefly; a completion that cannot reach it
// offers nothing rather than file names.
func (g *globals) complete(cmd *cobra.Command, fn names, args []string) ([]string, cobra.ShellCompDirective) {
	const none = cobra.ShellCompDirectiveNoFileComp
	if fn == nil || g.resolve() != nil {
		return nil, none
	}
	c, err := g.client()
	if err != nil {
		return nil, none
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
	defer cancel()
	out, err := fn(ctx, c, args)
	if err != nil {
		cobra.CompErrorln(errorLine(err))
		return nil, none
	}
	slices.Sort(out)
	return slices.Compact(out), none
}

func repoNames(ctx context.Context, c *client.Client, _ []string) ([]string, error) {
	rs, err := c.ListRepos(ctx)
	return collect(rs, func(r client.Repo) string { return r.Name }), err
}

func mirrorNames(ctx context.Context, c *client.Client, _ []string) ([]string, error) {
	ms, err := c.ListMirrors(ctx)
	return collect(ms, func(m client.Mirror) string { return m.Name }), err
}

func snapshotNames(ctx context.Context, c *client.Client, _ []string) ([]string, error) {
	ss, err := c.ListSnapshots(ctx)
	return collect(ss, func(s client.Snapshot) string { return s.Name }), err
}

func keyNames(ctx context.Context, c *client.Client, _ []string) ([]string, error) {
	ks, err := c.ListKeys(ctx)
	return collect(ks, func(k client.Key) string { return k.Name }), err
}

// signNames are what --sign takes: a key, or none.
func signNames(ctx context.Context, c *client.Client, args []string) ([]string, error) {
	ks, err := keyNames(ctx, c, args)
	return append(ks, "none"), err
}

// sourceNames are what snapshot create --from takes: a repository, or
// mirror:NAME.
func sourceNames(ctx context.Context, c *client.Client, args []string) ([]string, error) {
	rs, err := repoNames(ctx, c, args)
	if err != nil {
		return nil, err
	}
	ms, err := mirrorNames(ctx, c, args)
	for _, m := range ms {
		rs = append(rs, "mirror:"+m)
	}
	return rs, err
}

func prefixNames(ctx context.Context, c *client.Client, _ []string) ([]string, error) {
	ps, err := c.ListPublications(ctx)
	return collect(ps, func(p client.Publication) string { return p.Prefix }), err
}

// distributionNames are the distributions published under args[0].
func distributionNames(ctx context.Context, c *client.Client, args []string) ([]string, error) {
	ps, err := c.ListPublications(ctx)
	ps = slices.DeleteFunc(ps, func(p client.Publication) bool { return p.Prefix != args[0] })
	return collect(ps, func(p client.Publication) string { return p.Distribution }), err
}

func imageNames(ctx context.Context, c *client.Client, _ []string) ([]string, error) {
	is, err := c.ListImages(ctx, "")
	if err != nil {
		return nil, err
	}
	return collect(is.Images, func(i client.Image) string { return i.Name }), nil
}

// imageVersions are the versions of image args[0].
func imageVersions(ctx context.Context, c *client.Client, args []string) ([]string, error) {
	is, err := c.ListImages(ctx, args[0])
	if err != nil {
		return nil, err
	}
	return collect(is.Images, func(i client.Image) string { return i.Version }), nil
}

// imageRefs are every image version as NAME@VERSION (--image, --base).
func imageRefs(ctx context.Context, c *client.Client, _ []string) ([]string, error) {
	is, err := c.ListImages(ctx, "")
	if err != nil {
		return nil, err
	}
	return collect(is.Images, func(i client.Image) string { return i.Name + "@" + i.Version }), nil
}

func groupNames(ctx context.Context, c *client.Client, _ []string) ([]string, error) {
	gs, err := c.ListGroups(ctx, client.GroupFilter{})
	if err != nil {
		return nil, err
	}
	return collect(gs.Groups, func(g client.Group) string { return g.Name }), nil
}

func collect[T any](items []T, name func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if n := name(it); !strings.ContainsAny(n, " \t\n") {
			out = append(out, n)
		}
	}
	return out
}
