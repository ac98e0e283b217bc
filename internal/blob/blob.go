// Package blob keeps opaque files (uploaded documents, app packages) by key, outside the database.
//
// Keys are random (128 bits, hex) and chosen by the store at Put: a blob is written once and never
// changed, so replacing a file means putting a new blob and deleting the old one. Callers record the
// key in their own rows and delete the blob after the transaction that forgets the row commits (a
// crash between the two leaves an orphan file, never a row without its file).
package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound is returned by Open and Delete for a key the store does not hold.
var ErrNotFound = errors.New("blob: not found")

// ErrTooLarge is returned by Put when the data is longer than the limit it was given.
var ErrTooLarge = errors.New("blob: too large")

// Info describes a stored blob.
type Info struct {
	Key    string
	Size   int64
	SHA256 string // hex
}

// File is an open blob: readable, seekable (for HTTP Range requests) and closable.
type File interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// Store keeps blobs. Put reads r to its end and stores it under a new key, refusing (ErrTooLarge)
// data longer than max bytes when max > 0; a Put that fails for any reason, including r's error,
// leaves nothing behind. Open returns a blob for reading; Delete removes one (ErrNotFound when it is
// absent).
type Store interface {
	Put(ctx context.Context, r io.Reader, max int64) (Info, error)
	Open(ctx context.Context, key string) (File, error)
	Delete(ctx context.Context, key string) error
}

// Dir is a Store that keeps each blob as a file under a directory: <root>/<first two key
// characters>/<key>. Files are written to <root>/tmp first, synced, and renamed into place, so a
// blob is either whole or absent.
type Dir struct{ root string }

var _ Store = (*Dir)(nil)

// staleTemp is the age past which a temporary file is taken for the leftover of an interrupted Put
// (a process that stopped mid-write); younger ones may be another replica's upload in progress.
const staleTemp = 24 * time.Hour

// NewDir returns a Dir rooted at root, creating it (mode 0700) when missing, and removes the
// temporary files interrupted writes left there more than a day ago.
func NewDir(root string) (*Dir, error) {
	tmp := filepath.Join(root, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if entries, err := os.ReadDir(tmp); err == nil {
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() && time.Since(info.ModTime()) > staleTemp {
				_ = os.Remove(filepath.Join(tmp, e.Name()))
			}
		}
	}
	return &Dir{root: root}, nil
}

// Root returns the directory the store keeps its files in.
func (d *Dir) Root() string { return d.root }

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validKey reports whether key has the form newKey makes, so that a key can never name a path
// outside the store.
func validKey(key string) bool {
	if len(key) != 32 {
		return false
	}
	return strings.Trim(key, "0123456789abcdef") == ""
}

func (d *Dir) path(key string) string { return filepath.Join(d.root, key[:2], key) }

// Put implements Store.
func (d *Dir) Put(ctx context.Context, r io.Reader, max int64) (info Info, err error) {
	tmp, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("blob: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	src := r
	if max > 0 {
		src = io.LimitReader(r, max+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, src})
	if err != nil {
		return Info{}, err
	}
	if max > 0 && n > max {
		return Info{}, ErrTooLarge
	}
	if err = tmp.Sync(); err != nil {
		return Info{}, fmt.Errorf("blob: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("blob: %w", err)
	}
	key := newKey()
	dst := d.path(key)
	if err = os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return Info{}, fmt.Errorf("blob: %w", err)
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return Info{}, fmt.Errorf("blob: %w", err)
	}
	return Info{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type file struct {
	*os.File
	size int64
	mod  time.Time
}

func (f file) Size() int64        { return f.size }
func (f file) ModTime() time.Time { return f.mod }

// Open implements Store.
func (d *Dir) Open(ctx context.Context, key string) (File, error) {
	if !validKey(key) {
		return nil, ErrNotFound
	}
	f, err := os.Open(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return file{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return ErrNotFound
	}
	err := os.Remove(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}
