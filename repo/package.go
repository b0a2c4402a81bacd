package repo

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/storage"
)

// Package is a .deb that kiln holds. Its blob is named by SHA256; the other
// sums are kept for the Packages index.
type Package struct {
	Name         string     `json:"name"`
	Version      string     `json:"version"`
	Architecture string     `json:"architecture"`
	SHA256       string     `json:"sha256"`
	Size         int64      `json:"size"`
	MD5          string     `json:"md5"`
	SHA1         string     `json:"sha1"`
	SHA512       string     `json:"sha512"`
	Filename     string     `json:"filename,omitempty"`
	Control      deb.Stanza `json:"control"`
	Created      time.Time  `json:"created"`
}

// Field returns a control field, case-insensitively, so queries can match
// any field of the package.
func (p *Package) Field(name string) (string, bool) {
	return p.Control.Get(name)
}

// Identity is the (Package, Version, Architecture) key, unique in a repository.
func (p *Package) Identity() string {
	return p.Name + "\x00" + p.Version + "\x00" + p.Architecture
}

// Digest is the package's blob digest.
func (p *Package) Digest() storage.Digest { return storage.Digest("sha256:" + p.SHA256) }

// Ingest stores one .deb: an Ingester of one file.
func (s *Store) Ingest(ctx context.Context, r io.Reader, filename string) (*Package, error) {
	in := s.NewIngester()
	defer in.Abort()
	if _, err := in.Add(ctx, r, filename); err != nil {
		return nil, err
	}
	ps, err := in.Commit(ctx)
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// Ingester takes many .debs into the store as one unit: their blobs share
// one durability barrier and their records one transaction, so a CI job's
// hundreds of packages cost one sync, not hundreds.
type Ingester struct {
	s     *Store
	batch storage.Batch
	pkgs  []*Package
}

// NewIngester starts an ingest. Call Commit to keep what was added, and
// Abort (deferred) to drop it otherwise.
func (s *Store) NewIngester() *Ingester {
	return &Ingester{s: s, batch: storage.NewBatch(s.blobs)}
}

// Add streams one .deb into the batch, reading its control file on the way.
// A file that is not a valid Debian package never reaches the blob store:
// the parse runs beside the upload and its verdict decides whether the blob
// is kept.
func (in *Ingester) Add(ctx context.Context, r io.Reader, filename string) (*Package, error) {
	if err := checkFilename(filename); err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	if _, err := br.Peek(1); err == io.EOF {
		return nil, ErrEmptyUpload
	}
	v := newValidator(br)
	defer v.close()
	desc, err := in.batch.Put(ctx, v, "")
	if err != nil {
		if v.rejected != nil {
			return nil, v.rejected
		}
		return nil, fmt.Errorf("storing upload: %w", err)
	}
	p := v.pkg
	p.SHA256, p.Size, p.Filename, p.Created = desc.Digest.Hex(), desc.Size, filename, in.s.now()
	in.pkgs = append(in.pkgs, p)
	return p, nil
}

// Commit makes the blobs durable and visible, then records the packages,
// and returns the stored records (an earlier record of the same bytes wins).
func (in *Ingester) Commit(ctx context.Context) ([]*Package, error) {
	if err := in.batch.Commit(ctx); err != nil {
		return nil, err
	}
	return in.s.recordPackages(in.pkgs)
}

// Abort drops whatever was not committed.
func (in *Ingester) Abort() { in.batch.Abort() }

// recordPackages stores each package unless one with its sha256 exists, and
// returns the stored ones. bbolt's Batch coalesces concurrent ingests into
// one transaction (and one fsync).
func (s *Store) recordPackages(ps []*Package) ([]*Package, error) {
	var stored []*Package
	err := s.db.Batch(func(tx *bolt.Tx) error {
		stored = make([]*Package, len(ps)) // Batch may run this more than once
		b := tx.Bucket(bucketPackages)
		for i, p := range ps {
			stored[i] = p
			if old := b.Get([]byte(p.SHA256)); old != nil {
				stored[i] = new(Package)
				if err := json.Unmarshal(old, stored[i]); err != nil {
					return err
				}
			} else if err := putJSON(b, []byte(p.SHA256), p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recording packages: %w", err)
	}
	return stored, nil
}

// GetPackage returns the package with the given sha256 (hex).
func (s *Store) GetPackage(sha string) (*Package, error) {
	var p *Package
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		p, err = getPackage(tx, sha)
		return err
	})
	return p, err
}

// HasPackages returns the subset of shas that kiln holds.
func (s *Store) HasPackages(shas []string) ([]string, error) {
	found := []string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPackages)
		for _, sha := range shas {
			if b.Get([]byte(sha)) != nil {
				found = append(found, sha)
			}
		}
		return nil
	})
	return found, err
}

