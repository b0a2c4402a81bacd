package repo_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage"
)

func debtestSpec(name, version string) debtest.Spec {
	return debtest.Spec{Name: name, Version: version, Arch: "amd64"}
}

func record(t testing.TB, s *repo.Store, g repo.Group) *repo.GroupInfo {
	t.Helper()
	info, _, err := s.RecordGroup(g, "")
	if err != nil {
		t.Fatalf("record %s: %v", g.Name, err)
	}
	return info
}

func groupDump(t testing.TB, s *repo.Store) string {
	t.Helper()
	gs, _ := s.ListGroups(repo.GroupFilter{})
	b, _ := json.Marshal(gs)
	return string(b)
}

func names2(hits []repo.WhichHit) string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Name)
	}
	return strings.Join(out, " ")
}

// catalogStore holds two web-base versions (the second with openssl
// upgraded) and three groups built from them.
func catalogStore(t *testing.T) (*repo.Store, *time.Time) {
	s, _ := newStore(t)
	now := clock(s)
	old := image("web-base", "2026.11.14-1", "us-east-1")
	old.Packages = fixturePackages(t)
	push(t, s, old)
	cur := image("web-base", "2026.11.21-3", "us-east-1", "us-west-2")
	cur.Packages = fixturePackages(t)
	for i, p := range cur.Packages {
		switch p.Name {
		case "openssl", "libssl3":
			cur.Packages[i].Version = "3.0.15-1~deb12u1"
		case "nginx":
			cur.Packages = append(cur.Packages[:i], cur.Packages[i+1:]...)
		}
	}
	cur.Packages = append(cur.Packages, catalog.Package{Name: "jq", Version: "1.6-2.1", Architecture: "amd64"})
	push(t, s, cur)
	record(t, s, repo.Group{Name: "myapp-prod-v003", Artifact: repo.GroupArtifact{Image: "web-base@2026.11.14-1"}, Region: "us-east-1", DeployedBy: "spinnaker"})
	*now = now.Add(40 * 24 * time.Hour)
	record(t, s, repo.Group{Name: "myapp-prod-v004", Artifact: repo.GroupArtifact{Image: "web-base@2026.11.21-3"}, Region: "us-east-1", DeployedBy: "spinnaker"})
	record(t, s, repo.Group{Name: "myapp-canary-v012", Artifact: repo.GroupArtifact{OCI: "repo:8080/myapp/web@sha256:" + strings.Repeat("ab", 32)}})
	return s, now
}

