package repo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
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

// Package is a .deb that kiln holds. Its blob is named by SHA256; MD5 is
// kept for the Packages index.
type Package struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	MD5          string `json:"md5"`
	Filename     string `json:"filename,omitempty"`
	// Control is the control stanza. It lives in its own bucket and is
	// loaded only where fields beyond the identity are needed (queries,
	// single-package reads), which keeps adds and listings cheap.
	Control deb.Stanza `json:"-"`
	// ControlText is the control stanza as stored (the form Control's
	// String gives), for those that copy it rather than read its fields
	// (WithControlTexts).
	ControlText []byte    `json:"-"`
	Created     time.Time `json:"created"`
	// probing is set while matching tries a query on the identity alone
	// (see matching); a Field beyond the identity then sets missed.
	probing, missed bool
	// raw, when set and Control is not, is the stored control stanza that
	// Field reads from (deb.RawField): a search that needs one field of
	// every package parses none of them.
	raw []byte
}

// Field returns a control field, case-insensitively, so queries can match
// any field of the package.
func (p *Package) Field(name string) (string, bool) {
	if v, ok := (installed{Name: p.Name, Version: p.Version, Architecture: p.Architecture}).Field(name); ok {
		return v, true
	}
	if p.probing {
		p.missed = true
		return "", false
	}
	if p.Control == nil && p.raw != nil {
		return deb.RawField(p.raw, name)
	}
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
//
// Each blob is pinned (Store.Pin) from when it is received, before the
// batch makes it visible, until its record is committed or the ingest is
// aborted. With a backend that cannot batch, a blob is visible the moment
// it is received, a little before it is pinned: if a collection takes it
// then, the record's check (recordPackages) fails the ingest rather than
// record a package without its bytes. With a backend that batches, every
// blob is pinned before it is visible, so the check (one request per blob
// on S3, in the write transaction) is not needed.
type Ingester struct {
	s      *Store
	batch  storage.Batch
	check  bool // whether recordPackages checks each blob is stored
	pkgs   []*Package
	unpins []func()
}

// NewIngester starts an ingest. Call Commit to keep what was added, and
// Abort (deferred) to drop it otherwise.
func (s *Store) NewIngester() *Ingester {
	_, batched := s.blobs.(storage.Batcher)
	return &Ingester{s: s, batch: storage.NewBatch(s.blobs), check: !batched}
}

// Add streams one .deb into the batch. The control member, at the head of
// the archive, is read and validated first, in memory: a file that is not a
// valid Debian package never reaches the blob store. The head is then
// replayed ahead of the rest of the stream, so every byte is read once,
// and the whole archive's structure is checked as it is stored
// (deb.CheckArchive): a truncated file fails the Put, which keeps nothing.
func (in *Ingester) Add(ctx context.Context, r io.Reader, filename string) (*Package, error) {
	if err := checkFilename(filename); err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	if _, err := br.Peek(1); err == io.EOF {
		return nil, ErrEmptyUpload
	}
	var head bytes.Buffer
	p, err := in.s.readPackage(ctx, io.TeeReader(&headLimit{r: br, left: maxHead}, &head))
	if err != nil {
		return nil, err
	}
	sums := newSums()
	whole := deb.CheckArchive(io.MultiReader(&head, br))
	desc, err := in.batch.Put(ctx, io.TeeReader(whole, sums), "")
	var bad *deb.InvalidPackageError
	switch {
	case errors.As(err, &bad):
		return nil, bad // a truncated or malformed archive: nothing was kept
	case err != nil:
		return nil, fmt.Errorf("storing upload: %w", err)
	}
	in.unpins = append(in.unpins, in.s.Pin(desc.Digest))
	sums.fill(p)
	p.SHA256, p.Size, p.Filename, p.Created = desc.Digest.Hex(), desc.Size, filename, in.s.now()
	in.pkgs = append(in.pkgs, p)
	return p, nil
}

// readPackage reads and validates the control stanza at the head of a .deb.
func (s *Store) readPackage(ctx context.Context, r io.Reader) (*Package, error) {
	st, err := s.debs.ReadControl(ctx, r)
	if err != nil {
		return nil, err
	}
	c, err := deb.Validate(st)
	if err != nil {
		return nil, err
	}
	return &Package{Name: c.Name, Version: c.Version, Architecture: c.Architecture, Control: st}, nil
}

// maxHead bounds how much of an upload may come before the end of its
// control member (debian-binary, signatures, control.tar): what Add holds
// in memory.
const maxHead = 16 << 20

// headLimit fails a read past maxHead with a verdict on the package.
type headLimit struct {
	r    io.Reader
	left int64
}

func (h *headLimit) Read(b []byte) (int, error) {
	if h.left <= 0 {
		return 0, &deb.InvalidPackageError{Reason: fmt.Sprintf("not a Debian package: no control member in the first %d MiB", maxHead>>20)}
	}
	if int64(len(b)) > h.left {
		b = b[:h.left]
	}
	n, err := h.r.Read(b)
	h.left -= int64(n)
	return n, err
}

// sums computes the digest besides sha256 that a Packages index lists.
// Debian's own archive lists MD5sum and SHA256 per package (SHA1 and SHA512
// only in Release, for index files), and apt verifies packages by SHA256.
type sums struct{ md5 hash.Hash }

func newSums() *sums { return &sums{md5.New()} }

func (s *sums) Write(b []byte) (int, error) { return s.md5.Write(b) }

func (s *sums) fill(p *Package) {
	p.MD5 = hex.EncodeToString(s.md5.Sum(nil))
}

// Commit makes the blobs durable and visible, then records the packages,
// and returns the stored records (an earlier record of the same bytes wins).
// A package recorded before whose blob went missing gets its bytes back.
func (in *Ingester) Commit(ctx context.Context) ([]*Package, error) {
	return in.CommitThen(ctx, nil)
}

// CommitThen is Commit, then runs then (when not nil) with the stored
// packages while their blobs are still pinned: an upload into a
// repository adds them there before a collection may take them (a
// package in no repository is kept by nothing but the grace period).
func (in *Ingester) CommitThen(ctx context.Context, then func([]*Package) error) ([]*Package, error) {
	defer in.unpin()
	if err := in.batch.Commit(ctx); err != nil {
		return nil, err
	}
	ps, err := in.s.recordPackages(ctx, in.pkgs, in.check)
	if err == nil && then != nil {
		err = then(ps)
	}
	return ps, err
}

// Abort drops whatever was not committed.
func (in *Ingester) Abort() {
	in.batch.Abort()
	in.unpin()
}

func (in *Ingester) unpin() {
	for _, u := range in.unpins {
		u()
	}
	in.unpins = nil
}

// recordPackages stores each package unless one with its sha256 exists, and
// returns the stored ones. bbolt's Batch coalesces concurrent ingests into
// one transaction (and one fsync). Each blob is checked stored in that
// transaction when check is set: a collection deletes blobs in write
// transactions too, so a blob seen here stays stored once its record is
// committed. Writers whose blobs were pinned before they became visible
// need no check.
func (s *Store) recordPackages(ctx context.Context, ps []*Package, check bool) ([]*Package, error) {
	var stored []*Package
	err := s.db.Batch(func(tx *bolt.Tx) error {
		stored = make([]*Package, len(ps)) // Batch may run this more than once
		b := tx.Bucket(bucketPackages)
		for i, p := range ps {
			if err := s.checkStored(ctx, p, check); err != nil {
				return err
			}
			stored[i] = p
			if old := b.Get([]byte(p.SHA256)); old != nil {
				stored[i] = new(Package)
				if err := decodePackage(old, stored[i]); err != nil {
					return err
				}
			} else if err := putPackage(tx, p); err != nil {
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

// checkStored fails when check is set and p's blob is not stored.
func (s *Store) checkStored(ctx context.Context, p *Package, check bool) error {
	if !check {
		return nil
	}
	if _, err := s.blobs.Stat(ctx, p.Digest()); err != nil {
		return fmt.Errorf("recording %s: its blob went before its record was committed; upload it again: %w", p.Filename, err)
	}
	return nil
}

// GetPackage returns the package with the given sha256 (hex), with its
// control stanza.
func (s *Store) GetPackage(sha string) (*Package, error) {
	var p *Package
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if p, err = getPackage(tx, sha); err != nil {
			return err
		}
		return loadControl(tx, p)
	})
	return p, err
}

func putPackage(tx *bolt.Tx, p *Package) error {
	if err := tx.Bucket(bucketPackages).Put([]byte(p.SHA256), encodePackage(p)); err != nil {
		return err
	}
	if err := indexPackage(tx, p); err != nil {
		return err
	}
	return tx.Bucket(bucketControls).Put([]byte(p.SHA256), []byte(p.Control.String()))
}

// loadControl fills p.Control from the controls bucket.
func loadControl(tx *bolt.Tx, p *Package) error {
	if p.Control != nil {
		return nil
	}
	st, err := deb.ParseStanza(tx.Bucket(bucketControls).Get([]byte(p.SHA256)))
	if err != nil {
		return fmt.Errorf("control of %s: %w", p.SHA256, err)
	}
	p.Control = st
	return nil
}

// matching returns match with each package's control loaded first, for
// queries over any field; nil stays nil (match all, load nothing).
func matching(tx *bolt.Tx, match func(*Package) bool) func(*Package) (bool, error) {
	return func(p *Package) (bool, error) {
		if match == nil {
			return true, nil
		}
		// Most searches name packages: try the identity first, and load
		// the control stanza only when the query asked for another field.
		p.probing, p.missed = true, false
		ok := match(p)
		p.probing = false
		if !p.missed {
			return ok, nil
		}
		if err := loadControl(tx, p); err != nil {
			return false, err
		}
		return match(p), nil
	}
}

// HasPackages returns the subset of shas that kiln holds: recorded, with
// their blobs stored. A record whose blob went missing is not held, so a
// client uploads the file again and the upload puts the bytes back.
func (s *Store) HasPackages(ctx context.Context, shas []string) ([]string, error) {
	var recorded []string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPackages)
		for _, sha := range shas {
			if b.Get([]byte(sha)) != nil {
				recorded = append(recorded, sha)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	found := []string{}
	for _, sha := range recorded {
		_, err := s.blobs.Stat(ctx, storage.Digest(storage.SHA256+":"+sha))
		if err == nil {
			found = append(found, sha)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	return found, nil
}

// AllPackages returns every stored package that match accepts, sorted.
func (s *Store) AllPackages(match func(*Package) bool) ([]*Package, error) {
	var out []*Package
	err := s.db.View(func(tx *bolt.Tx) error {
		keep := matching(tx, match)
		return tx.Bucket(bucketPackages).ForEach(func(_, v []byte) error {
			p := new(Package)
			if err := decodePackage(v, p); err != nil {
				return err
			}
			ok, err := keep(p)
			if ok {
				out = append(out, p)
			}
			return err
		})
	})
	SortPackages(out)
	return out, err
}

func getPackage(tx *bolt.Tx, sha string) (*Package, error) {
	p := new(Package)
	if err := lookupPackage(tx.Bucket(bucketPackages), sha, p); err != nil {
		return nil, err
	}
	return p, nil
}

// lookupPackage decodes the record of sha from the packages bucket into p.
func lookupPackage(pb *bolt.Bucket, sha string, p *Package) error {
	v := pb.Get([]byte(sha))
	if v == nil {
		return notFound(sha)
	}
	if err := decodePackage(v, p); err != nil {
		return fmt.Errorf("decoding package %s: %w", sha, err)
	}
	return nil
}

func notFound(sha string) error { return fmt.Errorf("%w: sha256 %s", ErrPackageNotFound, sha) }

// checkFilename allows an empty name (unknown) or a plain base name of at
// most 255 bytes without control characters: the name is stored and shown
// back (kiln repo show, JSON), where a newline or an escape sequence could
// forge lines or drive a terminal.
func checkFilename(name string) error {
	if name == "" {
		return nil
	}
	if strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." || strings.Contains(name, "..") {
		return fmt.Errorf("%w: file name %q must be a plain name without / or ..", ErrInvalidName, name)
	}
	if !plainText(name, 255) {
		return fmt.Errorf("%w: file name %.80q must be at most 255 bytes, without control characters", ErrInvalidName, name)
	}
	return nil
}

// IsInvalidPackage tells whether err is the verdict on a bad .deb.
func IsInvalidPackage(err error) bool { return errors.Is(err, deb.ErrInvalidPackage) }

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}
