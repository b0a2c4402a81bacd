// Command kiln is kiln's CLI: `kiln serve` runs the server, every other
// command is a thin client of a running server's REST API (api/client).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// Ingest makes many short-lived allocations per file; a lazier collector
	// trades some heap for markedly less CPU (measured with kiln-bench),
	// and a soft limit keeps that trade from growing the process past
	// ~100 MB. GOGC and GOMEMLIMIT in the environment still win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(96 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one kiln command line and returns the exit code: 0, 2 for a
// usage error, 1 for any other failure, reported in one line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	root := newRootCmd(getenv)
	root.SetArgs(append([]string{}, args...))
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if !errors.Is(err, errReported) {
		fmt.Fprintln(stderr, errorLine(err))
	}
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}
