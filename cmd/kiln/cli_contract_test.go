package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commands is every runnable command of the CLI but the root.
func commands(t *testing.T) []*cobra.Command {
	t.Helper()
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && c.HasParent() && !c.Hidden && !c.HasSubCommands() {
			out = append(out, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRootCmd(func(string) string { return "" }))
	if len(out) < 60 {
		t.Fatalf("found %d commands, want the whole CLI", len(out))
	}
	return out
}

// placeholders are positional arguments that satisfy the leading
// UPPERCASE words of a command's usage line (NAME, SRC DST, ...).
func placeholders(c *cobra.Command) []string {
	var args []string
	for _, w := range strings.Fields(c.Use)[1:] {
		if w != strings.ToUpper(w) || strings.ContainsAny(w[:1], "-[(") {
			break
		}
		args = append(args, "x"+strings.ToLower(strings.Trim(w, ".")))
	}
	return args
}

func requiredFlags(c *cobra.Command) []string {
	var req []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if v := f.Annotations[cobra.BashCompOneRequiredFlag]; len(v) > 0 && v[0] == "true" {
			req = append(req, "--"+f.Name)
		}
	})
	return req
}

// TestUsageErrorsExitTwo walks every command: one that needs arguments or
// flags, run without them, exits 2 with one line on stderr; one that
// needs flags, run with its arguments but without the flags, exits 2
// naming each missing flag. No server is reached (KILN_URL points nowhere).
func TestUsageErrorsExitTwo(t *testing.T) {
	env := map[string]string{"KILN_URL": "http://127.0.0.1:1", "KILN_TOKEN": "x"}
	checked := 0
	for _, c := range commands(t) {
		path := strings.Fields(c.CommandPath())[1:]
		req := requiredFlags(c)
		if c.Args(c, nil) != nil || len(req) > 0 {
			checked++
			expectUsage(t, env, path, nil)
		}
		if len(req) == 0 {
			continue
		}
		args := append(slices.Clone(path), placeholders(c)...)
		stderr := expectUsage(t, env, args, nil)
		for _, f := range req {
			if !strings.Contains(stderr, f) {
				t.Errorf("kiln %s: the error does not name %s: %q", strings.Join(args, " "), f, stderr)
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d commands need arguments or flags", checked)
	}
	// And the usage errors found by hand before: unknown verbs and flags,
	// a bad --output, a missing conditional argument.
	for _, args := range [][]string{{"repo", "frobnicate"}, {"repo", "list", "--frob"}, {"repo", "list", "-o", "yaml"},
		{"mirror", "create", "debian", "http://deb.debian.org/debian"}, {"image", "find", "web-base", "--os", "debian"},
		{"completion"}, {"completion", "tcsh"}} {
		expectUsage(t, env, args, nil)
	}
}

func expectUsage(t *testing.T, env map[string]string, args, _ []string) string {
	t.Helper()
	code, _, stderr := runIn(context.Background(), env, args...)
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "kiln: ") {
		t.Errorf("kiln %s: exit %d, stderr %q; want exit 2 and one line", strings.Join(args, " "), code, stderr)
	}
	return stderr
}

// TestEveryCommandHasExample: `kiln help COMMAND` shows an example of each
// runnable command, and the example runs that command; the examples table
// names no command that does not exist.
func TestEveryCommandHasExample(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands(t) {
		path := c.CommandPath()
		seen[path] = true
		if !strings.Contains(c.Example, path+" ") && !strings.HasSuffix(strings.TrimSpace(c.Example), path) {
			t.Errorf("%s: no example that runs it: %q", path, c.Example)
		}
	}
	for path := range examples {
		if !seen[path] {
			t.Errorf("examples names %q, which is no command", path)
		}
	}
}

// TestCompletionFromServer: the shell completion offers the names a
// running server has: repositories, snapshots, publications (prefix, then
// distribution), mirrors, images and their versions, keys, groups.
func TestCompletionFromServer(t *testing.T) {
	env, _ := liveServer(t)
	build := t.TempDir()
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "create", "testing")
	mustRun(t, env, "snapshot", "create", "stable-1", "--from", "stable")
	mustRun(t, env, "key", "generate", "--name", "release")
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "none")
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "trixie",
		"--component", "main=testing", "--arch", "amd64", "--sign", "none")
	mustRun(t, env, "mirror", "create", "upstream", "http://127.0.0.1:1/debian", "bookworm", "--component", "main", "--arch", "amd64", "--ignore-signatures")
	for _, v := range []string{"2026.11.01-1", "2026.11.21-3"} {
		mustRun(t, env, "image", "push", "web-base", "--version", v, "--os", "debian", "--os-version", "12",
			"--arch", "amd64", "--artifact", "aws:us-east-1:ami-"+strings.ReplaceAll(v, ".", ""))
	}
	mustRun(t, env, "group", "record", "myapp-prod-v001", "--image", "web-base@2026.11.21-3")
	os.WriteFile(filepath.Join(build, "x.deb"), nil, 0o644)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"repo", "show", ""}, "stable testing"},
		{[]string{"repo", "copy", "stable", ""}, "stable testing"},
		{[]string{"snapshot", "show", ""}, "stable-1"},
		{[]string{"snapshot", "create", "s2", "--from", ""}, "mirror:upstream stable testing"},
		{[]string{"publish", "update", ""}, "debian"},
		{[]string{"publish", "update", "debian", ""}, "bookworm trixie"},
		{[]string{"publish", "create", "--sign", ""}, "none release"},
		{[]string{"mirror", "update", ""}, "upstream"},
		{[]string{"image", "show", ""}, "web-base"},
		{[]string{"image", "promote", "web-base", ""}, "2026.11.01-1 2026.11.21-3"},
		{[]string{"key", "export", ""}, "release"},
		{[]string{"group", "show", ""}, "myapp-prod-v001"},
		{[]string{"group", "record", "myapp-prod-v002", "--image", ""}, "web-base@2026.11.01-1 web-base@2026.11.21-3"},
		{[]string{"repo", "show", "stable", ""}, ""},
	} {
		got, directive := complete(t, env, tc.args...)
		if strings.Join(got, " ") != tc.want || directive != ":4" {
			t.Errorf("complete kiln %s: %q %s, want %q :4", strings.Join(tc.args, " "), got, directive, tc.want)
		}
	}
	// After the repository, repo add completes file names (directive 0).
	if _, d := complete(t, env, "repo", "add", "stable", ""); d != ":0" {
		t.Errorf("repo add FILE: directive %s, want :0 (files)", d)
	}
	// The script itself, for each shell.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out := mustRun(t, env, "completion", sh)
		if !strings.Contains(out, "__complete") {
			t.Errorf("kiln completion %s: no script:\n%.200s", sh, out)
		}
	}
}

// complete runs cobra's hidden __complete as the shell scripts do and
// returns the candidates and the directive line.
func complete(t *testing.T, env map[string]string, args ...string) ([]string, string) {
	t.Helper()
	out := mustRun(t, env, append([]string{"__complete"}, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// cobra suggests a command's required flags too; only names count here.
	names := slices.DeleteFunc(lines[:len(lines)-1], func(l string) bool { return strings.HasPrefix(l, "-") })
	return names, lines[len(lines)-1]
}
