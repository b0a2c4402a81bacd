package main

import (
	"debug/elf"
	"encoding/json"
	"os/exec"
	"regexp"
	"testing"
)

// TestBinaryStaticAndVersioned: the binary built as the README says links
// nothing at run time (no ELF interpreter, no shared libraries), and
// `kiln version` names the git revision it was built from, as the Go
// toolchain recorded it.
func TestBinaryStaticAndVersioned(t *testing.T) {
	bin := kilnBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary links %v (%v)", libs, err)
	}
	out, err := exec.Command(bin, "version", "-o", "json", "--url", "http://127.0.0.1:1").Output()
	if err != nil {
		t.Fatalf("kiln version: %v", err)
	}
	var v versionOutput
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("kiln version -o json: %v: %s", err, out)
	}
	rev, _ := exec.Command("git", "rev-parse", "HEAD").Output()
	if want := string(regexp.MustCompile(`[0-9a-f]{40}`).Find(rev)); want == "" || v.Client.Revision != want {
		t.Errorf("revision %q, want HEAD %q", v.Client.Revision, want)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+`).MatchString(v.Client.Version) || v.Client.Time == "" || v.Server != "" {
		t.Errorf("kiln version: %+v", v)
	}
}
