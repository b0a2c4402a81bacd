package client

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUploadPackagesStreamsEveryFile(t *testing.T) {
	want := map[string][]byte{"a.deb": bytes.Repeat([]byte("a"), 70000), "b.deb": []byte("bee")}
	got := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mr, err := r.MultipartReader()
		if err != nil {
			t.Error(err)
			return
		}
		for part, err := mr.NextPart(); err == nil; part, err = mr.NextPart() {
			got[part.FileName()], _ = io.ReadAll(part)
		}
		w.WriteHeader(201)
		io.WriteString(w, `{"packages":[{"sha256":"x"}],"total":1}`)
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "t")
	var files []UploadFile
	opened := 0
	for _, name := range []string{"a.deb", "b.deb"} {
		files = append(files, UploadFile{Name: name, Open: func() (io.ReadCloser, error) {
			opened++
			return io.NopCloser(bytes.NewReader(want[name])), nil
		}})
	}
	pr, err := c.UploadPackages(t.Context(), files)
	if err != nil || pr.Total != 1 || opened != 2 {
		t.Fatalf("%v %+v opened %d", err, pr, opened)
	}
	for name, data := range want {
		if !bytes.Equal(got[name], data) {
			t.Fatalf("%s arrived as %d bytes, want %d", name, len(got[name]), len(data))
		}
	}
}
