// Command kiln-bench measures kiln against the tools operators would pick
// instead, on the same machine in the same run.
//
//	go run ./cmd/kiln-bench ingest -n 10000
//
// ingest: generates n small .deb files (deterministic, in Go), then times one
// `kiln repo add` of the whole directory into a running `kiln serve` (built
// from this checkout) and `aptly repo add` of the same directory, and reports
// wall times, their ratio and the kiln server's peak RSS.
//
//	go run ./cmd/kiln-bench publish -n 10000
//
// publish: the same n packages published by kiln, aptly and reprepro (full
// publish unsigned and signed, then republish after adding one package);
// see publish.go.
//
//	go run ./cmd/kiln-bench mirror -n 10000 -stanzas 60000
//
// mirror: kiln mirror update against aptly mirror update of the same
// upstream trees served on loopback (a full mirror of n .debs that
// reprepro published, and a filter with dependencies over an index of
// stanzas packages), first update and one with nothing new; see mirror.go.
//
//	go run ./cmd/kiln-bench registry
//
// registry: starts kiln serve and Debian's docker-registry (distribution
// 2.8) on loopback and measures, in the same run with the same client,
// single-stream push and pull of a 256 MiB blob (monolithic and in 8 MiB
// chunks or ranges) and 1 MiB pulls by 8 concurrent clients, as MiB/s with
// the kiln/distribution ratio.
//
//	go run ./cmd/kiln-bench registry -storage s3 [-redirect]
//
// The same with both servers on one MinIO on loopback (kiln serve --storage
// s3, distribution's s3 driver), each in its own bucket; -redirect has
// both answer blob GETs with 307 to a presigned URL.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kiln-bench ingest|publish [-n N] [-versions V] [-rounds R] [-tools LIST] [-keep] | mirror [-n N] [-stanzas S] [-rounds R] [-only TEXT] [-keep] | registry [-keep] [-only TEXT] [-storage fs|s3] [-redirect]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "ingest":
		fs := flag.NewFlagSet("ingest", flag.ExitOnError)
		n := fs.Int("n", 10000, "number of .deb files")
		keep := fs.Bool("keep", false, "keep the work directory")
		fs.Parse(os.Args[2:])
		if err := runIngest(*n, *keep); err != nil {
			fmt.Fprintln(os.Stderr, "kiln-bench:", err)
			os.Exit(1)
		}
	case "publish":
		fs := flag.NewFlagSet("publish", flag.ExitOnError)
		n := fs.Int("n", 10000, "number of .deb files")
		versions := fs.Int("versions", 1, "versions per package name (reprepro publishes one per architecture)")
		rounds := fs.Int("rounds", 3, "rounds (medians are reported)")
		keep := fs.Bool("keep", false, "keep the work directory")
		only := fs.String("tools", "", "comma-separated subset of kiln,aptly,reprepro,reprepro+xz (default: all)")
		fs.Parse(os.Args[2:])
		if err := runPublish(*n, *versions, *rounds, *keep, *only); err != nil {
			fmt.Fprintln(os.Stderr, "kiln-bench:", err)
			os.Exit(1)
		}
	case "mirror":
		fs := flag.NewFlagSet("mirror", flag.ExitOnError)
		n := fs.Int("n", 10000, "number of .deb files of the full mirror")
		stanzas := fs.Int("stanzas", 60000, "stanzas of the filtered mirror's index")
		rounds := fs.Int("rounds", 3, "rounds (medians are reported)")
		keep := fs.Bool("keep", false, "keep the work directory")
		only := fs.String("only", "", "run only the cases whose name contains this (full, filter)")
		fs.Parse(os.Args[2:])
		if err := runMirror(*n, *stanzas, *rounds, *keep, *only); err != nil {
			fmt.Fprintln(os.Stderr, "kiln-bench:", err)
			os.Exit(1)
		}
	case "registry":
		fs := flag.NewFlagSet("registry", flag.ExitOnError)
		keep := fs.Bool("keep", false, "keep the work directory")
		only := fs.String("only", "", "run only the figures whose name contains this")
		storage := fs.String("storage", "fs", "where both servers keep blobs: fs, or s3 (one MinIO on loopback, distribution's s3 driver)")
		redirect := fs.Bool("redirect", false, "with -storage s3: pulls answer 307 to a presigned URL (kiln --s3-redirect, distribution's redirect)")
		fs.Parse(os.Args[2:])
		if err := runRegistry(*keep, *only, *storage, *redirect); err != nil {
			fmt.Fprintln(os.Stderr, "kiln-bench:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "kiln-bench: unknown benchmark %q\n", os.Args[1])
		os.Exit(2)
	}
}
