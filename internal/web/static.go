package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"steward/internal/mdm"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file, with its gzip form and a content hash for cache busting.
type asset struct {
	data, gz []byte
	hash     string
	ctype    string
}

var assets = loadAssets()

func loadAssets() map[string]*asset {
	out := map[string]*asset{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		data, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		a := &asset{data: data, hash: hex.EncodeToString(sum[:6]), ctype: mime.TypeByExtension(path.Ext(e.Name()))}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		var b bytes.Buffer
		z, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		z.Write(data)
		z.Close()
		if b.Len() < len(data) {
			a.gz = b.Bytes()
		}
		out[e.Name()] = a
	}
	return out
}

// assetURL is the versioned URL of a static file; the version lets browsers cache it for a year.
func assetURL(name string) string {
	a, ok := assets[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return "/static/" + name + "?v=" + a.hash
}

// serveStatic serves an embedded file. A request naming the current version is cacheable for a year;
// any other is revalidated after five minutes (ETag).
func serveStatic(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	a, ok := assets[name]
	if !ok {
		return mdm.Errorf(mdm.NotFound, "there is no file %s", r.URL.Path)
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	data, etag := a.data, a.hash
	if a.gz != nil && acceptsGzip(r) {
		data, etag = a.gz, a.hash+"-gz"
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	return nil
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			v, err := strconv.ParseFloat(q, 64)
			return err == nil && v > 0
		}
		return true
	}
	return false
}
