package httpapi

import (
	"bytes"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"steward/internal/apps"
	"steward/internal/assign"
	"steward/internal/mdm"
)

// An in-house app over the largest file accepted is refused with 413 naming the file field, before the
// service sees it.
func TestInHouseUploadCap(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	a := New(Deps{Log: log, Assign: assign.New(nil, time.Now), Apps: apps.New(nil, nil, log, apps.WithMaxFile(1<<20))})
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "big.apk")
	part.Write(bytes.Repeat([]byte{'x'}, 3<<20))
	mw.Close()
	req := httptest.NewRequest("POST", "/api/v1/apps/inhouse", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req = req.WithContext(mdm.WithPrincipal(req.Context(), &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1,
		TenantID: "t1", Roles: []string{mdm.RoleTenantAdmin}}))
	w := httptest.NewRecorder()
	a.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), `"field":"file"`) ||
		!strings.Contains(w.Body.String(), "1 MiB") {
		t.Errorf("upload over the cap: %d %s", w.Code, w.Body)
	}
}
