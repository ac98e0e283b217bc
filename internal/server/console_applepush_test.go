package server

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// upload posts the push certificate form as a browser does (multipart).
func (c *consoleClient) upload(path string, file []byte, fields map[string]string) pageResp {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if file != nil {
		fw, err := mw.CreateFormFile("certificate", "push.pem")
		if err != nil {
			c.t.Fatal(err)
		}
		fw.Write(file)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
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

// TestConsoleApplePush drives /console/apple/push without a browser: the empty state, refused uploads
// shown next to their field with nothing stored, an upload, the expiry banner on the page and the
// overview, a read-only user who sees but cannot change, another tenant who sees nothing, and delete
// with its confirmation.
func TestConsoleApplePush(t *testing.T) {
	s, ts := startConsole(t)
	hooli, admin := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	consoleTenant(t, s, "Raviga", "laurie@raviga.example.com")
	ta := signIn(t, ts, "gavin@hooli.example.com", testAdminPassword)
	ctx := mdm.WithPrincipal(t.Context(), admin)
	if _, err := s.accounts.CreateAccounts(ctx, []accounts.NewAccount{{EmailAddress: "sro@hooli.example.com", FirstName: "S",
		LastName: "R", Password: "sro password 12", Roles: []string{authz.RoleSystemReadOnly}}}, false); err != nil {
		t.Fatal(err)
	}
	stored := func() *mdm.ApplePushCertificate {
		c, err := s.store.Apple().PushCertificate(t.Context(), hooli.Tenant.ID)
		if mdm.IsCode(err, mdm.NotFound) {
			return nil
		} else if err != nil {
			t.Fatal(err)
		}
		return c
	}

	ta.do("GET", "/console", nil).lacks(t, "overview without a certificate", `id="push-banner"`)
	ta.do("GET", "/console/apple/push", nil).expect(t, 200, "empty page", `id="push-none"`, `id="push-upload"`,
		`enctype="multipart/form-data"`, `href="/console/apple/push"`)

	cert := makePushCert(t, newTestTopic(), yearFromNow())
	for _, tt := range []struct {
		name   string
		file   []byte
		fields map[string]string
		want   string
	}{
		{"no file", nil, nil, `id="push-file-error"`},
		{"wrong password", cert.P12, map[string]string{"password": "nope"}, `id="push-password-error"`},
		{"not a push certificate", makePushCert(t, "", yearFromNow()).PEM, nil, "no UID (push topic)"},
		{"expired", makePushCert(t, newTestTopic(), time.Now().Add(-time.Hour)).PEM, nil, "Expired on"},
	} {
		ta.upload("/console/apple/push", tt.file, tt.fields).expect(t, 400, tt.name, tt.want, `aria-invalid="true"`)
		if stored() != nil {
			t.Fatalf("%s: a certificate was stored", tt.name)
		}
	}
	big := append(append([]byte{}, cert.PEM...), make([]byte, 80<<10)...)
	if r := ta.upload("/console/apple/push", big, nil); r.status != 413 || stored() != nil {
		t.Errorf("oversize upload: %d, stored %v; want 413 and nothing", r.status, stored() != nil)
	}

	ta.upload("/console/apple/push", cert.P12, map[string]string{"password": p12Password}).location(t, "/console/apple/push?done=pushcert")
	page := ta.do("GET", "/console/apple/push?done=pushcert", nil).expect(t, 200, "after upload", cert.Topic,
		"The push certificate was uploaded.", `id="push-delete"`, `id="push-allow-topic"`)
	page.lacks(t, "a fresh certificate", `id="push-banner"`, "PRIVATE KEY")
	if c := stored(); c == nil || c.Topic != cert.Topic || c.UploadedBy != "gavin@hooli.example.com" {
		t.Fatalf("stored %+v", c)
	}

	// Expiring within 30 days: the banner on the page and on the overview.
	soon := makePushCert(t, cert.Topic, time.Now().Add(5*24*time.Hour+time.Hour))
	ta.upload("/console/apple/push", soon.PEM, nil).location(t, "/console/apple/push")
	ta.do("GET", "/console/apple/push", nil).expect(t, 200, "expiring", `id="push-banner"`, "expires in 5 days")
	ta.do("GET", "/console", nil).expect(t, 200, "overview", `id="push-banner"`, "expires in 5 days", `href="/console/apple/push"`)

	// A read-only system role sees the certificate and the banner, but no form, and cannot post.
	sro := signIn(t, ts, "sro@hooli.example.com", "sro password 12")
	sro.do("GET", "/console/apple/push", nil).expect(t, 200, "read-only", cert.Topic, `id="push-banner"`).
		lacks(t, "read-only", `id="push-upload"`, `id="push-delete"`)
	if r := sro.upload("/console/apple/push", cert.PEM, nil); r.status != 403 {
		t.Errorf("read-only upload: %d, want 403", r.status)
	}
	if r := sro.do("POST", "/console/apple/push/delete", url.Values{}); r.status != 403 || stored() == nil {
		t.Errorf("read-only delete: %d, want 403 and the certificate kept", r.status)
	}

	// Another tenant sees none.
	raviga := signIn(t, ts, "laurie@raviga.example.com", testAdminPassword)
	raviga.do("GET", "/console/apple/push", nil).expect(t, 200, "other tenant", `id="push-none"`).lacks(t, "other tenant", cert.Topic)
	if r := raviga.do("POST", "/console/apple/push/delete", url.Values{}); r.status != 404 || stored() == nil {
		t.Errorf("other tenant delete: %d, want 404 and the certificate kept", r.status)
	}

	// Delete, after the confirmation page.
	ta.do("GET", "/console/apple/push/delete", nil).expect(t, 200, "confirm", `id="confirm"`, cert.Topic)
	ta.do("POST", "/console/apple/push/delete", url.Values{}).location(t, "/console/apple/push?done=pushcertdeleted")
	if stored() != nil {
		t.Error("the certificate is still stored after delete")
	}
	ta.do("GET", "/console", nil).lacks(t, "overview after delete", `id="push-banner"`)
}

// TestApplePushInChromium uploads a push certificate through the console's file input in headless
// Chromium and sees its topic and, since it expires soon, the banner on the page and the overview.
func TestApplePushInChromium(t *testing.T) {
	ctx := chromium(t)
	s, ts := startConsole(t)
	consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	cert := makePushCert(t, newTestTopic(), time.Now().Add(12*24*time.Hour+time.Hour))
	file := filepath.Join(t.TempDir(), "push.pem")
	if err := os.WriteFile(file, cert.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	run := steps(t, ctx)
	var topic, flash, banner, home string
	run("sign in and open the push certificate page",
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "gavin@hooli.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav a[href="/console/apple/push"]`, chromedp.ByQuery),
		chromedp.Click(`nav a[href="/console/apple/push"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#push-none`, chromedp.ByQuery),
	)
	run("upload the certificate",
		chromedp.SetUploadFiles(`#push-file`, []string{file}, chromedp.ByQuery),
		chromedp.Click(`#push-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#push-topic`, chromedp.ByQuery),
		chromedp.Text(`#push-topic`, &topic, chromedp.ByQuery),
		chromedp.Text(`#flash`, &flash, chromedp.ByQuery),
		chromedp.Text(`#push-banner`, &banner, chromedp.ByQuery),
	)
	if topic != cert.Topic || !strings.Contains(flash, "uploaded") || !strings.Contains(banner, "expires in 12 days") {
		t.Errorf("after upload: topic %q, flash %q, banner %q", topic, flash, banner)
	}
	run("the overview warns too",
		chromedp.Click(`nav a[href="/console"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#push-banner`, chromedp.ByQuery),
		chromedp.Text(`#push-banner`, &home, chromedp.ByQuery),
	)
	if !strings.Contains(home, "expires in 12 days") {
		t.Errorf("overview banner %q", home)
	}
}
