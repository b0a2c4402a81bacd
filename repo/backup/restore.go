package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo"
)

var (
	// ErrExists means the data directory has a database already: a restore
	// never overwrites one.
	ErrExists = errors.New("the data directory has a database already")
	// ErrNoSecret means the backup's database holds signing keys, but
	// neither the backup nor the data directory has the server secret that
	// unseals them.
	ErrNoSecret = errors.New("the backup's signing keys need the old server-secret")
	// ErrSecretConflict means the data directory has a server secret other
	// than the backup's.
	ErrSecretConflict = errors.New("the data directory has another server-secret")
)

// Restore makes dir a data directory holding the database (and the server
// secret, if the backup has one) of the backup read from r. dir must not
// have a database; nothing is written into it unless the whole backup
// checks out. Blobs stay where they are: the server started on dir must
// use the same blob store.
func Restore(r io.Reader, dir string) (*Info, error) {
	dbPath := filepath.Join(dir, Database)
	if _, err := os.Stat(dbPath); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, dbPath)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".restore-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	var secret []byte
	info, err := Read(r, func(name string, r io.Reader) (err error) {
		if name == Secret {
			secret, err = io.ReadAll(io.LimitReader(r, 64<<10))
			return err
		}
		_, err = io.Copy(tmp, r)
		return err
	})
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return nil, err
	}
	if err := placeSecret(tmp.Name(), dir, secret); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), dbPath); err != nil {
		return nil, err
	}
	return info, syncDir(dir)
}

// placeSecret checks that dbPath is a database, then writes the backup's
// secret into dir, or makes sure that the database can do without one.
func placeSecret(dbPath, dir string, secret []byte) error {
	keys, err := holdsKeys(dbPath)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, Secret)
	have, err := os.ReadFile(path)
	switch {
	case err == nil && secret != nil && !bytes.Equal(have, secret):
		return fmt.Errorf("%w: %s", ErrSecretConflict, path)
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	case secret != nil:
		return writeFile(path, secret)
	}
	if keys {
		return fmt.Errorf("%w: copy it to %s first, or back up with --include-secret", ErrNoSecret, path)
	}
	return nil
}

func holdsKeys(dbPath string) (bool, error) {
	db, err := bolt.Open(dbPath, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return false, fmt.Errorf("%w: %s: %v", ErrInvalid, Database, err)
	}
	defer db.Close()
	var keys bool
	err = db.View(func(tx *bolt.Tx) error { keys = repo.HoldsKeys(tx); return nil })
	return keys, err
}

func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// Save streams r into a temp file beside path while checking it as a
// backup (Read), and renames it to path (mode 0600) only once it is whole
// and durable. It returns the manifest and the archive's size.
func Save(r io.Reader, path string) (*Info, int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kiln-backup-*")
	if err != nil {
		return nil, 0, err
	}
	defer os.Remove(tmp.Name())
	cw := &CountingWriter{W: tmp}
	tee := io.TeeReader(r, cw)
	info, err := Read(tee, func(_ string, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if err == nil {
		_, err = io.Copy(io.Discard, tee) // the tar's end blocks
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return nil, 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, 0, err
	}
	return info, cw.N, syncDir(filepath.Dir(path))
}

// CountingWriter writes to W and counts the bytes written in N.
type CountingWriter struct {
	W io.Writer
	N int64
}

func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}
