package repo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/advisory"
)

// Security advisories live in one bucket per feed kind, each entry list
// under the key a re-import replaces:
//
//	advisories/debian-tracker/<source>  -> []advisory.Entry (JSON)
//	advisories/osv/<OSV id>             -> osvRecord (JSON)
//	advisorymeta/<kind>                 -> FeedInfo (JSON)
var (
	bucketAdvisories   = []byte("advisories")
	bucketAdvisoryMeta = []byte("advisorymeta")
)

// FeedInfo is what a kind of feed holds now.
type FeedInfo struct {
	Kind     string `json:"kind"`
	SHA256   string `json:"sha256"` // of the file imported last
	Entries  int    `json:"entries"`
	Imported string `json:"imported"`
	// Changed is false when the import changed nothing (the same file again).
	Changed bool `json:"changed"`
}

type osvRecord struct {
	Modified string           `json:"modified"`
	Entries  []advisory.Entry `json:"entries"`
}

// ImportAdvisories parses a feed and stores it: the tracker's export
// replaces the tracker's previous one; an OSV advisory replaces the one
// with its id unless that one is newer. A malformed feed changes nothing.
//
// The tracker's export is read one source package at a time straight
// into the write transaction (advisory.EachTrackerSource): a 100 MB
// export never sits decoded in memory, and a fault in it rolls back what
// was written before it.
func (s *Store) ImportAdvisories(data []byte) (*FeedInfo, error) {
	kind, err := advisory.Detect(data)
	var feed *advisory.Feed
	if err == nil && kind == advisory.KindOSV {
		feed, err = advisory.Parse(data)
	}
	if errors.Is(err, advisory.ErrMalformed) {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	} else if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	info := &FeedInfo{Kind: kind, SHA256: hex.EncodeToString(sum[:]), Imported: s.now().Format("2006-01-02T15:04:05Z")}
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketAdvisoryMeta)
		if err != nil {
			return err
		}
		if old := meta.Get([]byte(kind)); old != nil {
			var prev FeedInfo
			if json.Unmarshal(old, &prev) == nil && prev.SHA256 == info.SHA256 {
				*info = prev
				info.Changed = false
				return nil // the same file again
			}
		}
		root, err := tx.CreateBucketIfNotExists(bucketAdvisories)
		if err != nil {
			return err
		}
		if kind == advisory.KindTracker {
			err = putTracker(root, data)
		} else {
			err = putOSV(root, feed)
		}
		if err != nil {
			return err
		}
		info.Entries, info.Changed = countEntries(root.Bucket([]byte(kind))), true
		v, _ := json.Marshal(info)
		return meta.Put([]byte(kind), v)
	})
	if errors.Is(err, advisory.ErrMalformed) {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return info, err
}

// putTracker replaces the tracker's bucket with the export's entries, one
// key per source package, as the export is read.
func putTracker(root *bolt.Bucket, data []byte) error {
	if root.Bucket([]byte(advisory.KindTracker)) != nil {
		if err := root.DeleteBucket([]byte(advisory.KindTracker)); err != nil {
			return err
		}
	}
	b, err := root.CreateBucket([]byte(advisory.KindTracker))
	if err != nil {
		return err
	}
	return advisory.EachTrackerSource(data, func(src string, es []advisory.Entry) error {
		if len(es) == 0 {
			return b.Delete([]byte(src)) // a source named twice: the last wins
		}
		v, _ := json.Marshal(es)
		return b.Put([]byte(src), v)
	})
}

func putOSV(root *bolt.Bucket, feed *advisory.Feed) error {
	b, err := root.CreateBucketIfNotExists([]byte(feed.Kind))
	if err != nil {
		return err
	}
	byID := map[string][]advisory.Entry{}
	for i, e := range feed.Entries {
		byID[feed.Origin[i]] = append(byID[feed.Origin[i]], e)
	}
	for id, mod := range feed.Modified {
		var old osvRecord
		if v := b.Get([]byte(id)); v != nil && json.Unmarshal(v, &old) == nil && old.Modified > mod.UTC().Format("2006-01-02T15:04:05.000000000Z") {
			continue // what is stored is newer
		}
		v, _ := json.Marshal(osvRecord{Modified: mod.UTC().Format("2006-01-02T15:04:05.000000000Z"), Entries: byID[id]})
		if err := b.Put([]byte(id), v); err != nil {
			return err
		}
	}
	return nil
}

