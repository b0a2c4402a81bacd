package repo

import (
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestAscendingLookups checks the stepping cursor against a map: keys
// next to each other, gaps longer than a lookup steps, absent keys between
// and beyond the stored ones, and the same key twice.
func TestAscendingLookups(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]string{}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("k"))
		if err != nil {
			return err
		}
		for i := 0; i < 3000; i += 2 { // even keys only
			k := fmt.Sprintf("%05d", i)
			stored[k] = "v" + k
			if err := b.Put([]byte(k), []byte(stored[k])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var lookups []int
	for i := 0; i < 200; i++ { // every key, stored or not
		lookups = append(lookups, i)
	}
	lookups = append(lookups, 200, 200, 211, 250, 1000, 1001, 1002, 1002, 2998, 2999, 3000, 5000)
	err = db.View(func(tx *bolt.Tx) error {
		a := ascending{c: tx.Bucket([]byte("k")).Cursor()}
		for _, i := range lookups {
			k := fmt.Sprintf("%05d", i)
			if got, want := string(a.get([]byte(k))), stored[k]; got != want {
				t.Errorf("get(%s) = %q, want %q", k, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
