package repo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/query"
)

// TestContentsPageMatchesContents: every page of the latest version,
// read from the identity index, is the same slice of Contents' sorted
// list, also where Debian version order differs from byte order (1.10
// after 1.9, 1.0~rc1 before 1.0) and a name's versions straddle a page.
func TestContentsPageMatchesContents(t *testing.T) {
	s := emptyStore(t)
	if _, err := s.CreateRepo(Repo{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	var shas []string
	for _, p := range [][3]string{{"a", "1.0", "amd64"}, {"a-b", "2", "all"}, {"hello", "1.10", "amd64"}, {"hello", "1.9", "amd64"},
		{"hello", "1.0~rc1", "amd64"}, {"hello", "1.0", "arm64"}, {"hello", "1.0", "amd64"}, {"hello", "1:0.1", "amd64"},
		{"zlib", "1", "amd64"}} {
		shas = append(shas, stored(t, s, p[0], p[1], p[2]))
	}
	mustAdd(t, s, "r", shas...)
	all, _, _ := s.Contents("r", -1, nil)
	for per := 1; per <= 4; per++ {
		for lo := 0; lo <= len(all)+1; lo += per {
			got, total, v, err := s.ContentsPage("r", -1, nil, lo, lo+per)
			want := all[min(lo, len(all)):min(lo+per, len(all))]
			if err != nil || total != len(all) || v != 1 || idents(got) != idents(want) {
				t.Fatalf("page %d+%d: %v %d %q, want %q", lo, per, err, total, idents(got), idents(want))
			}
		}
	}
	if ps, total, _, err := s.ContentsPage("r", -1, func(p *Package) bool { return p.Name == "hello" }, 1, 3); err != nil || total != 6 ||
		idents(ps) != "hello_1.0_amd64 hello_1.0_arm64" {
		t.Fatalf("filtered page: %v %d %q", err, total, idents(ps))
	}
}

// TestContentsPageFieldQueries: a query on control fields, which the page
// reads from the stored stanza's bytes, keeps what Contents keeps (which
// parses each stanza), on fields in any case, continuation lines, empty
// values and absent fields.
func TestContentsPageFieldQueries(t *testing.T) {
	s := emptyStore(t)
	if _, err := s.CreateRepo(Repo{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	var shas []string
	for i, extra := range []deb.Stanza{
		{{Name: "Priority", Value: "extra"}, {Name: "Depends", Value: "libc6 (>= 2.36),\n libssl3"}},
		{{Name: "priority", Value: "optional"}, {Name: "Description", Value: "one\n two\n .\n three"}},
		{{Name: "Priority", Value: "extra"}, {Name: "X-Empty", Value: ""}},
		{{Name: "Section", Value: "web"}},
	} {
		name := fmt.Sprintf("p%d", i)
		sum := sha256.Sum256([]byte(name))
		p := &Package{Name: name, Version: "1.0", Architecture: "amd64", SHA256: hex.EncodeToString(sum[:]),
			Control: append(deb.Stanza{{Name: "Package", Value: name}, {Name: "Version", Value: "1.0"}, {Name: "Architecture", Value: "amd64"}}, extra...)}
		if err := s.db.Update(func(tx *bolt.Tx) error { return putPackage(tx, p) }); err != nil {
			t.Fatal(err)
		}
		shas = append(shas, p.SHA256)
	}
	mustAdd(t, s, "r", shas...)
	for _, q := range []string{"Priority (extra)", "PRIORITY (optional)", "!Priority (extra)", "Depends (~ libssl3$)",
		"Description (% *three)", "X-Empty (% *)", "Section (web) | p0", "Missing (x)"} {
		parsed, err := query.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		match := func(p *Package) bool { return parsed.Match(p) }
		want, _, err := s.Contents("r", -1, match)
		if err != nil {
			t.Fatal(err)
		}
		got, total, _, err := s.ContentsPage("r", -1, match, 0, 10)
		if err != nil || total != len(want) || idents(got) != idents(want) {
			t.Errorf("%s: page %q (%d, %v), Contents %q", q, idents(got), total, err, idents(want))
		}
	}
}
