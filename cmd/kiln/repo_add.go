package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/spf13/cobra"
)

type addOptions struct {
	forceReplace bool
	jobs         int
}

func newRepoAddCmd(g *globals) *cobra.Command {
	var opts addOptions
	cmd := &cobra.Command{
		Use:   "add NAME PATH... [--force-replace] [--jobs N]",
		Short: "Upload .deb files (a directory adds every *.deb under it) and add them in one new version",
		Args:  nArgs(2, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.jobs < 1 {
				return usageError{fmt.Errorf("--jobs must be at least 1")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			a := &adder{c: c, repo: args[0], opts: opts, json: g.json(),
				stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), prog: newProgress(cmd.ErrOrStderr()),
				uploader: map[string]*addFile{}}
			return a.run(cmd.Context(), args[1:])
		},
	}
	cmd.Flags().BoolVar(&opts.forceReplace, "force-replace", false,
		"replace a package of the same name, version and architecture but other bytes")
	cmd.Flags().IntVar(&opts.jobs, "jobs", 4, "parallel uploads")
	return cmd
}

// adder runs `kiln repo add`: hash locally, ask the server which files it
// holds, upload only the others, then add them all in one change, so a CI
// job makes one repository version however many files it adds. A bad file
// does not stop the good ones; it is reported and makes the exit non-zero.
type adder struct {
	c              *client.Client
	repo           string
	opts           addOptions
	json           bool
	stdout, stderr io.Writer
	prog           progress

	mu       sync.Mutex
	uploader map[string]*addFile // sha256 -> the file that uploads it

	// beforeAdd, when a test sets it, runs between the uploads and the
	// add: where a concurrent gc may free an orphan the server said it held.
	beforeAdd func()
}

func (a *adder) run(ctx context.Context, paths []string) error {
	// Fail before hashing and uploading anything if the repo is not there.
	if r, err := a.c.GetRepo(ctx, a.repo); err != nil {
		return aboutRepo(a.repo, err)
	} else if r.Mirror {
		return &client.Error{Status: http.StatusConflict, Code: "MIRROR_READ_ONLY",
			Message: fmt.Sprintf("%q is a mirror: its content comes from upstream (mirror update)", a.repo)}
	}
	files := expandPaths(paths)
	a.prog.begin(totalSize(files))
	chunks := makeChunks(files)
	err := forEach(ctx, len(chunks), a.opts.jobs, func(ctx context.Context, i int) error {
		return a.handleChunk(ctx, chunks[i])
	})
	a.prog.end()
	if err != nil {
		return err
	}
	ch, err := a.add(ctx, files)
	for try := 0; try < addRetries && isCode(err, "PACKAGE_NOT_FOUND"); try++ {
		if err = a.reupload(ctx, files); err == nil {
			ch, err = a.add(ctx, files)
		}
	}
	return a.report(files, ch, err)
}

// addRetries bounds how often an add goes again after gc freed a package
// it counted on; each retry uploads the freed files, which gc then spares
// for its grace period, so one retry is enough unless gc runs with no grace.
const addRetries = 3

// isCode reports whether err is the server's error with that code.
func isCode(err error, code string) bool {
	var ae *client.Error
	return errors.As(err, &ae) && ae.Code == code
}

// reupload uploads, once per content, the files whose bytes the server no
// longer holds: gc freed an orphan between the lookup and the add.
func (a *adder) reupload(ctx context.Context, files []*addFile) error {
	held, err := a.c.LookupPackages(ctx, distinctSHAs(files, (*addFile).good))
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, f := range files {
		gone[f.sha256] = f.good()
	}
	for _, sha := range held {
		gone[sha] = false
	}
	for _, f := range files {
		if !gone[f.sha256] {
			continue
		}
		gone[f.sha256] = false
		if err := a.upload(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// handleChunk hashes a chunk of files, asks the server which it holds and
// uploads the rest. Chunks run side by side, so one chunk is hashed while
// another uploads.
func (a *adder) handleChunk(ctx context.Context, chunk []*addFile) error {
	for _, f := range chunk {
		if f.err == nil {
			f.hash()
		}
	}
	defer func() {
		for _, f := range chunk {
			f.data = nil // done with the chunk: let the bytes go
		}
	}()
	todo, err := a.plan(ctx, chunk)
	if err != nil {
		return err
	}
	for _, batch := range makeBatches(todo) {
		if err := a.uploadBatch(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// makeChunks cuts files into chunks of batchFiles.
func makeChunks(files []*addFile) [][]*addFile {
	var out [][]*addFile
	for len(files) > 0 {
		n := min(len(files), batchFiles)
		out, files = append(out, files[:n]), files[n:]
	}
	return out
}

// plan asks the server which of a chunk's files it holds already and
// returns the ones to upload, one per distinct content across all chunks.
func (a *adder) plan(ctx context.Context, files []*addFile) ([]*addFile, error) {
	held, err := a.c.LookupPackages(ctx, distinctSHAs(files, (*addFile).hashed))
	if err != nil {
		return nil, err
	}
	stored := make(map[string]bool, len(held))
	for _, s := range held {
		stored[s] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var todo []*addFile
	for _, f := range files {
		switch {
		case f.err != nil:
		case stored[f.sha256]:
			a.prog.skip(f.size)
			a.prog.done("skipped (already stored)", f.path)
		case a.uploader[f.sha256] != nil:
			f.dupOf = a.uploader[f.sha256]
			a.prog.skip(f.size)
			a.prog.done("skipped (duplicate)", f.path)
		default:
			a.uploader[f.sha256] = f
			todo = append(todo, f)
		}
	}
	return todo, nil
}

// Small files travel many to a request, which the server stores with one
// sync and one transaction for the lot; a file of batchBytes or more goes
// alone as a raw body.
const (
	batchFiles = 1000
	batchBytes = 32 << 20
)

// makeBatches groups files in order into batches of at most batchFiles
// files and batchBytes bytes.
func makeBatches(files []*addFile) [][]*addFile {
	var out [][]*addFile
	var cur []*addFile
	var size int64
	for _, f := range files {
		if len(cur) > 0 && (len(cur) == batchFiles || size+f.size > batchBytes) {
			out, cur, size = append(out, cur), nil, 0
		}
		cur, size = append(cur, f), size+f.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// uploadBatch sends a batch in one request. The server takes a batch whole
// or not at all, so when it fails, the files go again one by one: each then
// gets its own verdict, and only the bad ones are reported.
func (a *adder) uploadBatch(ctx context.Context, batch []*addFile) error {
	if len(batch) > 1 {
		resp, err := a.c.UploadPackages(ctx, a.uploadFiles(batch))
		if err == nil {
			a.check(batch, resp)
			return nil
		}
	}
	for _, f := range batch {
		if err := a.upload(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

func (a *adder) uploadFiles(batch []*addFile) []client.UploadFile {
	out := make([]client.UploadFile, len(batch))
	for i, f := range batch {
		out[i] = client.UploadFile{Name: filepath.Base(f.path), Open: func() (io.ReadCloser, error) {
			rc, err := f.open()
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{a.prog.reader(rc), rc}, nil
		}}
	}
	return out
}

// check confirms the server stored what was hashed for every file.
func (a *adder) check(batch []*addFile, resp *client.PackagesResponse) {
	for _, f := range batch {
		if holds(resp, f.sha256) {
			a.prog.done("uploaded", f.path)
		} else {
			f.err = errChanged
		}
	}
}

var errChanged = errors.New("the server stored other bytes than were hashed (file changed?)")

// upload streams one file. A problem with the file itself is recorded in
// f.err; one that would fail every upload (no server, bad token) is
// returned and stops the others.
func (a *adder) upload(ctx context.Context, f *addFile) error {
	fh, err := os.Open(f.path)
	if err != nil {
		f.err = err
		return nil
	}
	defer fh.Close()
	body := &sizeCheckReader{r: fh, want: f.size}
	resp, err := a.c.UploadPackage(ctx, filepath.Base(f.path), a.prog.reader(body), f.size)
	switch {
	case body.failed() != nil:
		f.err = body.failed()
	case err != nil && !fileFault(err):
		return err
	case err != nil:
		f.err = err
	case !holds(resp, f.sha256):
		f.err = errChanged
	default:
		a.prog.done("uploaded", f.path)
	}
	return nil
}

// fileFault reports whether the server rejected a file for what it is (a
// 4xx about the upload), as opposed to the request as such.
func fileFault(err error) bool {
	var ae *client.Error
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return false
	}
	return ae.Status >= 400 && ae.Status < 500
}

func holds(pr *client.PackagesResponse, sha256 string) bool {
	for _, p := range pr.Packages {
		if p.SHA256 == sha256 {
			return true
		}
	}
	return false
}

func (a *adder) add(ctx context.Context, files []*addFile) (*client.ChangeResponse, error) {
	shas := distinctSHAs(files, (*addFile).good)
	if len(shas) == 0 {
		return nil, nil
	}
	if a.beforeAdd != nil {
		a.beforeAdd()
	}
	ch, err := a.c.AddPackages(ctx, a.repo, shas, a.opts.forceReplace)
	return ch, aboutRepo(a.repo, err)
}

// addFailure is a file that could not be added, in JSON output.
type addFailure struct {
	File  string `json:"file"`
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// addOutput is `kiln repo add --output json`: the ChangeResponse (absent
// when nothing could be added) and the failed files.
type addOutput struct {
	*client.ChangeResponse
	Failures []addFailure `json:"failures,omitempty"`
}

// report prints one line per failed file, then the change.
func (a *adder) report(files []*addFile, ch *client.ChangeResponse, addErr error) error {
	out := addOutput{ChangeResponse: ch}
	for _, f := range files {
		if f.err == nil {
			continue
		}
		fmt.Fprintln(a.stderr, errorLine(about(f.path, f.path, f.err)))
		var ae *client.Error
		errors.As(f.err, &ae)
		out.Failures = append(out.Failures, addFailure{File: f.path, Error: f.err.Error(), Code: codeOf(ae)})
	}
	if addErr != nil {
		return addErr
	}
	if a.json {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else if ch != nil {
		fmt.Fprintln(a.stdout, changeSummary(a.repo, ch))
	}
	if len(out.Failures) > 0 {
		return errReported
	}
	return nil
}

func codeOf(ae *client.Error) string {
	if ae == nil {
		return ""
	}
	return ae.Code
}
