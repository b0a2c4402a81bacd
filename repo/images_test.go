package repo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// clock is a test clock that moves a second per reading.
func clock(s *repo.Store) *time.Time {
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { t = t.Add(time.Second); return t })
	return &t
}

func image(name, version string, regions ...string) repo.Image {
	img := repo.Image{Name: name, Version: version, OS: "debian", OSVersion: "12", Arch: "amd64"}
	for _, r := range regions {
		img.Artifacts = append(img.Artifacts, catalog.Artifact{Provider: "aws", Region: r, ID: "ami-" + strings.ReplaceAll(version, ".", "") + "-" + r})
	}
	return img
}

func push(t testing.TB, s *repo.Store, img repo.Image) *repo.Image {
	t.Helper()
	got, _, err := s.PushImage(context.Background(), img)
	if err != nil {
		t.Fatalf("push %s@%s: %v", img.Name, img.Version, err)
	}
	return got
}

func fixturePackages(t testing.TB) []catalog.Package {
	t.Helper()
	data, err := os.ReadFile("../testdata/catalog/dpkg-list.txt")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := catalog.ParseDpkgList(data)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// dump is every stored image record, for "nothing changed" checks.
func dump(t testing.TB, s *repo.Store) string {
	t.Helper()
	imgs, _ := s.ListImages("")
	b, _ := json.Marshal(imgs)
	return string(b)
}

func TestPushImmutable(t *testing.T) {
	s, _ := newStore(t)
	clock(s)
	img := image("web-base", "2026.11.21-3", "us-east-1", "us-west-2")
	img.Packages, img.Labels, img.Commit = fixturePackages(t), map[string]string{"team": "platform"}, "3f9c2e1"
	first, created, err := s.PushImage(context.Background(), img)
	if err != nil || !created {
		t.Fatalf("first push: %v %v", created, err)
	}
	again, created, err := s.PushImage(context.Background(), img)
	if err != nil || created || !again.Created.Equal(first.Created) {
		t.Fatalf("same push again must be a no-op: created %v, %v", created, err)
	}
	before := dump(t, s)
	other := img
	other.Commit = "deadbee"
	other.Artifacts = []catalog.Artifact{{Provider: "aws", Region: "us-east-1", ID: "ami-other"}}
	_, _, err = s.PushImage(context.Background(), other)
	if !errors.Is(err, repo.ErrImageConflict) || !strings.Contains(err.Error(), "artifacts, commit") {
		t.Fatalf("different content: %v", err)
	}
	if dump(t, s) != before {
		t.Fatal("a refused push changed the store")
	}
}

func TestPushBadInput(t *testing.T) {
	s, blobs := newStore(t)
	push(t, s, image("debian-12-base", "2026.11.01-1", "us-east-1"))
	before := dump(t, s)
	withBase := image("web", "1", "us-east-1")
	withBase.Base = "debian-12-base@2026.10.01-1"
	dup := image("web", "1", "us-east-1")
	dup.Packages = []catalog.Package{{Name: "bash", Version: "5.2", Architecture: "amd64"}, {Name: "bash", Version: "5.3", Architecture: "amd64"}}
	badPkg := image("web", "1", "us-east-1")
	badPkg.Packages = []catalog.Package{{Name: "bash", Version: "five", Architecture: "amd64"}}
	noArtifact := image("web", "1")
	badLabel := image("web", "1", "us-east-1")
	badLabel.Labels = map[string]string{"team": "a\nb"}
	badURL := image("web", "1", "us-east-1")
	badURL.BuildURL = "javascript:alert(1)"
	disk := image("web", "1")
	disk.Disks = []repo.Disk{{Filename: "web.qcow2", Format: "qcow2", Digest: storage.Digest("sha256:" + strings.Repeat("0", 64)), Size: 3}}
	for _, c := range []struct {
		name string
		img  repo.Image
		want error
	}{
		{"slash in version", image("web", "1/2", "us-east-1"), repo.ErrInvalidName},
		{"space in version", image("web", "1 2", "us-east-1"), repo.ErrInvalidName},
		{"tab in name", image("we\tb", "1", "us-east-1"), repo.ErrInvalidName},
		{"unknown base", withBase, repo.ErrImageNotFound},
		{"package twice", dup, catalog.ErrInvalidPackageList},
		{"bad package version", badPkg, catalog.ErrInvalidPackageList},
		{"no artifact", noArtifact, catalog.ErrInvalidArtifact},
		{"label with newline", badLabel, repo.ErrInvalidName},
		{"build URL", badURL, repo.ErrInvalidName},
		{"disk not uploaded", disk, repo.ErrDiskNotFound},
	} {
		if _, _, err := s.PushImage(context.Background(), c.img); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if dump(t, s) != before {
		t.Fatal("refused pushes changed the store")
	}
	desc, err := blobs.Put(context.Background(), bytes.NewReader([]byte("qcow")), "")
	if err != nil {
		t.Fatal(err)
	}
	disk.Disks[0].Digest, disk.Disks[0].Size = desc.Digest, 4
	if _, _, err := s.PushImage(context.Background(), disk); err != nil {
		t.Fatalf("disk-only image with its blob uploaded: %v", err)
	}
	if bl, _ := s.ImageBlobs(); len(bl) != 1 || bl[0] != desc.Digest {
		t.Fatalf("ImageBlobs: %v", bl)
	}
}

func find(s *repo.Store, region, channel string, labels map[string]string) (string, error) {
	f, err := s.FindImage(repo.Query{Name: "web-base", OS: "debian", OSVersion: "12", Arch: "amd64", Region: region, Channel: channel, Labels: labels})
	if err != nil {
		return "", err
	}
	return f.Image.Version + " " + f.Artifact.ID, nil
}

func TestFindChannelsRevocation(t *testing.T) {
	s, _ := newStore(t)
	clock(s)
	a := image("web-base", "2026.11.14-1", "us-east-1", "us-west-2")
	a.Labels = map[string]string{"team": "platform"}
	push(t, s, a)
	push(t, s, image("web-base", "2026.11.21-3", "us-east-1"))
	arm := image("web-base", "2026.11.22-1", "us-east-1")
	arm.Arch = "arm64"
	push(t, s, arm)

	for _, c := range []struct {
		region, channel string
		labels          map[string]string
		want            string
		err             error
	}{
		{"us-east-1", "", nil, "2026.11.21-3 ami-20261121-3-us-east-1", nil},
		{"us-west-2", "", nil, "2026.11.14-1 ami-20261114-1-us-west-2", nil},
		{"us-east-1", "", map[string]string{"team": "platform"}, "2026.11.14-1 ami-20261114-1-us-east-1", nil},
		{"eu-west-1", "", nil, "", repo.ErrNoMatch},
		{"us-east-1", "", map[string]string{"team": "web"}, "", repo.ErrNoMatch},
		{"us-east-1", "prod", nil, "", repo.ErrChannelNotFound},
	} {
		got, err := find(s, c.region, c.channel, c.labels)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("%s %s %v: %q %v, want %q %v", c.region, c.channel, c.labels, got, err, c.want, c.err)
		}
	}
	if _, err := s.Promote("web-base", "2026.11.14-1", "prod"); err != nil {
		t.Fatal(err)
	}
	if got, err := find(s, "us-east-1", "prod", nil); err != nil || got != "2026.11.14-1 ami-20261114-1-us-east-1" {
		t.Fatalf("channel prod: %q %v", got, err)
	}
	if _, err := find(s, "eu-west-1", "prod", nil); !errors.Is(err, repo.ErrNoMatch) || !strings.Contains(err.Error(), "us-west-2") {
		t.Fatalf("channel version without the region must say which it has: %v", err)
	}
	if _, err := s.RevokeImage("web-base", "2026.11.14-1", " "); !errors.Is(err, repo.ErrInvalidArgument) {
		t.Fatalf("revoke without reason: %v", err)
	}
	if _, err := s.RevokeImage("web-base", "2026.11.14-1", "CVE-2026-1234 in openssl"); err != nil {
		t.Fatal(err)
	}
	if _, err := find(s, "us-east-1", "prod", nil); !errors.Is(err, repo.ErrImageRevoked) {
		t.Fatalf("channel at a revoked version: %v", err)
	}
	if _, err := find(s, "us-west-2", "", nil); !errors.Is(err, repo.ErrNoMatch) {
		t.Fatalf("a revoked version resolved: %v", err)
	}
	if _, err := s.Promote("web-base", "2026.11.14-1", "dev"); !errors.Is(err, repo.ErrImageRevoked) {
		t.Fatalf("promote to revoked: %v", err)
	}
	if _, err := s.GetChannel("web-base", "dev"); !errors.Is(err, repo.ErrChannelNotFound) {
		t.Fatalf("refused promote created the channel: %v", err)
	}
	s.Promote("web-base", "2026.11.21-3", "prod")
	s.Promote("web-base", "2026.11.21-3", "prod") // no-op
	ch, _ := s.GetChannel("web-base", "prod")
	if ch.Version != "2026.11.21-3" || len(ch.History) != 2 || ch.History[1].Previous != "2026.11.14-1" {
		t.Fatalf("channel history: %+v", ch)
	}
	for _, c := range []struct {
		q    repo.Query
		want error
	}{
		{repo.Query{Name: "nope", OS: "debian", OSVersion: "12", Arch: "amd64", Region: "us-east-1"}, repo.ErrImageNotFound},
		{repo.Query{Name: "web-base", OS: "debian", OSVersion: "12", Arch: "amd64"}, repo.ErrInvalidArgument},
		{repo.Query{Name: "web-base", OS: "debian", OSVersion: "12", Arch: "amd64", Region: "us east"}, repo.ErrInvalidName},
	} {
		if _, err := s.FindImage(c.q); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.q, err, c.want)
		}
	}
}

