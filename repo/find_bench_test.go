package repo

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// seedImages stores n versions of web-base, every one with artifacts in
// the same three regions (the worst case for the index: one bucket per
// region holds all n), a package list of 300, and channel prod at the
// oldest. Records and lookup index go in one transaction (PushImage would
// cost n fsyncs); the package-users index, which lookups never read, is
// left out to keep seeding quick.
func seedImages(tb testing.TB, n int) *Store {
	tb.Helper()
	dir := tb.TempDir()
	blobs, _ := storage.NewFS(dir)
	s, err := Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	pkgs := make([]catalog.Package, 300)
	for i := range pkgs {
		pkgs[i] = catalog.Package{Name: fmt.Sprintf("pkg%03d", i), Version: "1.0-1", Architecture: "amd64"}
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = s.db.Update(func(tx *bolt.Tx) error {
		for i := range n {
			img := &Image{Name: "web-base", Version: fmt.Sprintf("2026.%05d", i), OS: "debian", OSVersion: "12", Arch: "amd64",
				Packages: pkgs, Labels: map[string]string{"team": "platform"}, Created: start.Add(time.Duration(i) * time.Minute)}
			for _, r := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
				img.Artifacts = append(img.Artifacts, catalog.Artifact{Provider: "aws", Region: r, ID: fmt.Sprintf("ami-%05d-%s", i, r)})
			}
			if err := putImageRecord(tx, img); err != nil {
				return err
			}
			if err := tx.Bucket(bucketImagePkgs).Put(imageKey(img.Name, img.Version), encodePackageList(img.Packages)); err != nil {
				return err
			}
			if err := indexImage(tx, img); err != nil {
				return err
			}
		}
		return s.moveChannel(tx, "web-base", "prod", "2026.00000", "")
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkFindImage10k resolves lookups among 10,000 versions: the
// newest in a region, and a channel's version.
func BenchmarkFindImage10k(b *testing.B) {
	s := seedImages(b, 10000)
	q := Query{Name: "web-base", OS: "debian", OSVersion: "12", Arch: "amd64", Region: "us-west-2"}
	for _, c := range []struct {
		name    string
		channel string
		want    string
	}{{"newest", "", "ami-09999-us-west-2"}, {"channel", "prod", "ami-00000-us-west-2"}} {
		b.Run(c.name, func(b *testing.B) {
			q.Channel = c.channel
			for b.Loop() {
				f, err := s.FindImage(q)
				if err != nil || f.Artifact.ID != c.want {
					b.Fatalf("%v %+v", err, f)
				}
			}
		})
	}
}

func TestPkgIDsBackfill(t *testing.T) {
	dir := t.TempDir()
	blobs, _ := storage.NewFS(dir)
	path := filepath.Join(dir, "kiln.db")
	s, err := Open(path, blobs)
	if err != nil {
		t.Fatal(err)
	}
	p := fakePackage(1)
	s.db.Update(func(tx *bolt.Tx) error {
		if err := putPackage(tx, p); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketPkgIDs) // as a database from before the index
	})
	s.Close()
	if s, err = Open(path, blobs); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.View(func(tx *bolt.Tx) error {
		got := debsOf(tx, catalog.Package{Name: p.Name, Version: p.Version, Architecture: p.Architecture})
		if len(got) != 1 || got[0] != p.SHA256 {
			t.Errorf("after reopening, the index gives %v, want [%s]", got, p.SHA256)
		}
		return nil
	})
}