func TestGroupRecordIsAppendOnly(t *testing.T) {
	s, _ := catalogStore(t)
	info, err := s.GetGroup("myapp-prod-v004")
	if err != nil || info.App != "myapp" || info.Stack != "prod" || info.Sequence != 4 || info.Cluster != "myapp-prod" ||
		info.Artifact.Kind != repo.KindImage || info.Artifact.ImageID != "ami-20261121-3-us-east-1" || info.State != repo.StateEnabled {
		t.Fatalf("show: %v %+v", err, info)
	}
	if _, created, err := s.RecordGroup(repo.Group{Name: "myapp-prod-v004", Artifact: repo.GroupArtifact{Image: "web-base@2026.11.21-3"}, Region: "us-east-1"}, ""); err != nil || created {
		t.Fatalf("same record again: %v %v", created, err)
	}
	before := groupDump(t, s)
	for _, c := range []struct {
		name string
		g    repo.Group
		want error
	}{
		{"other artifact", repo.Group{Name: "myapp-prod-v004", Artifact: repo.GroupArtifact{Image: "web-base@2026.11.14-1"}, Region: "us-east-1"}, repo.ErrGroupConflict},
		{"other region", repo.Group{Name: "myapp-prod-v004", Artifact: repo.GroupArtifact{Image: "web-base@2026.11.21-3"}, Region: "us-west-2"}, repo.ErrGroupConflict},
		{"bad name", repo.Group{Name: "myapp-prod", Artifact: repo.GroupArtifact{Image: "web-base@2026.11.21-3"}}, catalog.ErrInvalidGroupName},
		{"unknown image", repo.Group{Name: "myapp-prod-v005", Artifact: repo.GroupArtifact{Image: "web-base@2099.01.01-1"}}, repo.ErrImageNotFound},
		{"unknown image name", repo.Group{Name: "myapp-prod-v005", Artifact: repo.GroupArtifact{Image: "nope@1"}}, repo.ErrImageNotFound},
		{"image lacks region", repo.Group{Name: "myapp-prod-v005", Artifact: repo.GroupArtifact{Image: "web-base@2026.11.14-1"}, Region: "eu-west-1"}, repo.ErrNoMatch},
		{"two artifacts", repo.Group{Name: "myapp-prod-v005", Artifact: repo.GroupArtifact{Image: "web-base@2026.11.14-1", OCI: "r/x@sha256:" + strings.Repeat("a", 64)}}, repo.ErrInvalidArgument},
		{"no artifact", repo.Group{Name: "myapp-prod-v005"}, repo.ErrInvalidArgument},
		{"tag only", repo.Group{Name: "myapp-prod-v005", Artifact: repo.GroupArtifact{OCI: "repo:8080/myapp/web:latest"}}, catalog.ErrInvalidReference},
	} {
		if _, _, err := s.RecordGroup(c.g, ""); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if groupDump(t, s) != before {
		t.Fatal("refused records changed the store")
	}
}

func TestGroupEventsAndList(t *testing.T) {
	s, _ := catalogStore(t)
	if _, err := s.AddGroupEvent("myapp-prod-v003", "disabled", "replaced by v004"); err != nil {
		t.Fatal(err)
	}
	info, err := s.AddGroupEvent("myapp-prod-v003", "destroyed", "")
	if err != nil || info.State != "destroyed" || len(info.Events) != 3 || info.Events[1].Note != "replaced by v004" {
		t.Fatalf("events: %v %+v", err, info)
	}
	if info, _ := s.AddGroupEvent("myapp-prod-v003", "destroyed", ""); len(info.Events) != 3 {
		t.Fatal("the same state again must be a no-op")
	}
	for _, c := range []struct {
		name, state string
		want        error
	}{
		{"myapp-prod-v003", "enabled", repo.ErrGroupDestroyed},
		{"myapp-prod-v004", "exploded", repo.ErrInvalidArgument},
		{"myapp-prod-v999", "enabled", repo.ErrGroupNotFound},
	} {
		if _, err := s.AddGroupEvent(c.name, c.state, ""); !errors.Is(err, c.want) {
			t.Errorf("%s %s: %v", c.name, c.state, err)
		}
	}
	for _, c := range []struct {
		f    repo.GroupFilter
		want string
	}{
		{repo.GroupFilter{}, "myapp-canary-v012 myapp-prod-v003 myapp-prod-v004"},
		{repo.GroupFilter{Cluster: "myapp-prod"}, "myapp-prod-v003 myapp-prod-v004"},
		{repo.GroupFilter{Cluster: "myapp-prod", State: "active"}, "myapp-prod-v004"},
		{repo.GroupFilter{App: "myapp", State: "destroyed"}, "myapp-prod-v003"},
		{repo.GroupFilter{Cluster: "myapp-prod", OlderThan: 30 * 24 * time.Hour}, "myapp-prod-v003"},
		{repo.GroupFilter{App: "other"}, ""},
	} {
		gs, err := s.ListGroups(c.f)
		var got []string
		for _, g := range gs {
			got = append(got, g.Name)
		}
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("%+v: %v %q, want %q", c.f, err, got, c.want)
		}
	}
	if _, err := s.ListGroups(repo.GroupFilter{State: "running"}); !errors.Is(err, repo.ErrInvalidArgument) {
		t.Errorf("unknown state filter: %v", err)
	}
}

func TestWhichDiffDrift(t *testing.T) {
	s, _ := catalogStore(t)
	pkgs := []catalog.Package{{Name: "openssl", Version: "3.0.11-1~deb12u1", Architecture: "amd64"}, {Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Architecture: "amd64"}}
	record(t, s, repo.Group{Name: "batch-v001", Artifact: repo.GroupArtifact{Packages: pkgs}})
	which := func(q repo.WhichQuery) string {
		t.Helper()
		hits, err := s.Which(q)
		if err != nil {
			t.Fatal(err)
		}
		return names2(hits)
	}
	openssl := &catalog.PackageSpec{Name: "openssl", Version: "3.0.11-1~deb12u1"}
	if got := which(repo.WhichQuery{Package: openssl, State: "active"}); got != "batch-v001 myapp-prod-v003" {
		t.Fatalf("which openssl: %q", got)
	}
	s.AddGroupEvent("myapp-prod-v003", "destroyed", "")
	if got := which(repo.WhichQuery{Package: openssl, State: "active"}); got != "batch-v001" {
		t.Fatalf("which openssl, active, after destroy: %q", got)
	}
	if got := which(repo.WhichQuery{Package: openssl}); got != "batch-v001 myapp-prod-v003" {
		t.Fatalf("which openssl, any state: %q", got)
	}
	if got := which(repo.WhichQuery{Package: &catalog.PackageSpec{Name: "openssl", Version: "3.0.11-1~deb12u1", Architecture: "arm64"}}); got != "" {
		t.Fatalf("which openssl:arm64: %q", got)
	}
	if got := which(repo.WhichQuery{Image: "web-base@2026.11.21-3"}); got != "myapp-prod-v004" {
		t.Fatalf("which image: %q", got)
	}
	if _, err := s.Which(repo.WhichQuery{Image: "web-base@2099.01.01-1"}); !errors.Is(err, repo.ErrImageNotFound) {
		t.Fatalf("which of an unknown image: %v", err)
	}
	if got := which(repo.WhichQuery{OCI: storage.Digest("sha256:" + strings.Repeat("ab", 32))}); got != "myapp-canary-v012" {
		t.Fatalf("which oci: %q", got)
	}
	d, err := s.DiffGroups("myapp-prod-v003", "myapp-prod-v004")
	if err != nil || len(d.Added) != 1 || d.Added[0].Name != "jq" || len(d.Removed) != 1 || d.Removed[0].Name != "nginx" ||
		len(d.Changed) != 2 || d.Changed[0] != (catalog.Change{Name: "libssl3", Architecture: "amd64", From: "3.0.11-1~deb12u1", To: "3.0.15-1~deb12u1"}) {
		t.Fatalf("diff: %v %+v", err, d)
	}
	if _, err := s.DiffGroups("myapp-prod-v004", "myapp-canary-v012"); !errors.Is(err, repo.ErrNoPackageList) {
		t.Fatalf("diff with an OCI group: %v", err)
	}
	host := fixturePackages(t) // the v003 image's list: this host never got v004's upgrades
	d, err = s.Drift("myapp-prod-v004", host)
	if err != nil || len(d.Added) != 1 || d.Added[0].Name != "nginx" || len(d.Removed) != 1 || d.Removed[0].Name != "jq" || len(d.Changed) != 2 {
		t.Fatalf("drift: %v %+v", err, d)
	}
	if d, err := s.Drift("myapp-prod-v003", host); err != nil || len(d.Added)+len(d.Removed)+len(d.Changed) != 0 {
		t.Fatalf("no drift: %v %+v", err, d)
	}
}

