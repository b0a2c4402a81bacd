package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-repo/kiln/publish/sign"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

// Tree writes published apt trees under Root, a plain directory that kiln
// and nginx serve alike:
//
//	Root/<prefix>/
//	├── pool/<sha[:2]>/<sha>/<name>_<ver>_<arch>.deb   hard link to the blob
//	└── dists/<dist>/
//	    ├── InRelease, Release, Release.gpg             written last
//	    ├── key.asc                                     the signing key, public
//	    └── <comp>/binary-<arch>/Packages{,.gz,.xz}
//	        └── by-hash/<ALG>/<hex>                     immutable copies
//
// Every file is written to a temp name and renamed into place: indexes and
// their by-hash copies first, the Release files last, so a client never
// sees a Release whose files are not all there, and one that read an older
// InRelease still finds its indexes by hash.
type Tree struct {
	Root  string
	Blobs storage.Blobs
}

// Input is one distribution to write.
type Input struct {
	Pub        *repo.Publication
	Components map[string][]*repo.Package
	Key        *sign.Key // nil: unsigned
	Now        time.Time
}

// Write publishes in: pool links for new packages, indexes, Release files.
func (t *Tree) Write(ctx context.Context, in Input) error {
	base := filepath.Join(t.Root, filepath.FromSlash(in.Pub.Prefix))
	files, err := t.indexes(in)
	if err != nil {
		return err
	}
	for _, pkgs := range in.Components {
		if err := t.linkPool(ctx, base, pkgs); err != nil {
			return err
		}
	}
	dist := filepath.Join(base, "dists", in.Pub.Distribution)
	for _, f := range ByHash(files) {
		if err := writeOnce(filepath.Join(dist, filepath.FromSlash(f.Path)), f.Data); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := writeAtomic(filepath.Join(dist, filepath.FromSlash(f.Path)), f.Data); err != nil {
			return err
		}
	}
	return t.release(dist, in, files)
}

func (t *Tree) indexes(in Input) ([]IndexFile, error) {
	var files []IndexFile
	for _, src := range in.Pub.Sources {
		f, err := BuildIndexes(src.Component, in.Pub.Architectures, in.Components[src.Component])
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	return files, nil
}

// release writes key.asc, then Release.gpg and Release, then InRelease.
func (t *Tree) release(dist string, in Input, files []IndexFile) error {
	r := Release{Origin: in.Pub.Origin, Label: in.Pub.Label, Suite: in.Pub.Suite, Codename: in.Pub.Codename,
		Date: in.Now, Architectures: in.Pub.Architectures}
	if r.Codename == "" {
		r.Codename = in.Pub.Distribution
	}
	for _, src := range in.Pub.Sources {
		r.Components = append(r.Components, src.Component)
	}
	text, err := r.Render(files)
	if err != nil {
		return err
	}
	if in.Key == nil {
		for _, name := range []string{"InRelease", "Release.gpg", "key.asc"} {
			os.Remove(filepath.Join(dist, name)) // an unsigned publication has none
		}
		return writeAtomic(filepath.Join(dist, "Release"), text)
	}
	return signedRelease(dist, in.Key, text)
}

func signedRelease(dist string, key *sign.Key, text []byte) error {
	pub, err := key.PublicArmored()
	if err != nil {
		return err
	}
	detached, err := key.DetachSign(text)
	if err != nil {
		return err
	}
	inline, err := key.ClearSign(text)
	if err != nil {
		return err
	}
	for _, f := range []IndexFile{{"key.asc", pub}, {"Release.gpg", detached}, {"Release", text}, {"InRelease", inline}} {
		if err := writeAtomic(filepath.Join(dist, f.Path), f.Data); err != nil {
			return err
		}
	}
	return nil
}

// linkPool puts each package new to this prefix into its pool: one hard link
// from the blob store (a copy when the blob is not a local file, or lives
// on another filesystem). Packages already there cost a stat.
func (t *Tree) linkPool(ctx context.Context, base string, pkgs []*repo.Package) error {
	for _, p := range pkgs {
		dst := filepath.Join(base, filepath.FromSlash(PoolPath(p)))
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := t.placeBlob(ctx, p.Digest(), dst); err != nil {
			return fmt.Errorf("publishing %s: %w", PoolPath(p), err)
		}
	}
	return nil
}

func (t *Tree) placeBlob(ctx context.Context, d storage.Digest, dst string) error {
	if loc, ok := t.Blobs.(storage.Locator); ok {
		src, err := loc.Path(ctx, d)
		if err == nil && os.Link(src, dst) == nil {
			return nil
		}
	}
	rc, err := t.Blobs.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	return writeStream(dst, rc)
}

// writeOnce writes an immutable file (a by-hash copy) unless it exists.
func writeOnce(path string, data []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return writeAtomic(path, data)
}

func writeAtomic(path string, data []byte) error {
	return writeStream(path, bytes.NewReader(data))
}

// writeStream writes r to path by temp file, fsync and rename.
func writeStream(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Drop removes a distribution's dists/ tree. Pool files stay: other
// distributions under the prefix may list them.
func (t *Tree) Drop(prefix, dist string) error {
	return os.RemoveAll(filepath.Join(t.Root, filepath.FromSlash(prefix), "dists", dist))
}
