package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
)

// build is what the Go toolchain recorded in this binary
// (runtime/debug.ReadBuildInfo): nothing is set by hand at build time.
// `go build -buildvcs=true` in a git checkout records the revision and its
// commit time, and since Go 1.24 a pseudo-version made of them
// (v0.0.0-20261204041301-667de346bbca, "+dirty" for a modified work tree);
// `go install ...@v1.2.3` records v1.2.3.
type build struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"commit_time,omitempty"` // the commit's time: Go records no build time, so builds are reproducible
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// readBuild describes the running binary.
func readBuild() build {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return build{Version: "devel"}
	}
	return describeBuild(bi)
}

func describeBuild(bi *debug.BuildInfo) build {
	b := build{Version: bi.Main.Version, Go: bi.GoVersion}
	if b.Version == "" || b.Version == "(devel)" {
		b.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// version is kiln's version, client and `kiln serve` alike.
func version() string { return readBuild().Version }

// versionOutput is what `kiln version` prints; Server is empty when the
// server cannot be reached.
type versionOutput struct {
	Client build  `json:"client"`
	Server string `json:"server,omitempty"`
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the client's version, and the server's when reachable",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := versionOutput{Client: readBuild(), Server: g.serverVersion(cmd.Context())}
			return g.show(cmd, out, func(w io.Writer) { printVersion(w, out) })
		},
	}
}

func printVersion(w io.Writer, out versionOutput) {
	c := out.Client
	fmt.Fprintf(w, "client:\t%s\n", c.Version)
	if c.Revision != "" {
		dirty := ""
		if c.Modified {
			dirty = " (modified work tree)"
		}
		fmt.Fprintf(w, "revision:\t%s%s\ncommitted:\t%s\n", c.Revision, dirty, c.Time)
	}
	fmt.Fprintf(w, "go:\t%s\n", c.Go)
	if out.Server != "" {
		fmt.Fprintf(w, "server:\t%s\n", out.Server)
	}
}

// serverVersion asks the server briefly; `kiln version` must work without
// one, so any failure just leaves the server's version out.
func (g *globals) serverVersion(ctx context.Context) string {
	c, err := g.client()
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := c.Version(ctx)
	if err != nil {
		return ""
	}
	return v.Version
}