func TestReferentialIntegrity(t *testing.T) {
	s, _ := catalogStore(t)
	ssl := ingest(t, s, debtestSpec("openssl", "3.0.15-1~deb12u1"))
	unused := ingest(t, s, debtestSpec("openssl", "3.0.99-1"))
	blobs, err := s.GroupReferencedBlobs()
	if err != nil {
		t.Fatal(err)
	}
	has := func(d storage.Digest) bool {
		for _, b := range blobs {
			if b == d {
				return true
			}
		}
		return false
	}
	oci := storage.Digest("sha256:" + strings.Repeat("ab", 32))
	if !has(ssl.Digest()) || !has(oci) || has(unused.Digest()) {
		t.Fatalf("GroupReferencedBlobs: %v", blobs)
	}
	if users, _ := s.ActiveGroupsUsing(ssl.Digest()); strings.Join(users, " ") != "myapp-prod-v004" {
		t.Fatalf("users of the openssl .deb: %v", users)
	}
	if users, _ := s.ActiveGroupsUsing(oci); strings.Join(users, " ") != "myapp-canary-v012" {
		t.Fatalf("users of the manifest: %v", users)
	}
	info, _ := s.GetImage("web-base", "2026.11.21-3")
	linked := false
	for _, p := range info.Image.Packages {
		if p.Name == "openssl" && len(p.Debs) == 1 && p.Debs[0] == ssl.SHA256 {
			linked = true
		}
	}
	if !linked || strings.Join(info.Groups, " ") != "myapp-prod-v004" {
		t.Fatalf("image show should link openssl to its .deb and name its group: %+v", info)
	}
	before := dump(t, s)
	if _, err := s.DeleteImage("web-base", "2026.11.21-3", false); !errors.Is(err, repo.ErrInUse) || !strings.Contains(err.Error(), "myapp-prod-v004") {
		t.Fatalf("delete of an image an active group runs: %v", err)
	}
	if dump(t, s) != before {
		t.Fatal("refused delete changed the store")
	}
	s.AddGroupEvent("myapp-prod-v003", "destroyed", "")
	if _, err := s.DeleteImage("web-base", "2026.11.14-1", false); err != nil {
		t.Fatalf("delete of an image only destroyed groups used: %v", err)
	}
	s.Promote("web-base", "2026.11.21-3", "prod")
	broken, err := s.DeleteImage("web-base", "2026.11.21-3", true)
	if err != nil || strings.Join(broken.Groups, " ") != "myapp-prod-v004" || strings.Join(broken.Channels, " ") != "prod" {
		t.Fatalf("forced delete: %v %+v", err, broken)
	}
	if ch, _ := s.GetChannel("web-base", "prod"); ch.Version != "" || len(ch.History) != 2 {
		t.Fatalf("channel after its version was deleted: %+v", ch)
	}
	if hits, _ := s.Which(repo.WhichQuery{Package: &catalog.PackageSpec{Name: "jq", Version: "1.6-2.1"}}); len(hits) != 0 {
		t.Fatalf("deleted image still indexed: %v", names2(hits))
	}
}
