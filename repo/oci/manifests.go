package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/storage"
)

// Manifest is what kiln records of a pushed manifest; its exact bytes are
// the blob named Digest.
type Manifest struct {
	Digest       storage.Digest    `json:"digest"`
	MediaType    string            `json:"mediaType"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	ConfigType   string            `json:"configType,omitempty"`
	Subject      storage.Digest    `json:"subject,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	// Blobs are the config and layers the manifest needs (an image).
	Blobs []storage.Digest `json:"blobs,omitempty"`
	// Manifests are the manifests an index lists.
	Manifests []storage.Digest `json:"manifests,omitempty"`
	Created   time.Time        `json:"created"`
}

// ReferrerType is the artifact type the referrers API reports: the
// manifest's artifactType, else its config's media type.
func (m *Manifest) ReferrerType() string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	return m.ConfigType
}

// PutManifest stores body as a manifest of repository name under ref (a
// tag or a digest). A manifest pushed by digest must hash to it (sha256 or
// sha512); by tag it is named by its sha256. Every config and layer blob
// it names must be in the repository already.
func (r *Registry) PutManifest(ctx context.Context, name, ref, contentType string, body []byte) (*Manifest, error) {
	if len(body) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(body), MaxManifestSize)
	}
	tag, d, err := r.manifestName(ref, body)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(contentType, body)
	if err != nil {
		return nil, err
	}
	m.Digest, m.Size, m.Created = d, int64(len(body)), r.now().UTC()
	defer r.pin(d)()
	if _, err := r.blobs.Put(ctx, bytes.NewReader(body), d); err != nil {
		return nil, err
	}
	err = r.db.Update(func(tx *bolt.Tx) error { return r.recordManifest(ctx, tx, name, tag, m) })
	if err != nil {
		return nil, err
	}
	return m, nil
}

// manifestName splits ref into a tag (or "") and the digest the body has.
func (r *Registry) manifestName(ref string, body []byte) (string, storage.Digest, error) {
	if !isDigest(ref) {
		if err := CheckTag(ref); err != nil {
			return "", "", err
		}
		return ref, digestOf(storage.SHA256, body), nil
	}
	want, err := storage.ParseDigest(ref)
	if err != nil {
		return "", "", err
	}
	if got := digestOf(want.Algorithm(), body); got != want {
		return "", "", fmt.Errorf("%w: manifest hashes to %s, not %s", storage.ErrDigestMismatch, got, want)
	}
	return "", want, nil
}

// recordManifest checks, in tx, that the blobs m needs are in repository
// name, refreshes their links (so a collection running now spares them),
// and records m, its tag and its subject.
func (r *Registry) recordManifest(ctx context.Context, tx *bolt.Tx, name, tag string, m *Manifest) error {
	links := tx.Bucket(bucketLinks)
	for _, b := range m.Blobs {
		if !linked(tx, name, b) {
			return fmt.Errorf("%w: %s", ErrManifestBlobUnknown, b)
		}
		if _, err := r.blobs.Stat(ctx, b); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrManifestBlobUnknown, b, err)
		}
		if err := links.Put(key(string(b), name), stamp(r.now())); err != nil {
			return err
		}
	}
	for _, c := range m.Manifests {
		if linked(tx, name, c) {
			if err := links.Put(key(string(c), name), stamp(r.now())); err != nil {
				return err
			}
		}
	}
	if err := r.link(ctx, tx, name, m.Digest); err != nil {
		return err
	}
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketManifests).Put(key(name, string(m.Digest)), v); err != nil {
		return err
	}
	if m.Subject != "" {
		if err := tx.Bucket(bucketReferrers).Put(key(name, string(m.Subject), string(m.Digest)), nil); err != nil {
			return err
		}
	}
	if tag != "" {
		return tx.Bucket(bucketTags).Put(key(name, tag), []byte(m.Digest))
	}
	return nil
}

// Tag points tag of repository name at the manifest ref resolves to.
func (r *Registry) Tag(name, tag string, d storage.Digest) error {
	if err := CheckTag(tag); err != nil {
		return err
	}
	return r.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketManifests).Get(key(name, string(d))) == nil {
			return fmt.Errorf("%w: %s", ErrManifestUnknown, d)
		}
		return tx.Bucket(bucketTags).Put(key(name, tag), []byte(d))
	})
}

// ResolveManifest returns the record of manifest ref (tag or digest) of
// repository name.
func (r *Registry) ResolveManifest(name, ref string) (*Manifest, error) {
	var m *Manifest
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		m, err = resolve(tx, name, ref)
		return err
	})
	return m, err
}

// OpenManifest returns the record and the exact bytes of manifest ref.
func (r *Registry) OpenManifest(ctx context.Context, name, ref string) (*Manifest, []byte, error) {
	m, err := r.ResolveManifest(name, ref)
	if err != nil {
		return nil, nil, err
	}
	rc, err := r.blobs.Open(ctx, m.Digest)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: %s (bytes missing)", ErrManifestUnknown, m.Digest)
	} else if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, MaxManifestSize+1))
	return m, body, err
}

func resolve(tx *bolt.Tx, name, ref string) (*Manifest, error) {
	d := ref
	if !isDigest(ref) {
		// A tag that could not be pushed is simply not there.
		v := tx.Bucket(bucketTags).Get(key(name, ref))
		if v == nil {
			return nil, fmt.Errorf("%w: tag %s in %s", ErrManifestUnknown, ref, name)
		}
		d = string(v)
	} else if _, err := storage.ParseDigest(ref); err != nil {
		return nil, err
	}
	v := tx.Bucket(bucketManifests).Get(key(name, d))
	if v == nil {
		return nil, fmt.Errorf("%w: %s in %s", ErrManifestUnknown, d, name)
	}
	m := new(Manifest)
	return m, json.Unmarshal(v, m)
}

// DeleteManifest deletes a tag, or (by digest) a manifest with every tag
// pointing at it and its entry among its subject's referrers. Blobs stay
// until a garbage collection finds them unreferenced.
func (r *Registry) DeleteManifest(name, ref string) error {
	return r.db.Update(func(tx *bolt.Tx) error {
		m, err := resolve(tx, name, ref)
		if err != nil {
			return err
		}
		if !isDigest(ref) {
			return tx.Bucket(bucketTags).Delete(key(name, ref))
		}
		if err := untagAll(tx, name, m.Digest); err != nil {
			return err
		}
		if m.Subject != "" {
			if err := tx.Bucket(bucketReferrers).Delete(key(name, string(m.Subject), string(m.Digest))); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketLinks).Delete(key(string(m.Digest), name)); err != nil {
			return err
		}
		return tx.Bucket(bucketManifests).Delete(key(name, string(m.Digest)))
	})
}

func untagAll(tx *bolt.Tx, name string, d storage.Digest) error {
	prefix := key(name, "")
	b := tx.Bucket(bucketTags)
	var doomed [][]byte // deleting under a cursor can skip the next key
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if string(v) == string(d) {
			doomed = append(doomed, bytes.Clone(k))
		}
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// isDigest tells a digest reference from a tag: tags cannot hold a colon.
func isDigest(ref string) bool { return bytes.IndexByte([]byte(ref), ':') >= 0 }

func digestOf(alg string, body []byte) storage.Digest {
	h := storage.NewHash(alg)
	h.Write(body)
	return storage.Digest(fmt.Sprintf("%s:%x", alg, h.Sum(nil)))
}
