package catalog_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo/catalog"
)

func TestPackerManifestLastRun(t *testing.T) {
	data, err := os.ReadFile("../../testdata/catalog/packer-manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	arts, err := catalog.ParsePackerManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Artifact{
		{Provider: "aws", Region: "eu-west-1", ID: "ami-0123abcd4567ef890"},
		{Provider: "aws", Region: "us-east-1", ID: "ami-0abc1234def567890"},
		{Provider: "aws", Region: "us-west-2", ID: "ami-0fed9876cba543210"},
	}
	if len(arts) != len(want) {
		t.Fatalf("got %+v", arts)
	}
	for i := range want {
		if arts[i] != want[i] {
			t.Errorf("artifact %d: %+v, want %+v", i, arts[i], want[i])
		}
	}
}

func TestPackerManifestGCE(t *testing.T) {
	arts, err := catalog.ParsePackerManifest([]byte(`{"builds":[{"name":"g","builder_type":"googlecompute","artifact_id":"web-base-1700000000","packer_run_uuid":"u"}],"last_run_uuid":"u"}`))
	if err != nil || len(arts) != 1 || arts[0] != (catalog.Artifact{Provider: "gcp", Region: "global", ID: "web-base-1700000000"}) {
		t.Fatalf("%v %+v", err, arts)
	}
}

