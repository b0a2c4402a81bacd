package repo

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/advisory"
)

// The tracker's export is written as it is read: a fault after good
// sources rolls them back with the rest, and what an earlier import
// stored stays, entries and metadata.
func TestTrackerImportFaultChangesNothing(t *testing.T) {
	s := emptyStore(t)
	first := `{"bash": {"CVE-1": {"releases": {"bookworm": {"status": "open", "urgency": "low"}}}}}`
	info, err := s.ImportAdvisories([]byte(first))
	if err != nil || info.Entries != 1 {
		t.Fatalf("first import: %+v %v", info, err)
	}
	for name, feed := range map[string]string{
		"bad entry after good ones": `{"aaa": {"CVE-2": {"releases": {"bookworm": {"status": "open"}}}}, "zlib": {"CVE-3": {"releases": {"bookworm": {"status": "resolved"}}}}}`,
		"cut after good ones":       `{"aaa": {"CVE-2": {"releases": {"bookworm": {"status": "open"}}}}, "zlib": {"CVE-3": {"rel`,
		"data after the export":     `{"aaa": {"CVE-2": {"releases": {"bookworm": {"status": "open"}}}}} {}`,
	} {
		if _, err := s.ImportAdvisories([]byte(feed)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAdvisories).Bucket([]byte(advisory.KindTracker))
		if b.Get([]byte("aaa")) != nil || b.Get([]byte("bash")) == nil || b.Stats().KeyN != 1 {
			t.Errorf("after the refused imports the tracker holds %d sources (aaa %t, bash %t)",
				b.Stats().KeyN, b.Get([]byte("aaa")) != nil, b.Get([]byte("bash")) != nil)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.ImportAdvisories([]byte(first)); err != nil || again.Changed || again.SHA256 != info.SHA256 {
		t.Fatalf("the first feed again: %+v %v, want unchanged", again, err)
	}
}
