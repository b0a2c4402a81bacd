// Package backup is the format of kiln's online database backups: one
// uncompressed tar, written while the server keeps serving, that restores
// a data directory on a new machine.
//
//	kiln.db             the bbolt database, as one read transaction saw it (Tx.WriteTo)
//	server-secret       only when asked for: the key that unseals the signing keys
//	kiln-backup.json    last: what the archive holds, with the sha256 of each file
//
// Why a tar: one file to copy or upload, readable with plain `tar`, and the
// secret is one optional member rather than a second file to keep in step.
// Why the secret is optional: the database stores signing keys sealed with
// DATA/server-secret, so a backup without it reveals no private key and may
// sit next to the blobs in the bucket; a backup with it is as sensitive as
// the signing keys themselves. Why the manifest comes last: a stream cut off
// anywhere (server stopped, connection dropped) lacks it or fails its
// checksums, so a truncated backup is never taken for a whole one.
//
// Blobs are not in the backup: they stay in the blob store (the bucket, or
// DATA/blobs), which is content-addressed and never rewritten. Published
// trees (DATA/public) are not either: they are regenerated from the
// database by `kiln publish update`.
package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Member names.
const (
	Database = "kiln.db"
	Secret   = "server-secret"
	Manifest = "kiln-backup.json"
)

// FormatVersion is written into every manifest; Read refuses others.
const FormatVersion = 1

// Info is the manifest: what the archive holds.
type Info struct {
	Format  int               `json:"format"`
	Created time.Time         `json:"created"`
	Version string            `json:"kiln_version,omitempty"`
	Files   map[string]string `json:"files"` // member name -> sha256 hex
}

// Sentinel errors.
var (
	// ErrInvalid means the archive is not a whole kiln backup: truncated,
	// a checksum that does not match, a member that does not belong.
	ErrInvalid = errors.New("not a complete kiln backup")
)

// Write streams a backup of db to w from one read transaction (writers go
// on meanwhile), with secret as a member unless it is nil.
func Write(ctx context.Context, db *bolt.DB, secret []byte, version string, w io.Writer) error {
	tw := tar.NewWriter(w)
	info := Info{Format: FormatVersion, Created: time.Now().UTC(), Version: version, Files: map[string]string{}}
	err := db.View(func(tx *bolt.Tx) error {
		return info.add(tw, Database, tx.Size(), func(w io.Writer) error {
			_, err := tx.WriteTo(ctxWriter{ctx, w})
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("backing up the database: %w", err)
	}
	if secret != nil {
		if err := info.add(tw, Secret, int64(len(secret)), func(w io.Writer) error {
			_, err := w.Write(secret)
			return err
		}); err != nil {
			return err
		}
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := info.add(tw, Manifest, int64(len(b)), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	return tw.Close()
}

// add writes one member of size bytes that body writes, recording its sum.
func (info *Info) add(tw *tar.Writer, name string, size int64, body func(io.Writer) error) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: info.Created, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	h := sha256.New()
	if err := body(io.MultiWriter(tw, h)); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if name != Manifest {
		info.Files[name] = hex.EncodeToString(h.Sum(nil))
	}
	return nil
}

// ctxWriter stops a long copy when ctx is done (the client went away).
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Read reads a backup from r, handing each data member to fn as it streams
// (fn must read it to the end), and returns the manifest once every
// member's checksum is verified. Any error, fn's included, means the
// archive must not be used: whatever fn wrote is to be discarded.
func Read(r io.Reader, fn func(name string, r io.Reader) error) (*Info, error) {
	tr := tar.NewReader(r)
	sums := map[string]hash.Hash{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: it ends before its manifest %s", ErrInvalid, Manifest)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		switch name := hdr.Name; {
		case name == Manifest:
			return readManifest(tr, sums)
		case (name == Database || name == Secret) && sums[name] == nil:
			h := sha256.New()
			sums[name] = h
			if err := fn(name, io.TeeReader(invalidOnError{tr}, h)); err != nil {
				return nil, err
			}
			if _, err := io.Copy(h, tr); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
			}
		default:
			return nil, fmt.Errorf("%w: unexpected member %q", ErrInvalid, name)
		}
	}
}

func readManifest(r io.Reader, sums map[string]hash.Hash) (*Info, error) {
	var info Info
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrInvalid, err)
	}
	if info.Format != FormatVersion {
		return nil, fmt.Errorf("%w: format %d, this kiln reads %d", ErrInvalid, info.Format, FormatVersion)
	}
	if _, ok := info.Files[Database]; !ok {
		return nil, fmt.Errorf("%w: it holds no %s", ErrInvalid, Database)
	}
	if len(info.Files) != len(sums) {
		return nil, fmt.Errorf("%w: the manifest lists %d files, the archive holds %d", ErrInvalid, len(info.Files), len(sums))
	}
	for name, want := range info.Files {
		h := sums[name]
		if h == nil || hex.EncodeToString(h.Sum(nil)) != want {
			return nil, fmt.Errorf("%w: %s does not match its checksum", ErrInvalid, name)
		}
	}
	return &info, nil
}

// invalidOnError marks a failure to read the archive as ErrInvalid, so
// that it is told apart from fn's own failures (a full disk).
type invalidOnError struct{ r io.Reader }

func (v invalidOnError) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return n, err
}
