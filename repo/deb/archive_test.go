package deb_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestCheckArchive passes whole files and broken ones through CheckArchive.
// dpkg is the reference: where dpkg-deb -c is installed, each verdict is
// compared with its own. kiln is stricter in one place, on purpose: bytes
// after the last member that are not a member (dpkg-deb stops reading at
// data.tar and never sees them) are refused, as a sign of a damaged upload.
func TestCheckArchive(t *testing.T) {
	m := debtest.Members(debtest.Spec{DataSize: 5000})
	good := debtest.Ar(m...)
	sig := debtest.Member{Name: "_gpgorigin", Data: []byte("sig")} // odd size: padded
	signed := debtest.Ar(m[0], m[1], m[2], sig)
	extra := debtest.Member{Name: "extra", Data: []byte("abc")}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	missing := func(cut int) string { // the reason when the file is cut by cut bytes
		size := len(m[2].Data)
		return fmt.Sprintf(`member "data.tar.gz" is truncated: %d of %d bytes missing`, cut-size%2, size)
	}
	for _, tc := range []struct {
		name      string
		deb       []byte
		phrase    string // "" for accepted
		dpkgAgree bool   // dpkg-deb -c gives the same verdict
	}{
		{"whole", good, "", true},
		{"signature member after data", signed, "", true},
		{"final pad byte missing", signed[:len(signed)-1], "", true},
		{"signature member before control", debtest.Ar(m[0], sig, m[1], m[2]), "", true},
		{"signature member between control and data", debtest.Ar(m[0], m[1], sig, m[2]), "", true},
		{"other member after data", debtest.Ar(m[0], m[1], m[2], extra), "", true},
		{"data member cut by 100 bytes", good[:len(good)-100], missing(100), true},
		{"data member cut by 2 bytes", good[:len(good)-2], missing(2), true},
		{"cut in the data member header", good[:len(good)-len(m[2].Data)-20], "truncated ar member header", true},
		{"no data member", debtest.Ar(m[0], m[1]), "no data.tar member", true},
		{"member before control", debtest.Ar(m[0], extra, m[1], m[2]), `member "extra" before data.tar`, true},
		{"member between control and data", debtest.Ar(m[0], m[1], extra, m[2]), `member "extra" before data.tar`, true},
		{"two control members", debtest.Ar(m[0], m[1], m[1], m[2]), "two control members", true},
		{"trailing garbage", cat(good, []byte("garbage!")), "8 bytes after the last member", false},
		{"trailing zeros", cat(good, make([]byte, 1024)), `corrupt ar member header after "data.tar.gz"`, false},
		{"last member cut", signed[:len(signed)-3], `member "_gpgorigin" is truncated: 2 of 3 bytes missing`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(deb.CheckArchive(bytes.NewReader(tc.deb)))
			if tc.phrase != "" {
				checkInvalid(t, err, tc.phrase)
			} else if err != nil || !bytes.Equal(got, tc.deb) {
				t.Fatalf("read %d of %d bytes: %v", len(got), len(tc.deb), err)
			}
			t.Log(err)
			if dpkg := dpkgAccepts(t, tc.deb); dpkg != nil && (*dpkg == (tc.phrase == "")) != tc.dpkgAgree {
				t.Errorf("dpkg-deb -c accepts: %v; kiln: %v (want them to agree: %v)", *dpkg, err, tc.dpkgAgree)
			}
		})
	}
}

// dpkgAccepts tells whether dpkg-deb -c reads b without error; nil when
// dpkg-deb is not installed.
func dpkgAccepts(t *testing.T, b []byte) *bool {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Log("dpkg-deb not installed (apt-get install dpkg): verdicts not compared with dpkg's")
		return nil
	}
	f := filepath.Join(t.TempDir(), "p.deb")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ok := exec.Command("dpkg-deb", "-c", f).Run() == nil
	return &ok
}
