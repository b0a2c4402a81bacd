package repo

import "testing"

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
