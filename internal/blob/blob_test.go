package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// files lists every regular file under root (tmp included), relative to root.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutOpenDelete(t *testing.T) {
	ctx := context.Background()
	d, err := NewDir(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello, blob")
	info, err := d.Put(ctx, bytes.NewReader(data), 100)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) || len(info.SHA256) != 64 || !validKey(info.Key) {
		t.Fatalf("info = %+v", info)
	}
	if got := files(t, d.Root()); len(got) != 1 || got[0] != filepath.Join(info.Key[:2], info.Key) {
		t.Fatalf("files = %v", got)
	}
	f, err := d.Open(ctx, info.Key)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(len(data)) || f.ModTime().IsZero() {
		t.Errorf("size %d mod %v", f.Size(), f.ModTime())
	}
	if _, err := f.Seek(7, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(f)
	_ = f.Close()
	if string(rest) != "blob" {
		t.Errorf("read after seek = %q", rest)
	}
	other, err := d.Put(ctx, bytes.NewReader(data), 0)
	if err != nil || other.Key == info.Key || other.SHA256 != info.SHA256 {
		t.Fatalf("second put: %+v, %v", other, err)
	}
	if err := d.Delete(ctx, info.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, info.Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("open after delete: %v", err)
	}
	if err := d.Delete(ctx, info.Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := d.Open(ctx, other.Key); err != nil {
		t.Errorf("the other blob: %v", err)
	}
}

func TestPutLeavesNothingOnFailure(t *testing.T) {
	ctx := context.Background()
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, strings.NewReader(strings.Repeat("x", 11)), 10); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize put: %v", err)
	}
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("partial"), errReader{boom})
	if _, err := d.Put(ctx, r, 0); !errors.Is(err, boom) {
		t.Errorf("failing reader: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.Put(cctx, strings.NewReader("x"), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if got := files(t, d.Root()); len(got) != 0 {
		t.Errorf("files left behind: %v", got)
	}
	if _, err := d.Put(ctx, strings.NewReader(strings.Repeat("x", 10)), 10); err != nil {
		t.Errorf("exactly the limit: %v", err)
	}
}

func TestKeysCannotEscape(t *testing.T) {
	ctx := context.Background()
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "../../etc/passwd", "tmp", strings.Repeat("A", 32), strings.Repeat("/", 32)} {
		if _, err := d.Open(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v", key, err)
		}
		if err := d.Delete(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestNewDirRemovesStaleTemporaryFiles(t *testing.T) {
	root := t.TempDir()
	if _, err := NewDir(root); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(root, "tmp", "put-1"), filepath.Join(root, "tmp", "put-2")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDir(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary file: %v", err)
	}
}
