package server

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// uploadFile posts a multipart form with one file (field "file") as a browser does.
func (c *consoleClient) uploadFile(path, fileName string, data []byte, fields url.Values) pageResp {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile("file", fileName)
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequestWithContext(c.t.Context(), "POST", c.base+path, &buf)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.AddCookie(c.cookie)
	res, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pageResp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// TestConsoleContentAndPortal drives the Content pages without a browser (upload refused and
// accepted, list with type, size, categories and distribution, edit, distribution, replacement,
// download, delete with confirmation, permissions, tenants) and the content catalog of /go.
func TestConsoleContentAndPortal(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	s, base := e.srv, e.url
	hooli, admin := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	consoleTenant(t, s, "Endframe", "kevin@endframe.example.com")
	ta := signInAt(t, base, &http.Client{}, "gavin@hooli.example.com", testAdminPassword)
	cat := &mdm.Category{TenantID: hooli.Tenant.ID, Kind: mdm.ItemContent, Name: "Sales", CreatedAt: time.Now(), ModifiedAt: time.Now()}
	if err := s.store.Categories().Create(t.Context(), cat); err != nil {
		t.Fatal(err)
	}
	catID := strconv.FormatInt(int64(cat.ID), 10)

	ta.do("GET", "/console/content", nil).expect(t, 200, "the empty page", `id="content-empty"`, `id="content-upload"`,
		`enctype="multipart/form-data"`, `href="/console/content" aria-current="page"`, `value="ALL_USERS:0"`, `>Sales<`)

	// A refused upload comes back with its error next to the file and stores nothing.
	ta.uploadFile("/console/content", "setup.pdf", testEXE, url.Values{"name": {"Setup"}}).
		expect(t, 400, "an executable named .pdf", "Is not a PDF document", `aria-invalid="true"`, `value="Setup"`)
	if e.blobCount() != 0 || e.contentCount("gavin@hooli.example.com:"+testAdminPassword) != 0 {
		t.Fatal("a refused upload stored something")
	}

	loc := ta.uploadFile("/console/content", "prices.pdf", testPDF, url.Values{"name": {"Price <list>"},
		"category": {catID}, "target": {"ALL_USERS:0"}}).location(t, "/console/content/")
	item := "/console/content/" + pathIDOf(t, loc)
	ta.do("GET", loc, nil).expect(t, 200, "the new document", "The document was uploaded.", "Price &lt;list&gt;", "prices.pdf",
		`id="content-download"`, `id="content-delete"`, "All users", "Sales")
	ta.do("GET", "/console/content", nil).expect(t, 200, "the list", `data-type="PDF"`, strconv.Itoa(len(testPDF))+" B",
		"Sales", "All users")
	ta.do("GET", "/console/content?category="+catID, nil).expect(t, 200, "the list in Sales", "Price &lt;list&gt;")

	// Edit, distribution, replacement.
	ta.do("POST", item, url.Values{"name": {""}}).expect(t, 400, "a cleared name", "Is required")
	ta.do("POST", item, url.Values{"name": {"Price list"}, "description": {"2026"}}).location(t, item+"?done=cupdated")
	ta.do("POST", item+"/distribution", url.Values{"target": {"DEVICE_GROUP:999999"}}).expect(t, 400, "an unknown group", "No such device group")
	ta.do("POST", item+"/distribution", url.Values{}).location(t, item+"?done=cdistributed")
	ta.do("GET", item, nil).expect(t, 200, "after the edits", "Price list", "Nobody", `id="content-categories">—<`)
	ta.uploadFile(item+"/file", "chart.png", testPDF, nil).expect(t, 400, "a PDF named .png", "Is not a PNG document")
	ta.uploadFile(item+"/file", "chart.png", testPNG, nil).location(t, item+"?done=creplaced")
	ta.do("GET", item, nil).expect(t, 200, "version 2", `id="content-version">2<`, "image/png")
	dl := ta.do("GET", item+"/download", nil)
	if dl.status != 200 || dl.body != string(testPNG) || dl.header.Get("X-Content-Type-Options") != "nosniff" ||
		dl.header.Get("Content-Disposition") != `attachment; filename=chart.png` {
		t.Errorf("console download: %d %v", dl.status, dl.header)
	}
	if e.blobCount() != 1 {
		t.Errorf("%d blob files after a replacement", e.blobCount())
	}

	// Others: another tenant sees nothing; a read-only admin reads but cannot change; a device admin has no page.
	kevin := signInAt(t, base, &http.Client{}, "kevin@endframe.example.com", testAdminPassword)
	if r := kevin.do("GET", item, nil); r.status != 404 {
		t.Errorf("other tenant opens the document: %d", r.status)
	}
	if r := kevin.do("GET", item+"/download", nil); r.status != 404 {
		t.Errorf("other tenant downloads the document: %d", r.status)
	}
	ro := consoleUserWithRoles(t, s, base, admin, "ro@hooli.example.com", authz.RoleAppContentReadOnly)
	ro.do("GET", item, nil).expect(t, 200, "read only", "Price list", `id="content-download"`).
		lacks(t, "read only", `id="content-edit"`, `id="content-delete"`, `id="content-replace"`)
	ro.do("GET", "/console/content", nil).lacks(t, "read only list", `id="content-upload"`)
	if r := ro.uploadFile("/console/content", "a.pdf", testPDF, nil); r.status != 403 {
		t.Errorf("read only uploads: %d", r.status)
	}
	if r := ro.do("POST", item+"/delete", nil); r.status != 403 {
		t.Errorf("read only deletes: %d", r.status)
	}
	dev := consoleUserWithRoles(t, s, base, admin, "dev@hooli.example.com", authz.RoleDeviceManagement)
	if r := dev.do("GET", "/console/content", nil); r.status != 403 {
		t.Errorf("device admin opens Content: %d", r.status)
	}

	// The /go catalog: a user sees what is distributed to them, and only that.
	taAPI := "gavin@hooli.example.com:" + testAdminPassword
	e.addUser(taAPI, "ann@hooli.example.com", "Ann-password-123")
	ta.do("POST", item+"/distribution", url.Values{"target": {"ALL_USERS:0"}}).location(t, item+"?done=cdistributed")
	ta.do("POST", item, url.Values{"name": {"Price list"}, "category": {catID}}).location(t, item+"?done=cupdated")
	hidden := ta.uploadFile("/console/content", "secret.txt", []byte("for admins only\n"), url.Values{"name": {"Secret"}}).
		location(t, "/console/content/")
	ann := e.browser()
	if status, _ := ann.signIn("ann@hooli.example.com", "", "Ann-password-123"); status != 200 {
		t.Fatalf("ann signs in: %d", status)
	}
	status, page := ann.get("/go")
	id := pathIDOf(t, loc)
	if status != 200 || !strings.Contains(page, `href="/go/content/`+id+`"`) || !strings.Contains(page, "Price list") ||
		strings.Contains(page, "Secret") || !strings.Contains(page, `id="go-category"`) {
		t.Fatalf("ann's portal: %d %s", status, page)
	}
	if _, page := ann.get("/go?category=" + catID); !strings.Contains(page, "Price list") {
		t.Error("ann's catalog in Sales lacks the price list")
	}
	if status, body := ann.get("/go/content/" + id); status != 200 || body != string(testPNG) {
		t.Errorf("ann downloads: %d", status)
	}
	if status, _ := ann.get("/go/content/" + pathIDOf(t, hidden)); status != 404 {
		t.Errorf("ann downloads what is not hers: %d", status)
	}
	if status, _ := e.browser().get("/go/content/" + id); status != 200 { // redirected to the sign-in page
		t.Errorf("anonymous download: %d", status)
	} else if _, body := e.browser().get("/go/content/" + id); body == string(testPNG) {
		t.Error("an anonymous visitor downloaded the document")
	}

	// Delete asks first, then the document is gone everywhere.
	ta.do("GET", item+"/delete", nil).expect(t, 200, "the confirmation", "Delete the document Price list?")
	ta.do("POST", item+"/delete", nil).location(t, "/console/content?done=cremoved")
	if r := ta.do("GET", item, nil); r.status != 404 {
		t.Errorf("deleted document page: %d", r.status)
	}
	if status, _ := ann.get("/go/content/" + id); status != 404 {
		t.Errorf("ann downloads a deleted document: %d", status)
	}
	if e.blobCount() != 1 { // the hidden one
		t.Errorf("%d blob files after deleting one of two", e.blobCount())
	}
}

// TestContentInChromium uploads a document through the console's form in headless Chromium (the page's
// Content-Security-Policy in force), distributes it to all users, and shows it with its type and distribution.
func TestContentInChromium(t *testing.T) {
	ctx := chromium(t)
	s, ts := startConsole(t)
	consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	file := filepath.Join(t.TempDir(), "Price list.pdf")
	if err := os.WriteFile(file, testPDF, 0o600); err != nil {
		t.Fatal(err)
	}
	run := steps(t, ctx)
	var name, kind, targets, flash string
	run("sign in and open Content",
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "gavin@hooli.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav a[href="/console/content"]`, chromedp.ByQuery),
		chromedp.Click(`nav a[href="/console/content"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#content-empty`, chromedp.ByQuery),
	)
	run("upload to all users",
		chromedp.SetUploadFiles(`#content-file`, []string{file}, chromedp.ByQuery),
		chromedp.Click(`#upload-targets input[value="ALL_USERS:0"]`, chromedp.ByQuery),
		chromedp.Click(`#content-upload-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#content-name`, chromedp.ByQuery),
		chromedp.Text(`#content-name`, &name, chromedp.ByQuery),
		chromedp.Text(`#content-type`, &kind, chromedp.ByQuery),
		chromedp.Text(`#content-targets`, &targets, chromedp.ByQuery),
		chromedp.Text(`#flash`, &flash, chromedp.ByQuery),
	)
	if name != "Price list" || !strings.HasPrefix(kind, "PDF") || targets != "All users" || !strings.Contains(flash, "uploaded") {
		t.Errorf("after upload: name %q, type %q, targets %q, flash %q", name, kind, targets, flash)
	}
}
