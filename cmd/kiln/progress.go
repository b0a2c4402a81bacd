package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kiln-repo/kiln/api/client"
)

// progress reports `kiln repo add` as it goes: a bar over bytes uploaded on
// a terminal, one plain line per file in CI logs. Its methods may be called
// from several uploads at once.
type progress interface {
	begin(total int64)            // uploads of total bytes start
	reader(r io.Reader) io.Reader // counts what an upload reads
	skip(n int64)                 // n bytes need no upload
	done(what, path string)       // e.g. done("uploaded", "build/a.deb")
	end()
}

func newProgress(w io.Writer) progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w, counts: map[string]int{}}
	}
	return &lineProgress{w: w}
}

type lineProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *lineProgress) begin(int64)                  {}
func (p *lineProgress) reader(r io.Reader) io.Reader { return r }
func (p *lineProgress) end()                         {}
func (p *lineProgress) skip(int64)                   {}

func (p *lineProgress) done(what, path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %s\n", what, path)
}

type barProgress struct {
	w      io.Writer
	bar    *progressbar.ProgressBar // nil when there is nothing to upload
	mu     sync.Mutex
	counts map[string]int
}

func (p *barProgress) begin(total int64) {
	if total <= 0 {
		return
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("uploading"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
	)
}

func (p *barProgress) reader(r io.Reader) io.Reader {
	if p.bar == nil {
		return r
	}
	return io.TeeReader(r, p.bar)
}

func (p *barProgress) skip(n int64) {
	if p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

func (p *barProgress) done(what, _ string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[what]++
}

// end leaves the bar where it stopped and sums up the files in one line.
func (p *barProgress) end() {
	if p.bar != nil {
		_ = p.bar.Exit()
		fmt.Fprintln(p.w)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	for what, n := range p.counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, what))
	}
	sort.Strings(parts)
	if len(parts) > 0 {
		fmt.Fprintln(p.w, strings.Join(parts, ", "))
	}
}

// mirrorBar draws the progress of `kiln mirror update` on a terminal: a
// spinner while the indexes are read, then a bar over the bytes of the
// .debs to fetch. Elsewhere (CI logs, a pipe) it draws nothing.
type mirrorBar struct {
	w     io.Writer
	phase string
	bar   *progressbar.ProgressBar
}

func newMirrorBar(w io.Writer) *mirrorBar {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &mirrorBar{w: w}
	}
	return nil
}

// update shows p; a nil bar does nothing.
func (b *mirrorBar) update(p client.MirrorProgress) {
	if b == nil {
		return
	}
	if p.Phase == "record" && b.phase != "download" && p.TotalBytes > 0 {
		dl := p
		dl.Phase = "download" // done between two reports: show it done
		b.update(dl)
	}
	if p.Phase != b.phase {
		b.end()
		b.phase = p.Phase
		opts := []progressbar.Option{progressbar.OptionSetWriter(b.w), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100 * time.Millisecond), progressbar.OptionSetRenderBlankState(true)}
		switch {
		case p.Phase == "download" && p.TotalBytes > 0:
			b.bar = progressbar.NewOptions64(p.TotalBytes, append(opts,
				progressbar.OptionSetDescription(fmt.Sprintf("downloading %d .debs", p.Total)),
				progressbar.OptionShowBytes(true), progressbar.OptionShowTotalBytes(true))...)
		case p.Phase == "indexes":
			b.bar = progressbar.NewOptions64(-1, append(opts, progressbar.OptionSetDescription("reading the indexes"),
				progressbar.OptionSpinnerType(14))...)
		case p.Phase == "record":
			b.bar = progressbar.NewOptions64(-1, append(opts, progressbar.OptionSetDescription("recording the new version"),
				progressbar.OptionSpinnerType(14))...)
		}
	}
	if b.bar != nil && p.Phase == "download" {
		_ = b.bar.Set64(min(p.DoneBytes, p.TotalBytes))
	} else if b.bar != nil {
		_ = b.bar.Add(1) // turns the spinner
	}
}

// end leaves the last bar drawn where it stopped.
func (b *mirrorBar) end() {
	if b != nil && b.bar != nil {
		_ = b.bar.Exit()
		fmt.Fprintln(b.w)
		b.bar = nil
	}
}
