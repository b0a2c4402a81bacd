package gc_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/repo/gc"
)

// TestDebKeptWhileSomethingRefersToIt: a .deb is kept, byte for byte, by
// each thing that may keep one, and freed, with its record, once that
// thing lets it go.
func TestDebKeptWhileSomethingRefersToIt(t *testing.T) {
	spec := debtest.Spec{Name: "hello", Version: "1.0", Arch: "amd64", DataSize: 64 << 10}
	ident := catalog.Package{Name: "hello", Version: "1.0", Architecture: "amd64"}
	cases := []struct {
		name string
		keep func(f *fixture, pkg *repo.Package) // before the first collection
		free func(f *fixture)                    // lets go of it
	}{
		{"repository version", func(f *fixture, pkg *repo.Package) { f.add("r", pkg) },
			func(f *fixture) { f.check(f.store.DeleteRepo("r", false)) }},
		{"snapshot, its repository deleted", func(f *fixture, pkg *repo.Package) {
			f.add("r", pkg)
			f.check2(f.store.CreateSnapshot("s", "r", -1, ""))
			f.check(f.store.DeleteRepo("r", true))
		}, func(f *fixture) { f.check(f.store.DeleteSnapshot("s")) }},
		{"package-set group", func(f *fixture, _ *repo.Package) {
			f.group("app-prod-v001", repo.GroupArtifact{Kind: repo.KindPackages, Packages: []catalog.Package{ident}})
		}, func(f *fixture) { f.destroy("app-prod-v001") }},
		{"image version a live group was built from", func(f *fixture, _ *repo.Package) {
			f.bake("web-base", "1", ident)
			f.group("app-prod-v002", repo.GroupArtifact{Kind: repo.KindImage, Image: "web-base@1"})
		}, func(f *fixture) { f.destroy("app-prod-v002") }},
		{"image version a channel points at", func(f *fixture, _ *repo.Package) {
			f.bake("web-base", "1", ident)
			f.check2(f.store.Promote("web-base", "1", "prod"))
		}, func(f *fixture) {
			f.bake("web-base", "2") // the channel moves on to a version without it
			f.check2(f.store.Promote("web-base", "2", "prod"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			deb := debtest.Build(spec)
			pkg, err := f.store.Ingest(f.ctx, bytes.NewReader(deb), "hello.deb")
			f.check(err)
			c.keep(f, pkg)
			rep := f.collect()
			f.wantBlob(pkg.Digest(), deb)
			if rep.Deleted != 0 {
				t.Fatalf("kept: %+v", rep)
			}
			if kept, err := f.store.KeptPackageShas(); err != nil || !kept[pkg.SHA256] {
				t.Fatalf("mark does not list the kept package: %v", err)
			}
			c.free(f)
			rep = f.collect()
			if f.exists(pkg.Digest()) {
				t.Fatalf("freed: blob still stored: %+v", rep)
			}
			if k := rep.Kinds[gc.KindDeb]; k.Count != 1 || k.Bytes != int64(len(deb)) {
				t.Errorf("report by kind %+v, want 1 deb of %d bytes", rep.Kinds, len(deb))
			}
			f.wantNoRecord(pkg.SHA256)
		})
	}
}

// TestForceReplacedBytesFreed: the bytes a --force-replace displaced are
// garbage once no listed version holds them (keep-versions 1).
func TestForceReplacedBytesFreed(t *testing.T) {
	f := newFixture(t)
	f.check2(f.store.CreateRepo(repo.Repo{Name: "r", Policy: repo.Policy{KeepVersions: 1}}))
	old := debtest.Build(debtest.Spec{Name: "hello", Version: "1.0", DataSize: 1000})
	now := debtest.Build(debtest.Spec{Name: "hello", Version: "1.0", DataSize: 2000})
	oldPkg, newPkg := f.ingest(old), f.ingest(now)
	f.check2(f.store.Add("r", []string{oldPkg.SHA256}, false))
	f.check2(f.store.Add("r", []string{newPkg.SHA256}, true))
	rep := f.collect()
	if f.exists(oldPkg.Digest()) || rep.Kinds[gc.KindDeb].Bytes != int64(len(old)) {
		t.Fatalf("replaced bytes not freed: %+v", rep)
	}
	f.wantBlob(newPkg.Digest(), now)
	f.wantNoRecord(oldPkg.SHA256)
}

// TestDryRunListsDebs: a dry run names each blob it would free with its
// kind and why, and frees nothing.
func TestDryRunListsDebs(t *testing.T) {
	f := newFixture(t)
	deb := debtest.Build(debtest.Spec{Name: "orphan", Version: "1.0"})
	pkg := f.ingest(deb) // into no repository: only the grace period keeps it
	rep, err := gc.Collect(f.ctx, f.store, f.reg, gc.Options{Now: later, DryRun: true})
	f.check(err)
	if len(rep.Freed) != 1 || rep.Freed[0].Digest != pkg.Digest() || rep.Freed[0].Kind != gc.KindDeb ||
		rep.Freed[0].Size != int64(len(deb)) || rep.Freed[0].Why == "" {
		t.Fatalf("dry run listed %+v", rep.Freed)
	}
	f.wantBlob(pkg.Digest(), deb)
	if _, err := f.store.GetPackage(pkg.SHA256); err != nil {
		t.Fatalf("a dry run dropped the record: %v", err)
	}
}

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) check2(_ any, err error) {
	f.t.Helper()
	f.check(err)
}

func (f *fixture) ingest(deb []byte) *repo.Package {
	f.t.Helper()
	pkg, err := f.store.Ingest(f.ctx, bytes.NewReader(deb), "p.deb")
	f.check(err)
	return pkg
}

func (f *fixture) add(name string, pkg *repo.Package) {
	f.t.Helper()
	f.check2(f.store.CreateRepo(repo.Repo{Name: name}))
	f.check2(f.store.Add(name, []string{pkg.SHA256}, false))
}

func (f *fixture) group(name string, a repo.GroupArtifact) {
	f.t.Helper()
	_, _, err := f.store.RecordGroup(repo.Group{Name: name, Artifact: a}, "")
	f.check(err)
}

func (f *fixture) destroy(name string) {
	f.t.Helper()
	f.check2(f.store.AddGroupEvent(name, repo.StateDestroyed, ""))
}

func (f *fixture) bake(name, version string, pkgs ...catalog.Package) {
	f.t.Helper()
	_, _, err := f.store.PushImage(f.ctx, repo.Image{Name: name, Version: version, OS: "debian", OSVersion: "12", Arch: "amd64", Packages: pkgs,
		Artifacts: []catalog.Artifact{{Provider: "aws", Region: "us-east-1", ID: "ami-0abc" + version}}})
	f.check(err)
}

// collect runs a collection with no grace period, an hour ahead.
func (f *fixture) collect() *gc.Report {
	f.t.Helper()
	rep, err := gc.Collect(f.ctx, f.store, f.reg, gc.Options{Now: later})
	f.check(err)
	return rep
}

// wantNoRecord: no package record, control stanza or lookup names sha.
func (f *fixture) wantNoRecord(sha string) {
	f.t.Helper()
	if _, err := f.store.GetPackage(sha); !errors.Is(err, repo.ErrPackageNotFound) {
		f.t.Errorf("record of a freed package: %v", err)
	}
	if got, err := f.store.HasPackages(f.ctx, []string{sha}); err != nil || len(got) != 0 {
		f.t.Errorf("HasPackages of a freed package = %v, %v", got, err)
	}
}

// TestDiskOfDeletedImageFreed: the disk of a deleted image version is
// freed and counted as a disk.
func TestDiskOfDeletedImageFreed(t *testing.T) {
	f := newFixture(t)
	data := bytes.Repeat([]byte("qcow"), 1000)
	disk, err := f.store.PutBlob(f.ctx, bytes.NewReader(data), digest(data))
	f.check(err)
	_, _, err = f.store.PushImage(f.ctx, repo.Image{Name: "base", Version: "1", OS: "debian", OSVersion: "12", Arch: "amd64",
		Disks: []repo.Disk{{Filename: "disk.raw", Digest: disk.Digest, Size: disk.Size}}})
	f.check(err)
	if rep := f.collect(); rep.Deleted != 0 {
		t.Fatalf("disk of a stored image version freed: %+v", rep)
	}
	f.check2(f.store.DeleteImage("base", "1", false))
	rep := f.collect()
	if k := rep.Kinds[gc.KindDisk]; k.Count != 1 || k.Bytes != int64(len(data)) || f.exists(disk.Digest) {
		t.Fatalf("by kind %+v, stored %v", rep.Kinds, f.exists(disk.Digest))
	}
}
