package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
)

// buildVersion is set at build time:
//
//	go build -ldflags "-X main.buildVersion=1.2.3" ./cmd/kiln
var buildVersion string

// version is kiln's version (client and `kiln serve` alike): the -ldflags
// one, else the module version Go recorded (go install ...@v1.2.3), else
// "dev".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionOutput is what `kiln version` prints; Server is empty when the
// server cannot be reached.
type versionOutput struct {
	Client string `json:"client"`
	Server string `json:"server,omitempty"`
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the client's version, and the server's when reachable",
		Args:  nArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := versionOutput{Client: version(), Server: g.serverVersion(cmd.Context())}
			return g.show(cmd, out, func(w io.Writer) {
				fmt.Fprintf(w, "client:\t%s\n", out.Client)
				if out.Server != "" {
					fmt.Fprintf(w, "server:\t%s\n", out.Server)
				}
			})
		},
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