// countEntries counts the entries of a kind's bucket without decoding them
// all: both layouts hold a JSON list per key, and each entry has one "id".
func countEntries(b *bolt.Bucket) int {
	n := 0
	b.ForEach(func(_, v []byte) error {
		n += countID(v)
		return nil
	})
	return n
}

func countID(v []byte) int {
	n := 0
	for i := 0; i+5 <= len(v); i++ {
		if string(v[i:i+5]) == `"id":` {
			n++
		}
	}
	return n
}

// advisoryCache keeps, between queries, the OSV advisories decoded and
// by source package (they are imported a few at a time) and the entries
// of each source package asked for so far: the sources the stored images
// carry, a few hundred, where the tracker's export names tens of
// thousands (its entries are read per source from the database, never
// all decoded). Its key is the feeds' metadata, which every import that
// changes anything rewrites, so a cached answer is never stale, even
// after a restore of the database.
type advisoryCache struct {
	mu   sync.Mutex
	key  string
	snap *advisorySnapshot
}

// advisorySnapshot is what the cache holds for one state of the feeds.
type advisorySnapshot struct {
	osv map[string][]advisory.Entry // read only

	mu       sync.Mutex
	bySource map[string][]advisory.Entry
}

// advisories returns the index of the advisories stored as of tx.
func (s *Store) advisories(tx *bolt.Tx) (*advisoryIndex, error) {
	key := ""
	if meta := tx.Bucket(bucketAdvisoryMeta); meta != nil {
		meta.ForEach(func(k, v []byte) error {
			key += string(k) + "=" + string(v) + "\n"
			return nil
		})
	}
	idx := &advisoryIndex{}
	root := tx.Bucket(bucketAdvisories)
	if root != nil {
		idx.tracker = root.Bucket([]byte(advisory.KindTracker))
	}
	s.adv.mu.Lock()
	defer s.adv.mu.Unlock()
	if s.adv.snap == nil || s.adv.key != key {
		osv, err := loadOSV(root)
		if err != nil {
			return nil, err
		}
		s.adv.key, s.adv.snap = key, &advisorySnapshot{osv: osv, bySource: map[string][]advisory.Entry{}}
	}
	idx.snap = s.adv.snap
	return idx, nil
}

// advisoryIndex answers which stored entries name a source package, in
// one read transaction: the tracker's from its bucket (one key per
// source), OSV's from the snapshot; the tracker's entry wins over OSV's
// for the same CVE, source and release.
type advisoryIndex struct {
	tracker *bolt.Bucket // nil: no tracker export
	snap    *advisorySnapshot
}

// empty says no advisory is stored at all.
func (x *advisoryIndex) empty() bool {
	if len(x.snap.osv) > 0 {
		return false
	}
	if x.tracker == nil {
		return true
	}
	k, _ := x.tracker.Cursor().First()
	return k == nil
}

// of returns the entries that name source; the caller does not modify
// them.
func (x *advisoryIndex) of(source string) ([]advisory.Entry, error) {
	x.snap.mu.Lock()
	es, ok := x.snap.bySource[source]
	x.snap.mu.Unlock()
	if ok {
		return es, nil
	}
	if x.tracker != nil {
		if v := x.tracker.Get([]byte(source)); v != nil {
			if err := json.Unmarshal(v, &es); err != nil {
				return nil, fmt.Errorf("decoding advisories of %s: %w", source, err)
			}
		}
	}
	if osv := x.snap.osv[source]; len(osv) > 0 {
		seen := map[[2]string]bool{}
		for _, e := range es {
			seen[[2]string{e.ID, e.Release}] = true
		}
		for _, e := range osv {
			if !seen[[2]string{e.ID, e.Release}] {
				es = append(es, e)
			}
		}
	}
	x.snap.mu.Lock()
	x.snap.bySource[source] = es
	x.snap.mu.Unlock()
	return es, nil
}

// loadOSV decodes the OSV advisories by source package, each (CVE,
// source, release) once.
func loadOSV(root *bolt.Bucket) (map[string][]advisory.Entry, error) {
	idx := map[string][]advisory.Entry{}
	if root == nil || root.Bucket([]byte(advisory.KindOSV)) == nil {
		return idx, nil
	}
	seen := map[[3]string]bool{}
	err := root.Bucket([]byte(advisory.KindOSV)).ForEach(func(_, v []byte) error {
		var r osvRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decoding advisories: %w", err)
		}
		for _, e := range r.Entries {
			if k := [3]string{e.ID, e.Source, e.Release}; !seen[k] {
				seen[k] = true
				idx[e.Source] = append(idx[e.Source], e)
			}
		}
		return nil
	})
	return idx, err
}