// AllPackages returns every stored package that match accepts, sorted.
func (s *Store) AllPackages(match func(*Package) bool) ([]*Package, error) {
	var out []*Package
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPackages).ForEach(func(_, v []byte) error {
			p := new(Package)
			if err := json.Unmarshal(v, p); err != nil {
				return err
			}
			if match == nil || match(p) {
				out = append(out, p)
			}
			return nil
		})
	})
	SortPackages(out)
	return out, err
}

func getPackage(tx *bolt.Tx, sha string) (*Package, error) {
	v := tx.Bucket(bucketPackages).Get([]byte(sha))
	if v == nil {
		return nil, fmt.Errorf("%w: sha256 %s", ErrPackageNotFound, sha)
	}
	p := new(Package)
	if err := json.Unmarshal(v, p); err != nil {
		return nil, fmt.Errorf("decoding package %s: %w", sha, err)
	}
	return p, nil
}

// checkFilename allows an empty name (unknown) or a plain base name.
func checkFilename(name string) error {
	if name == "" {
		return nil
	}
	if strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." || strings.Contains(name, "..") {
		return fmt.Errorf("%w: file name %q must be a plain name without / or ..", ErrInvalidName, name)
	}
	return nil
}

// validator passes the upload through to the blob store while a goroutine
// reads the .deb's control member from a pipe and hashes every byte for the
// Packages index. At EOF it waits for the verdict: an invalid package turns
// EOF into an error, so the blob store discards the upload.
type validator struct {
	src      io.Reader
	pw       *io.PipeWriter
	sums     []hash.Hash
	done     chan struct{}
	pkg      *Package
	parseErr error // set by the parse goroutine before done closes
	rejected error // the verdict Read handed to the blob store, if any
}

func newValidator(src io.Reader) *validator {
	pr, pw := io.Pipe()
	v := &validator{src: src, pw: pw, done: make(chan struct{}),
		sums: []hash.Hash{md5.New(), sha1.New(), sha512.New()}}
	go v.parse(pr)
	return v
}

func (v *validator) parse(pr *io.PipeReader) {
	defer close(v.done)
	st, err := deb.ReadControl(pr)
	if err == nil {
		var c deb.Control
		c, err = deb.Validate(st)
		v.pkg = &Package{Name: c.Name, Version: c.Version, Architecture: c.Architecture, Control: st}
	}
	if err != nil {
		v.parseErr = err
		pr.CloseWithError(err)
		return
	}
	io.Copy(io.Discard, pr) // keep the upload flowing past the control member
}

func (v *validator) Read(b []byte) (int, error) {
	n, err := v.src.Read(b)
	if n > 0 {
		for _, h := range v.sums {
			h.Write(b[:n])
		}
		if _, werr := v.pw.Write(b[:n]); werr != nil {
			<-v.done
			v.rejected = v.parseErr
			return 0, werr
		}
	}
	if err == io.EOF {
		return n, v.finish()
	}
	if err != nil {
		v.pw.CloseWithError(err)
	}
	return n, err
}

// finish closes the pipe and waits for the parse. It returns io.EOF when the
// package is valid.
func (v *validator) finish() error {
	v.pw.Close()
	<-v.done
	if v.parseErr != nil {
		v.rejected = v.parseErr
		return v.parseErr
	}
	v.pkg.MD5 = hex.EncodeToString(v.sums[0].Sum(nil))
	v.pkg.SHA1 = hex.EncodeToString(v.sums[1].Sum(nil))
	v.pkg.SHA512 = hex.EncodeToString(v.sums[2].Sum(nil))
	return io.EOF
}

// close stops the parse goroutine however the upload ended.
func (v *validator) close() {
	v.pw.CloseWithError(errUploadEnded)
	<-v.done
}

var errUploadEnded = errors.New("upload ended")

// IsInvalidPackage tells whether err is the verdict on a bad .deb.
func IsInvalidPackage(err error) bool { return errors.Is(err, deb.ErrInvalidPackage) }

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}
