package repo

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	p := &Package{Name: "hello", Version: "1:2.0~rc1-3", Architecture: "amd64", SHA256: "ab", MD5: "cd",
		Filename: "hello.deb", Size: 123456789, Created: time.Unix(1795300000, 42).UTC()}
	var got Package
	if err := decodePackage(encodePackage(p), &got); err != nil || !reflect.DeepEqual(&got, p) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, *p)
	}
	b := encodePackage(p)
	if err := decodePackage(b, &got); err != nil {
		t.Fatal(err)
	}
	clear(b) // bbolt's bytes are gone once the transaction ends
	if !reflect.DeepEqual(&got, p) {
		t.Fatalf("the decoded package shares the record's bytes: %+v", got)
	}
	b = encodePackage(p)
	for i := range b { // every truncation fails cleanly, never panics
		if err := decodePackage(b[:i], new(Package)); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
}

// TestSortPackagesIsTotal: equal versions of a name and architecture go by
// sha256, so every input order gives the same list.
func TestSortPackagesIsTotal(t *testing.T) {
	ps := []*Package{
		{Name: "b", Version: "1.0", Architecture: "amd64", SHA256: "22"},
		{Name: "b", Version: "1.00", Architecture: "amd64", SHA256: "11"},
		{Name: "b", Version: "1.0", Architecture: "all", SHA256: "33"},
		{Name: "a", Version: "2", Architecture: "amd64", SHA256: "44"},
		{Name: "b", Version: "0.9", Architecture: "amd64", SHA256: "55"},
	}
	want := "44 55 33 11 22"
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		SortPackages(ps)
		var got []string
		for _, p := range ps {
			got = append(got, p.SHA256)
		}
		if strings.Join(got, " ") != want || !PackagesSorted(ps) {
			t.Fatalf("sorted to %v, want %s", got, want)
		}
	}
}
