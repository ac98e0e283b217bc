package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"steward/internal/content"
	"steward/internal/mdm"
)

var (
	testPDF = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
	testPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x00IEND\xaeB`\x82")
	testEXE = append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 64)...)
)

type contentOut struct {
	ID          int64
	Name        string
	FileName    string
	ContentType string
	Size        int64
	Version     int
	Categories  []struct {
		ID   int64
		Name string
	}
	Targets []struct {
		Type string
		ID   int64
	}
}

// upload sends a multipart upload of data named fileName with the extra fields to path.
func (e *apiEnv) upload(method, path, auth, fileName string, data io.Reader, fields map[string]string) *response {
	e.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		if fileName != "" {
			fw, _ := mw.CreateFormFile("file", fileName)
			io.Copy(fw, data)
		}
		pw.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequest(method, e.url+path, pr)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if user, pw, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(user, pw)
	}
	return e.send(req)
}

// blobCount counts the files under the server's blob directory.
func (e *apiEnv) blobCount() int {
	e.t.Helper()
	n := 0
	filepath.WalkDir(e.srv.cfg.BlobPath(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func (e *apiEnv) contentCount(auth string) int {
	e.t.Helper()
	var p struct{ TotalCount int }
	e.call("GET", "/api/v1/content", auth, "").must(e.t, 200, &p)
	return p.TotalCount
}

// userWithRoles creates a password user with roles in the tenant of ta and returns its credentials.
func (e *apiEnv) userWithRoles(ta, email, roles string) string {
	e.t.Helper()
	e.call("POST", "/api/v1/accounts", ta, fmt.Sprintf(`{"accounts":[{"emailAddress":%q,"firstName":"R","lastName":"X",`+
		`"password":"Content-user-pw-1","roles":[%s]}]}`, email, roles)).must(e.t, 200, nil)
	return email + ":Content-user-pw-1"
}

func TestContentAPI(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { testContentAPI(t, db(t)) })
	}
}

func testContentAPI(t *testing.T, dbURL string) {
	e := newAPIEnv(t, dbURL, nil)
	tenantA, ta := e.createTenant("Docs")
	_, tb := e.createTenant("Other")
	reader := e.userWithRoles(ta, "reader@docs.example.com", `"APP_CONTENT_READ_ONLY"`)
	devman := e.userWithRoles(ta, "devman@docs.example.com", `"DEVICE_MANAGEMENT"`)
	ctx := context.Background()
	st := e.srv.Store()

	// A content category to file the document under.
	cat := &mdm.Category{TenantID: mdm.TenantID(tenantA.ID), Kind: mdm.ItemContent, Name: "Sales", CreatedAt: time.Now(), ModifiedAt: time.Now()}
	if err := st.Categories().Create(ctx, cat); err != nil {
		t.Fatal(err)
	}

	// Refusals store nothing: no row, no file.
	for _, tc := range []struct {
		name, file string
		data       io.Reader
		status     int
		code       string
	}{
		{"exe renamed pdf", "setup.pdf", bytes.NewReader(testEXE), 400, "TypeMismatch"},
		{"pdf renamed png", "chart.png", bytes.NewReader(testPDF), 400, "TypeMismatch"},
		{"text with NUL", "notes.txt", strings.NewReader("abc\x00def"), 400, "NotText"},
		{"exe", "setup.exe", bytes.NewReader(testEXE), 400, "UnsupportedType"},
		{"no file", "", nil, 400, "Required"},
		{"oversize", "big.pdf", io.MultiReader(bytes.NewReader(testPDF), io.LimitReader(zeroReader{}, content.MaxFileBytes)), 413, "TooLarge"},
	} {
		r := e.upload("POST", "/api/v1/content", ta, tc.file, tc.data, map[string]string{"name": "x"})
		if r.Status != tc.status || r.field() != "file" || r.Env.Errors.FieldErrors[0].Code != tc.code {
			t.Errorf("%s: %d %s, want %d with field error %s on file", tc.name, r.Status, r.Body, tc.status, tc.code)
		}
		if n := e.contentCount(ta); n != 0 {
			t.Errorf("%s: %d rows after a refusal", tc.name, n)
		}
		if n := e.blobCount(); n != 0 {
			t.Errorf("%s: %d blob files after a refusal", tc.name, n)
		}
	}
	if r := e.upload("POST", "/api/v1/content", ta, "a.pdf", bytes.NewReader(testPDF), map[string]string{"categories[0]": "999999"}); r.Status != 400 || e.blobCount() != 0 {
		t.Errorf("unknown category: %d %s (%d files)", r.Status, r.Body, e.blobCount())
	}

	// Upload, read, list by category.
	var doc contentOut
	e.upload("POST", "/api/v1/content", ta, "Price list.pdf", bytes.NewReader(testPDF), map[string]string{
		"description": "2026 prices", "categories[0]": fmt.Sprint(cat.ID)}).must(t, 201, &doc)
	if doc.Name != "Price list" || doc.ContentType != "PDF" || doc.Size != int64(len(testPDF)) || doc.Version != 1 ||
		len(doc.Categories) != 1 || doc.Categories[0].Name != "Sales" || len(doc.Targets) != 0 {
		t.Fatalf("uploaded %+v", doc)
	}
	path := fmt.Sprintf("/api/v1/content/%d", doc.ID)
	e.call("GET", path, reader, "").must(t, 200, nil)
	var page struct {
		TotalCount    int
		SearchResults []contentOut
	}
	e.call("GET", fmt.Sprintf("/api/v1/content?category=%d&fq=contentType=PDF", cat.ID), reader, "").must(t, 200, &page)
	if page.TotalCount != 1 || page.SearchResults[0].ID != doc.ID {
		t.Errorf("list by category: %+v", page)
	}

	// Permissions: read-only reads only; a device manager nothing.
	for _, tc := range []struct {
		auth, method, path string
		status             int
	}{
		{reader, "PUT", path, 403}, {reader, "DELETE", path, 403}, {devman, "GET", path, 403},
		{devman, "GET", "/api/v1/content", 403}, {devman, "GET", path + "/download", 403},
		{tb, "GET", path, 404}, {tb, "PUT", path, 404}, {tb, "DELETE", path, 404}, {tb, "GET", path + "/download", 404},
	} {
		if r := e.call(tc.method, tc.path, tc.auth, `{"name":"changed"}`); r.Status != tc.status {
			t.Errorf("%s %s as %s: %d, want %d", tc.method, tc.path, strings.Split(tc.auth, ":")[0], r.Status, tc.status)
		}
	}
	if r := e.upload("POST", "/api/v1/content", reader, "a.pdf", bytes.NewReader(testPDF), nil); r.Status != 403 {
		t.Errorf("read-only upload: %d", r.Status)
	}
	if r := e.upload("PUT", path+"/file", tb, "a.pdf", bytes.NewReader(testPDF), nil); r.Status != 404 {
		t.Errorf("other tenant's replacement: %d", r.Status)
	}
	if e.blobCount() != 1 {
		t.Errorf("%d blob files, want 1", e.blobCount())
	}

	// The administrator's download: headers and ranges.
	r := e.call("GET", path+"/download", reader, "")
	if r.Status != 200 || r.Body != string(testPDF) || r.Header.Get("Content-Type") != "application/pdf" ||
		r.Header.Get("X-Content-Type-Options") != "nosniff" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="Price list.pdf"` {
		t.Errorf("download: %d %v", r.Status, r.Header)
	}
	req, _ := http.NewRequest("GET", e.url+path+"/download", nil)
	user, pw, _ := strings.Cut(reader, ":")
	req.SetBasicAuth(user, pw)
	req.Header.Set("Range", "bytes=0-4")
	if r := e.send(req); r.Status != 206 || r.Body != "%PDF-" {
		t.Errorf("range: %d %q", r.Status, r.Body)
	}

	// Devices: one in the static group the document goes to, one outside it, one of another tenant.
	in := e.enrolled(ta, "in@docs.example.com", "IN1")
	out := e.enrolled(ta, "out@docs.example.com", "OUT1")
	foreign := e.enrolled(tb, "far@other.example.com", "FAR1")
	group := &mdm.DeviceGroup{TenantID: mdm.TenantID(tenantA.ID), Name: "Field", Kind: mdm.StaticDeviceGroup, CreatedAt: time.Now(), ModifiedAt: time.Now()}
	if err := st.DeviceGroups().Create(ctx, group); err != nil {
		t.Fatal(err)
	}
	if err := st.DeviceGroups().AddMembers(ctx, mdm.TenantID(tenantA.ID), group.ID, []mdm.DeviceID{mdm.DeviceID(in.DeviceID)}); err != nil {
		t.Fatal(err)
	}
	e.call("PUT", path, ta, fmt.Sprintf(`{"targets":[{"type":"DEVICE_GROUP","id":%d}]}`, group.ID)).must(t, 200, &doc)
	if len(doc.Targets) != 1 || doc.Targets[0].ID != int64(group.ID) {
		t.Fatalf("targets %+v", doc.Targets)
	}
	var dist struct{ Targets []struct{ Type string } }
	e.call("PUT", path+"/distribution", ta, fmt.Sprintf(`{"targets":[{"type":"DEVICE_GROUP","id":%d,"required":true}]}`, group.ID)).must(t, 200, &dist)
	e.call("GET", path+"/distribution", reader, "").must(t, 200, &dist)
	if len(dist.Targets) != 1 || dist.Targets[0].Type != "DEVICE_GROUP" {
		t.Errorf("distribution %+v", dist)
	}
	if r := e.call("PUT", path+"/distribution", reader, `{"targets":[]}`); r.Status != 403 {
		t.Errorf("read-only distribution change: %d", r.Status)
	}
	if r := e.call("PUT", path+"/distribution", tb, `{"targets":[]}`); r.Status != 404 {
		t.Errorf("other tenant's distribution change: %d", r.Status)
	}
	if r := e.call("PUT", path, ta, `{"targets":[{"type":"DEVICE_GROUP","id":999999}]}`); r.Status != 400 || r.field() != "targets[0].id" {
		t.Errorf("unknown group: %d %s", r.Status, r.Body)
	}
	var cat1 struct {
		Categories []struct{ Name string }
		Content    []struct {
			ID          int64
			Name        string
			Required    bool
			DownloadURL string
		}
	}
	e.agent("GET", "/api/agent/v1/content", in.Credential, nil).must(t, 200, &cat1)
	if len(cat1.Content) != 1 || cat1.Content[0].ID != doc.ID || len(cat1.Categories) != 1 || !cat1.Content[0].Required {
		t.Fatalf("catalog of the device in the group: %+v", cat1)
	}
	r = e.agent("GET", cat1.Content[0].DownloadURL, in.Credential, nil)
	if r.Status != 200 || r.Body != string(testPDF) || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("device download: %d %v", r.Status, r.Header)
	}
	e.agent("GET", "/api/agent/v1/content", out.Credential, nil).must(t, 200, &cat1)
	if len(cat1.Content) != 0 {
		t.Errorf("catalog of the device outside the group: %+v", cat1)
	}
	for who, cred := range map[string]string{"outside": out.Credential, "other tenant": foreign.Credential} {
		if r := e.agent("GET", cat1path(doc.ID), cred, nil); r.Status != 404 {
			t.Errorf("download by the device %s: %d", who, r.Status)
		}
	}
	if r := e.agent("GET", cat1path(doc.ID), "", nil); r.Status != 401 {
		t.Errorf("download without a credential: %d", r.Status)
	}
	if r := e.call("GET", cat1path(doc.ID), ta, ""); r.Status != 401 {
		t.Errorf("download with an admin's password: %d", r.Status)
	}

	// Replace the file: a new version, the old file gone.
	var v2 contentOut
	e.upload("PUT", path+"/file", ta, "prices.png", bytes.NewReader(testPNG), nil).must(t, 200, &v2)
	if v2.Version != 2 || v2.ContentType != "PNG" || v2.Name != "Price list" || e.blobCount() != 1 {
		t.Errorf("replaced: %+v (%d files)", v2, e.blobCount())
	}
	r = e.agent("GET", cat1path(doc.ID), in.Credential, nil)
	if r.Status != 200 || r.Body != string(testPNG) || r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("device download after replacement: %d %v", r.Status, r.Header)
	}

	// Delete: no row, no file, gone for the device.
	e.call("DELETE", path, ta, "").must(t, 200, nil)
	if e.contentCount(ta) != 0 || e.blobCount() != 0 {
		t.Errorf("after delete: %d rows, %d files", e.contentCount(ta), e.blobCount())
	}
	if r := e.agent("GET", cat1path(doc.ID), in.Credential, nil); r.Status != 404 {
		t.Errorf("device download after delete: %d", r.Status)
	}
}

