package deb_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

func FuzzSlow(f *testing.F) {
	tarball := debtest.Tar(debtest.Member{Name: "./control", Data: debtest.BuildControl(debtest.Spec{})})
	for i, c := range compressions {
		f.Add(uint8(i), debtest.Compress(c, tarball))
	}
	f.Fuzz(func(t *testing.T, kind uint8, member []byte) {
		name := "control.tar" + debtest.Ext(compressions[int(kind)%len(compressions)])
		start := time.Now()
		_, err := deb.ReadControl(bytes.NewReader(withControlMember(name, member)))
		if d := time.Since(start); d > 500*time.Millisecond {
			os.MkdirAll("/tmp/slow", 0o755)
			os.WriteFile(fmt.Sprintf("/tmp/slow/%s-%d", name, time.Now().UnixNano()), member, 0o644)
			os.WriteFile(fmt.Sprintf("/tmp/slow/%s-%d.txt", name, time.Now().UnixNano()), []byte(fmt.Sprint(d, err)), 0o644)
		}
	})
}