func TestOutdated(t *testing.T) {
	s, _ := newStore(t)
	clock(s)
	push(t, s, image("debian-12-base", "2026.11.01-1", "us-east-1"))
	push(t, s, image("debian-12-base", "2026.11.15-1", "us-east-1"))
	s.Promote("debian-12-base", "2026.11.01-1", "prod")
	web := image("web-base", "2026.11.21-3", "us-east-1")
	web.Base, web.Packages = "debian-12-base@2026.11.01-1", fixturePackages(t)
	push(t, s, web)
	o, err := s.ImageOutdated("web-base", "2026.11.21-3", "", "")
	if err != nil || o.IsOutdated() {
		t.Fatalf("fresh image: %v %+v", err, o)
	}
	s.Promote("debian-12-base", "2026.11.15-1", "prod")
	mustCreate(t, s, "stable")
	newer := ingest(t, s, debtestSpec("openssl", "3.0.15-1~deb12u1"))
	older := ingest(t, s, debtestSpec("curl", "7.88.1-10+deb12u5"))
	s.Add("stable", []string{newer.SHA256, older.SHA256}, false)
	o, err = s.ImageOutdated("web-base", "2026.11.21-3", "", "stable")
	if err != nil || len(o.Base) != 1 || o.Base[0] != (repo.BaseMove{Channel: "prod", Built: "2026.11.01-1", Now: "2026.11.15-1"}) ||
		len(o.Packages) != 1 || o.Packages[0] != (catalog.Change{Name: "openssl", Architecture: "amd64", From: "3.0.11-1~deb12u1", To: "3.0.15-1~deb12u1"}) {
		t.Fatalf("outdated: %v %+v", err, o)
	}
	if _, err := s.ImageOutdated("web-base", "2026.11.21-3", "beta", ""); !errors.Is(err, repo.ErrChannelNotFound) {
		t.Fatalf("unknown base channel: %v", err)
	}
}