func cat1path(id int64) string { return fmt.Sprintf("/api/agent/v1/content/%d", id) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestContentConcurrentReplace replaces one document's file from several clients at once: the
// changes run one after the other and only the last file is left.
func TestContentConcurrentReplace(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Race")
			var doc contentOut
			e.upload("POST", "/api/v1/content", ta, "a.pdf", bytes.NewReader(testPDF), nil).must(t, 201, &doc)
			path := fmt.Sprintf("/api/v1/content/%d/file", doc.ID)
			const n = 6
			done := make(chan int, n)
			for i := 0; i < n; i++ {
				go func() {
					r := e.upload("PUT", path, ta, "b.png", bytes.NewReader(testPNG), nil)
					done <- r.Status
				}()
			}
			for i := 0; i < n; i++ {
				if s := <-done; s != 200 {
					t.Errorf("a replacement answered %d", s)
				}
			}
			var got contentOut
			e.call("GET", fmt.Sprintf("/api/v1/content/%d", doc.ID), ta, "").must(t, 200, &got)
			if got.Version != n+1 || e.blobCount() != 1 {
				t.Errorf("version %d (want %d), %d blob files (want 1)", got.Version, n+1, e.blobCount())
			}
			e.call("DELETE", fmt.Sprintf("/api/v1/content/%d", doc.ID), ta, "").must(t, 200, nil)
			if e.blobCount() != 0 {
				t.Errorf("%d blob files after delete", e.blobCount())
			}
		})
	}
}
