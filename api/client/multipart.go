package client

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
)

// UploadFile is one file of a batch upload. Open is called when the file's
// turn comes, so a batch holds at most one file open.
type UploadFile struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// UploadPackages streams several .debs in one multipart request, which the
// server stores as a unit: one durability barrier and one transaction for
// the lot, or nothing when any file is rejected (the error names it).
func (c *Client) UploadPackages(ctx context.Context, files []UploadFile) (*PackagesResponse, error) {
	u, err := c.endpoint(nil, "packages")
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() { pw.CloseWithError(writeParts(mw, files)) }()
	defer pr.Close() // unblocks the writer if the request ends early
	req, err := c.newRequest(ctx, http.MethodPost, u, pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var out PackagesResponse
	if err := c.do(req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func writeParts(mw *multipart.Writer, files []UploadFile) error {
	buf := make([]byte, 32<<10) // one copy buffer for the batch, not one per file
	for _, f := range files {
		if err := writePart(mw, f, buf); err != nil {
			return err
		}
	}
	return mw.Close()
}

func writePart(mw *multipart.Writer, f UploadFile, buf []byte) error {
	r, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer r.Close()
	w, err := mw.CreateFormFile("file", f.Name)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(w, r, buf)
	return err
}
