package repo

import (
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
func (s *Store) ImportAdvisories(data []byte) (*FeedInfo, error) {
	feed, err := advisory.Parse(data)
	if errors.Is(err, advisory.ErrMalformed) {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	} else if err != nil {
		return nil, err
	}
	info := &FeedInfo{Kind: feed.Kind, SHA256: feed.SHA256, Imported: s.now().Format("2006-01-02T15:04:05Z")}
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketAdvisoryMeta)
		if err != nil {
			return err
		}
		if old := meta.Get([]byte(feed.Kind)); old != nil {
			var prev FeedInfo
			if json.Unmarshal(old, &prev) == nil && prev.SHA256 == feed.SHA256 {
				*info = prev
				info.Changed = false
				return nil // the same file again
			}
		}
		root, err := tx.CreateBucketIfNotExists(bucketAdvisories)
		if err != nil {
			return err
		}
		if feed.Kind == advisory.KindTracker {
			err = putTracker(root, feed)
		} else {
			err = putOSV(root, feed)
		}
		if err != nil {
			return err
		}
		info.Entries, info.Changed = countEntries(root.Bucket([]byte(feed.Kind))), true
		v, _ := json.Marshal(info)
		return meta.Put([]byte(feed.Kind), v)
	})
	return info, err
}

func putTracker(root *bolt.Bucket, feed *advisory.Feed) error {
	if root.Bucket([]byte(feed.Kind)) != nil {
		if err := root.DeleteBucket([]byte(feed.Kind)); err != nil {
			return err
		}
	}
	b, err := root.CreateBucket([]byte(feed.Kind))
	if err != nil {
		return err
	}
	bySource := map[string][]advisory.Entry{}
	for _, e := range feed.Entries {
		bySource[e.Source] = append(bySource[e.Source], e)
	}
	for src, es := range bySource {
		v, _ := json.Marshal(es)
		if err := b.Put([]byte(src), v); err != nil {
			return err
		}
	}
	return nil
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

// advisoryCache keeps the decoded advisories between queries. Its key is
// the feeds' metadata, which every import that changes anything rewrites,
// so a cached index is never stale, even after a restore of the database.
type advisoryCache struct {
	mu  sync.Mutex
	key string
	idx advisoryIndex
}

func (s *Store) advisories(tx *bolt.Tx) (advisoryIndex, error) {
	key := ""
	if meta := tx.Bucket(bucketAdvisoryMeta); meta != nil {
		meta.ForEach(func(k, v []byte) error {
			key += string(k) + "=" + string(v) + "\n"
			return nil
		})
	}
	s.adv.mu.Lock()
	defer s.adv.mu.Unlock()
	if s.adv.idx != nil && s.adv.key == key {
		return s.adv.idx, nil
	}
	idx, err := loadAdvisories(tx)
	if err != nil {
		return nil, err
	}
	s.adv.key, s.adv.idx = key, idx
	return idx, nil
}

// advisoryIndex is every stored entry by source package. The tracker's
// entry wins over OSV's for the same CVE, source and release.
type advisoryIndex map[string][]advisory.Entry

func loadAdvisories(tx *bolt.Tx) (advisoryIndex, error) {
	idx := advisoryIndex{}
	root := tx.Bucket(bucketAdvisories)
	if root == nil {
		return idx, nil
	}
	seen := map[[3]string]bool{}
	add := func(es []advisory.Entry) {
		for _, e := range es {
			k := [3]string{e.ID, e.Source, e.Release}
			if !seen[k] {
				seen[k] = true
				idx[e.Source] = append(idx[e.Source], e)
			}
		}
	}
	if b := root.Bucket([]byte(advisory.KindTracker)); b != nil {
		err := b.ForEach(func(_, v []byte) error {
			var es []advisory.Entry
			if err := json.Unmarshal(v, &es); err != nil {
				return fmt.Errorf("decoding advisories: %w", err)
			}
			add(es)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if b := root.Bucket([]byte(advisory.KindOSV)); b != nil {
		err := b.ForEach(func(_, v []byte) error {
			var r osvRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decoding advisories: %w", err)
			}
			add(r.Entries)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return idx, nil
}
