// Package repo is kiln's domain: packages, repositories and their immutable
// versions, and API tokens, kept in one bbolt database beside the blob
// store. It knows nothing of HTTP.
//
// Database layout (bbolt buckets):
//
//	packages/<sha256 hex>            -> Package (record.go), every .deb ever ingested
//	controls/<sha256 hex>            -> its control stanza, as in the .deb
//	repos/<name>                     -> repoMeta (JSON)
//	repo/<name>/current/<identity>   -> sha256 hex of the member now present
//	repo/<name>/members/<identity>\x00<added:8 BE> -> member (JSON): one row
//	                                    per membership, with the version it was
//	                                    added in and the one it was removed in
//	repo/<name>/versions/<n:8 BE>    -> Version (JSON)
//	snapshots/<name>                 -> Snapshot (JSON)
//	snapshot/<name>/<sha256 hex>     -> "" : the snapshot's own package list
//	refs/<repo>/<kind/name>          -> "" : what refers to a repository
//	keys/<name>                      -> SigningKey (JSON, private part sealed)
//	publications/<prefix>\x00<dist>  -> Publication (JSON)
//	tokens/<sha256 of secret>        -> Token (JSON)
//	pkgids/<identity>\x00<sha256>    -> "" : every stored package by identity
//	images/<name>\x00<version>       -> Image (JSON) without its packages
//	diskrefs/<digest>\x00<name>\x00<version> -> "" : the image versions of each disk blob
//	imagepkgs/<name>\x00<version>    -> its packages, as dpkg-query lines
//	imagefind/<name\x00os\x00os-version\x00arch\x00region>/<created:8 BE><version>
//	                                 -> version: the lookup index, one
//	                                    bucket per place, newest last; a
//	                                    revoked version has no entry
//	channels/<image>\x00<channel>    -> Channel (JSON) with its history
//	pkgusers/<name>\x00<version>\x00<arch>\x00<image/NAME@VER | group/NAME> -> ""
//	groups/<name>                    -> Group (JSON), never rewritten
//	groupevents/<name>/<n:8 BE>      -> GroupEvent (JSON); the last is the state
//	refs/image:<name>@<version>/group/<name>, refs/oci:<digest>/group/<name>
//
// identity is "name\x00version\x00arch". A version costs O(changes): adding a
// package writes one current key, one member row and one version row,
// O(log n) in a repository of n packages.
package repo

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/storage"
)

var (
	bucketPackages = []byte("packages")
	bucketControls = []byte("controls")
	bucketRepos    = []byte("repos")
	bucketRepo     = []byte("repo")
	bucketTokens   = []byte("tokens")
	bucketCurrent  = []byte("current")
	bucketMembers  = []byte("members")
	bucketVersions = []byte("versions")
)

// Store is the metadata database plus the blob store it describes.
type Store struct {
	db    *bolt.DB
	blobs storage.Blobs
	now   func() time.Time
	lists *latestLists // shared by the views As returns
	pins  *pins
	debs  *deb.Reader // reads uploads' control members within one memory budget
	audit *auditQueue
	// actor is who this view of the store writes as (see As); nil: the
	// server itself or an offline command.
	actor *Actor
	adv   *advisoryCache // the decoded advisories, while no import changes them; shared by the views As returns
}

// Open opens (creating if needed) the database at path. Only one process may
// hold it; a second Open waits up to timeout and fails.
func Open(path string, blobs storage.Blobs) (*Store, error) {
	// The freelist is rebuilt at open instead of written at every commit:
	// commits, one per upload batch, are what CI jobs wait for.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second,
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
		// Mapping ahead spares the growing database repeated remaps, each of
		// which copies every open node; it is address space, not memory.
		InitialMmapSize: 1 << 30})
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	err = db.Update(initBuckets)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising database: %w", err)
	}
	// Opening read every page (the freelist is rebuilt from them); they
	// stay in the page cache, but need not stay mapped into the process.
	unmapPages(db)
	return &Store{db: db, blobs: blobs, now: func() time.Time { return time.Now().UTC() },
		lists: &latestLists{}, adv: &advisoryCache{}, pins: newPins(), debs: deb.NewReader(deb.DefaultMemory), audit: newAuditQueue()}, nil
}

func initBuckets(tx *bolt.Tx) error {
	newIndex, newDiskRefs := tx.Bucket(bucketPkgIDs) == nil, tx.Bucket(bucketDiskRefs) == nil
	for _, b := range [][]byte{bucketPackages, bucketControls, bucketRepos, bucketRepo, bucketTokens,
		bucketSnapshots, bucketSnapshot, bucketRefs, bucketKeys, bucketPublications, bucketPkgIDs,
		bucketImages, bucketImagePkgs, bucketImageFind, bucketChannels, bucketPkgUsers, bucketGroups, bucketGroupEvents,
		bucketDiskRefs} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	if newIndex {
		if err := backfillPkgIDs(tx); err != nil {
			return err
		}
	}
	if newDiskRefs {
		return backfillDiskRefs(tx)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.waitAudit()
	return s.db.Close()
}

// Blobs returns the blob store the packages live in.
func (s *Store) Blobs() storage.Blobs { return s.blobs }

// Ping checks that the database answers (for readiness probes).
func (s *Store) Ping() error {
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRepos) == nil {
			return fmt.Errorf("database not initialised")
		}
		return nil
	})
}

// DB returns the database, for the sub-packages of repo (repo/oci) that keep
// their own buckets in it. Nothing outside repo uses it.
func (s *Store) DB() *bolt.DB { return s.db }
