package repo

import (
	"reflect"
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