func TestPackerManifestBad(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     error
	}{
		{"not json", `{"builds": [`, catalog.ErrInvalidManifest},
		{"array", `[1,2]`, catalog.ErrInvalidManifest},
		{"trailing", `{"builds":[]} x`, catalog.ErrInvalidManifest},
		{"no builds", `{"builds":[],"last_run_uuid":"u"}`, catalog.ErrInvalidManifest},
		{"no build of last run", `{"builds":[{"builder_type":"amazon-ebs","artifact_id":"us-east-1:ami-1","packer_run_uuid":"a"}],"last_run_uuid":"b"}`, catalog.ErrInvalidManifest},
		{"unknown builder", `{"builds":[{"builder_type":"qemu","artifact_id":"VM","packer_run_uuid":"a"}],"last_run_uuid":"a"}`, catalog.ErrInvalidManifest},
		{"no region", `{"builds":[{"builder_type":"amazon-ebs","artifact_id":"ami-123","packer_run_uuid":"a"}],"last_run_uuid":"a"}`, catalog.ErrInvalidArtifact},
		{"empty region", `{"builds":[{"builder_type":"amazon-ebs","artifact_id":"us-east-1:ami-1,:ami-2","packer_run_uuid":"a"}],"last_run_uuid":"a"}`, catalog.ErrInvalidArtifact},
		{"space in id", `{"builds":[{"builder_type":"amazon-ebs","artifact_id":"us-east-1:ami 1","packer_run_uuid":"a"}],"last_run_uuid":"a"}`, catalog.ErrInvalidArtifact},
		{"two ids one region", `{"builds":[{"builder_type":"amazon-ebs","artifact_id":"us-east-1:ami-1,us-east-1:ami-2","packer_run_uuid":"a"}],"last_run_uuid":"a"}`, catalog.ErrInvalidArtifact},
	} {
		if _, err := catalog.ParsePackerManifest([]byte(c.in)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestParseArtifact(t *testing.T) {
	a, err := catalog.ParseArtifact("aws:us-east-1:ami-0abc")
	if err != nil || a != (catalog.Artifact{Provider: "aws", Region: "us-east-1", ID: "ami-0abc"}) {
		t.Fatalf("%v %+v", err, a)
	}
	for _, bad := range []string{"ami-0abc", "aws:ami-0abc", "aws::ami-1", "AWS:us-east-1:ami-1", "aws:us-east-1:"} {
		if _, err := catalog.ParseArtifact(bad); !errors.Is(err, catalog.ErrInvalidArtifact) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDpkgList(t *testing.T) {
	data, _ := os.ReadFile("../../testdata/catalog/dpkg-list.txt")
	ps, err := catalog.ParseDpkgList(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 18 || ps[0].Name != "adduser" || ps[13].Name+"="+ps[13].Version != "openssh-server=1:9.2p1-2+deb12u3" {
		t.Fatalf("%d packages: %+v", len(ps), ps)
	}
	for _, c := range []struct{ name, in string }{
		{"two fields", "openssl\t3.0.11-1~deb12u1\n"},
		{"four fields", "openssl\t3.0.11-1~deb12u1\tamd64\textra\n"},
		{"spaces not tabs", "openssl 3.0.11-1~deb12u1 amd64\n"},
		{"bad version", "openssl\tnot a version\tamd64\n"},
		{"bad name", "OpenSSL\t3.0\tamd64\n"},
		{"empty arch", "openssl\t3.0\t\n"},
		{"twice", "openssl\t3.0\tamd64\nopenssl\t3.1\tamd64\n"},
		{"carriage return", "openssl\t3.0\tamd64\r\n"},
		{"empty", "\n\n"},
	} {
		_, err := catalog.ParseDpkgList([]byte(c.in))
		if !errors.Is(err, catalog.ErrInvalidPackageList) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := catalog.ParseDpkgList([]byte("aa\t1\tamd64\nbb\t2\tamd64\ncc dd\t1\tamd64\n")); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error should name line 3: %v", err)
	}
}

func TestDiffPackages(t *testing.T) {
	from := []catalog.Package{{Name: "a", Version: "1", Architecture: "amd64"}, {Name: "b", Version: "1", Architecture: "amd64"}, {Name: "c", Version: "1", Architecture: "all"}}
	to := []catalog.Package{{Name: "a", Version: "1", Architecture: "amd64"}, {Name: "b", Version: "2", Architecture: "amd64"}, {Name: "d", Version: "1", Architecture: "amd64"}}
	d := catalog.DiffPackages(from, to)
	if len(d.Added) != 1 || d.Added[0].Name != "d" || len(d.Removed) != 1 || d.Removed[0].Name != "c" ||
		len(d.Changed) != 1 || d.Changed[0] != (catalog.Change{Name: "b", Architecture: "amd64", From: "1", To: "2"}) {
		t.Fatalf("%+v", d)
	}
}

func TestGroupNames(t *testing.T) {
	for _, c := range []struct {
		in   string
		want catalog.GroupName
	}{
		{"myapp-v001", catalog.GroupName{App: "myapp", Sequence: 1, Cluster: "myapp"}},
		{"myapp-prod-v004", catalog.GroupName{App: "myapp", Stack: "prod", Sequence: 4, Cluster: "myapp-prod"}},
		{"myapp-prod-canary-east-v012", catalog.GroupName{App: "myapp", Stack: "prod", Detail: "canary-east", Sequence: 12, Cluster: "myapp-prod-canary-east"}},
		{"myapp--blue-v100", catalog.GroupName{App: "myapp", Detail: "blue", Sequence: 100, Cluster: "myapp--blue"}},
		{"myapp-prod-v123456", catalog.GroupName{App: "myapp", Stack: "prod", Sequence: 123456, Cluster: "myapp-prod"}},
	} {
		got, err := catalog.ParseGroupName(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: %v %+v", c.in, err, got)
		}
	}
	for _, bad := range []string{"myapp", "myapp-prod", "myapp-prod-v4", "myapp-prod-v1234567", "-prod-v001", "my app-v001",
		"myapp-prod-vABC", "myapp-pr/od-v001", "myapp--v001", "v001", "myapp-prod-v004 "} {
		if _, err := catalog.ParseGroupName(bad); !errors.Is(err, catalog.ErrInvalidGroupName) {
			t.Errorf("%q parsed: %v", bad, err)
		}
	}
}

func TestReferences(t *testing.T) {
	dg := "sha256:" + strings.Repeat("ab", 32)
	r, err := catalog.ParseOCIRef("repo:8080/myapp/web@" + dg)
	if err != nil || r.Repository != "repo:8080/myapp/web" || string(r.Digest) != dg {
		t.Fatalf("%v %+v", err, r)
	}
	if r, err := catalog.ParseOCIRef("repo:8080/myapp/web:1.2@" + dg); err != nil || r.Repository != "repo:8080/myapp/web" {
		t.Fatalf("tag and digest: %v %+v", err, r)
	}
	for _, bad := range []string{"repo:8080/myapp/web:1.2", "repo/web@sha256:abc", "repo/web@md5:" + strings.Repeat("a", 32), "@" + dg, "no_host@" + dg} {
		if _, err := catalog.ParseOCIRef(bad); !errors.Is(err, catalog.ErrInvalidReference) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if ref, err := catalog.ParseImageRef("web-base@2026.11.21-3"); err != nil || ref.String() != "web-base@2026.11.21-3" {
		t.Fatalf("%v %v", err, ref)
	}
	for _, bad := range []string{"web-base", "@1", "web-base@"} {
		if _, err := catalog.ParseImageRef(bad); !errors.Is(err, catalog.ErrInvalidReference) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if p, err := catalog.ParsePackageSpec("openssl:amd64=3.0.11-1~deb12u1"); err != nil || p != (catalog.PackageSpec{Name: "openssl", Architecture: "amd64", Version: "3.0.11-1~deb12u1"}) {
		t.Fatalf("%v %+v", err, p)
	}
	for _, bad := range []string{"openssl", "openssl=", "=1.0", "openssl=not a version"} {
		if _, err := catalog.ParsePackageSpec(bad); !errors.Is(err, catalog.ErrInvalidReference) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := catalog.ParseAge(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "d", "-1h", "thirty days", "1.5d"} {
		if _, err := catalog.ParseAge(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
