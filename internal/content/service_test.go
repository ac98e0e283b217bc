package content

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"steward/internal/authz"
	"steward/internal/blob"
	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	blobs *blob.Dir
	svc   *Service
	n     int
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlstore.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, store: store, blobs: blobs, svc: New(store, blobs, func() time.Time { return now }, nil)}
	for _, id := range []mdm.TenantID{"t-1", "t-2"} {
		tn := mdm.Tenant{ID: id, Name: string(id), State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
		f.must("tenant", store.Tenants().Create(ctx, &tn))
		f.must("built-ins", store.DeviceGroups().EnsureBuiltIns(ctx, id, now))
	}
	return f
}

func (f *fixture) must(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

func as(tenant mdm.TenantID, roles ...string) context.Context {
	return mdm.WithPrincipal(context.Background(), &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, Username: "admin",
		TenantID: tenant, Roles: roles})
}

var manager = as("t-1", authz.RoleAppContentManagement)

// blobFiles counts the files the blob store holds (its temporary directory included).
func (f *fixture) blobFiles() int {
	f.t.Helper()
	n := 0
	filepath.WalkDir(f.blobs.Root(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func (f *fixture) rows(tenant mdm.TenantID) int {
	f.t.Helper()
	p, err := f.store.Contents().List(f.ctx, tenant, mdm.ListOptions{Rows: 1})
	f.must("list", err)
	return p.TotalCount
}

func ptr[T any](v T) *T { return &v }

func TestUploadEveryType(t *testing.T) {
	f := setup(t)
	files := map[string][]byte{"a.doc": ole2File, "b.pdf": pdfFile, "c.ppt": ole2File, "d.rtf": rtfFile, "e.txt": txtFile,
		"f.xls": ole2File, "g.gif": gif89, "h.jpg": jpegFile, "i.png": pngFile}
	for name, data := range files {
		it, err := f.svc.Upload(manager, Input{}, File{Name: name, Body: bytes.NewReader(data)})
		f.must("upload "+name, err)
		want, mime, _ := TypeOf(name)
		if it.Type != want || it.MIMEType != mime || it.Size != int64(len(data)) || it.Name != strings.TrimSuffix(name, filepath.Ext(name)) ||
			it.FileName != name || it.Version != 1 || it.CreatedBy != "admin" {
			t.Errorf("%s: %+v", name, it.Content)
		}
		d, err := f.svc.Open(manager, it.ID)
		f.must("open", err)
		got, _ := io.ReadAll(d.File)
		d.File.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("%s: downloaded %d bytes, uploaded %d", name, len(got), len(data))
		}
	}
	if n := f.blobFiles(); n != len(files) {
		t.Errorf("%d blob files for %d uploads", n, len(files))
	}
}

func TestRefusalsStoreNothing(t *testing.T) {
	f := setup(t)
	big := io.MultiReader(bytes.NewReader(pdfFile), io.LimitReader(zeros{}, MaxFileBytes))
	cases := []struct {
		name string
		file File
		code string
	}{
		{"exe renamed pdf", File{"setup.pdf", bytes.NewReader(exeFile)}, "TypeMismatch"},
		{"pdf renamed png", File{"chart.png", bytes.NewReader(pdfFile)}, "TypeMismatch"},
		{"text with NUL", File{"notes.txt", bytes.NewReader(append(bytes.Repeat([]byte("x"), 10000), 0))}, "NotText"},
		{"exe", File{"setup.exe", bytes.NewReader(exeFile)}, "UnsupportedType"},
		{"oversize", File{"big.pdf", big}, "TooLarge"},
		{"no file", File{"", nil}, "Required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Upload(manager, Input{Name: ptr("x")}, tc.file)
			e, ok := err.(*mdm.Error)
			if !ok || e.Code != mdm.Invalid || len(e.Fields) != 1 || e.Fields[0].Code != tc.code {
				t.Fatalf("Upload = %v, want field error %s", err, tc.code)
			}
			if tc.code == "TooLarge" && !IsTooLarge(err) {
				t.Error("oversize refusal is not IsTooLarge")
			}
			if n := f.rows("t-1"); n != 0 {
				t.Errorf("%d rows after a refusal", n)
			}
			if n := f.blobFiles(); n != 0 {
				t.Errorf("%d blob files after a refusal", n)
			}
		})
	}
	// A refusal by the database (an unknown category) removes the stored file too.
	_, err := f.svc.Upload(manager, Input{Categories: &[]mdm.CategoryID{999}}, File{"a.pdf", bytes.NewReader(pdfFile)})
	if !mdm.IsCode(err, mdm.Invalid) {
		t.Fatalf("unknown category: %v", err)
	}
	if f.rows("t-1") != 0 || f.blobFiles() != 0 {
		t.Error("a refused transaction left a row or a file")
	}
}

func TestUpdateReplaceDelete(t *testing.T) {
	f := setup(t)
	cat := &mdm.Category{TenantID: "t-1", Kind: mdm.ItemContent, Name: "Sales", CreatedAt: now, ModifiedAt: now}
	f.must("category", f.store.Categories().Create(f.ctx, cat))
	appCat := &mdm.Category{TenantID: "t-1", Kind: mdm.ItemApp, Name: "Tools", CreatedAt: now, ModifiedAt: now}
	f.must("category", f.store.Categories().Create(f.ctx, appCat))
	it, err := f.svc.Upload(manager, Input{Name: ptr("Prices"), Description: ptr("2026"), Categories: &[]mdm.CategoryID{cat.ID},
		Targets: &[]mdm.Distribution{{Target: mdm.TargetAllUsers}}}, File{"prices.pdf", bytes.NewReader(pdfFile)})
	f.must("upload", err)
	if len(it.Categories) != 1 || it.Categories[0].Name != "Sales" || len(it.Distributions) != 1 {
		t.Fatalf("uploaded %+v", it)
	}
	oldKey := it.BlobKey

	_, err = f.svc.Update(manager, it.ID, Input{Categories: &[]mdm.CategoryID{appCat.ID}}, nil)
	if !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("an app category on content: %v", err)
	}
	_, err = f.svc.Update(manager, it.ID, Input{}, &File{"x.png", bytes.NewReader(pdfFile)})
	if !mdm.IsCode(err, mdm.Invalid) || f.blobFiles() != 1 {
		t.Errorf("a bad replacement: %v, %d files", err, f.blobFiles())
	}
	up, err := f.svc.Update(manager, it.ID, Input{Name: ptr("Price list")}, &File{"prices.png", bytes.NewReader(pngFile)})
	f.must("replace", err)
	if up.Version != 2 || up.Type != mdm.ContentPNG || up.Name != "Price list" || up.Description != "2026" || up.BlobKey == oldKey ||
		len(up.Categories) != 1 {
		t.Errorf("after replacement: %+v", up)
	}
	if _, err := f.blobs.Open(f.ctx, oldKey); err != blob.ErrNotFound {
		t.Errorf("the old file is still there: %v", err)
	}
	if f.blobFiles() != 1 {
		t.Errorf("%d files after replacement", f.blobFiles())
	}

	// Permissions and tenants.
	ro := as("t-1", authz.RoleAppContentReadOnly)
	if _, err := f.svc.Get(ro, it.ID); err != nil {
		t.Errorf("read-only Get: %v", err)
	}
	if _, err := f.svc.Update(ro, it.ID, Input{Name: ptr("x")}, nil); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("read-only Update: %v", err)
	}
	if err := f.svc.Delete(ro, it.ID); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("read-only Delete: %v", err)
	}
	if _, err := f.svc.Upload(as("t-1", authz.RoleDeviceManagement), Input{}, File{"a.pdf", bytes.NewReader(pdfFile)}); !mdm.IsCode(err, mdm.Forbidden) || f.blobFiles() != 1 {
		t.Errorf("device manager Upload: %v", err)
	}
	other := as("t-2", authz.RoleAppContentManagement)
	if _, err := f.svc.Get(other, it.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("other tenant Get: %v", err)
	}
	if _, err := f.svc.Update(other, it.ID, Input{}, &File{"a.pdf", bytes.NewReader(pdfFile)}); !mdm.IsCode(err, mdm.NotFound) || f.blobFiles() != 1 {
		t.Errorf("other tenant Update: %v (%d files)", err, f.blobFiles())
	}
	if err := f.svc.Delete(other, it.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("other tenant Delete: %v", err)
	}

	// Listing by category.
	p, err := f.svc.List(ro, mdm.ListOptions{Rows: 10}, cat.ID)
	f.must("list", err)
	if p.TotalCount != 1 {
		t.Errorf("in Sales: %+v", p)
	}
	if _, err := f.svc.List(ro, mdm.ListOptions{Rows: 10}, appCat.ID); !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("list in an app category: %v", err)
	}

	f.must("delete", f.svc.Delete(manager, it.ID))
	if f.rows("t-1") != 0 || f.blobFiles() != 0 {
		t.Error("delete left a row or a file")
	}
	audit, err := f.store.Audit().List(f.ctx, "t-1", mdm.ListOptions{Rows: 50, Sort: []mdm.SortField{{Field: "id"}}})
	f.must("audit", err)
	var actions []string
	for _, a := range audit.Items {
		actions = append(actions, a.Action)
	}
	if got := strings.Join(actions, ","); got != "content.upload,content.replace_file,content.delete" {
		t.Errorf("audit trail %s", got)
	}
	ds, err := f.store.Distributions().ForItem(f.ctx, "t-1", mdm.ItemContent, int64(it.ID))
	f.must("distributions", err)
	if len(ds) != 0 {
		t.Errorf("distributions left: %+v", ds)
	}
}

func TestCatalogs(t *testing.T) {
	f := setup(t)
	ann := &mdm.Account{TenantID: "t-1", Username: "ann", Email: "ann@example.com", Enabled: true, CreatedAt: now, ModifiedAt: now}
	f.must("account", f.store.Accounts().Create(f.ctx, ann))
	device := func(tenant mdm.TenantID, owner mdm.AccountID) *mdm.Device {
		f.n++
		d, err := f.store.Devices().Create(f.ctx, mdm.NewDevice{TenantID: tenant, GUID: fmt.Sprintf("g%d", f.n), AccountID: owner,
			Platform: mdm.PlatformAndroid, Kind: mdm.KindAndroidPhone, CredentialHash: []byte(fmt.Sprintf("c%d", f.n))}, now)
		f.must("device", err)
		return d
	}
	phone := device("t-1", ann.ID)
	kiosk := device("t-1", 0)
	foreign := device("t-2", 0)
	kiosks := &mdm.DeviceGroup{TenantID: "t-1", Name: "Kiosks", Kind: mdm.StaticDeviceGroup, CreatedAt: now, ModifiedAt: now}
	f.must("group", f.store.DeviceGroups().Create(f.ctx, kiosks))
	f.must("members", f.store.DeviceGroups().AddMembers(f.ctx, "t-1", kiosks.ID, []mdm.DeviceID{kiosk.ID}))

	everyone, err := f.svc.Upload(manager, Input{Name: ptr("Handbook"), Targets: &[]mdm.Distribution{{Target: mdm.TargetAllUsers}}},
		File{"handbook.pdf", bytes.NewReader(pdfFile)})
	f.must("upload", err)
	forKiosks, err := f.svc.Upload(manager, Input{Name: ptr("Menu"), Targets: &[]mdm.Distribution{{Target: mdm.TargetDeviceGroup, TargetID: int64(kiosks.ID)}}},
		File{"menu.png", bytes.NewReader(pngFile)})
	f.must("upload", err)
	nobody, err := f.svc.Upload(manager, Input{Name: ptr("Draft")}, File{"draft.txt", bytes.NewReader(txtFile)})
	f.must("upload", err)

	names := func(es []CatalogEntry) string {
		var out []string
		for _, e := range es {
			out = append(out, e.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		d    *mdm.Device
		want string
	}{{phone, "Handbook"}, {kiosk, "Menu"}, {foreign, ""}} {
		got, err := f.svc.DeviceCatalog(f.ctx, tc.d, 0)
		f.must("catalog", err)
		if names(got) != tc.want {
			t.Errorf("device %d catalog = %q, want %q", tc.d.ID, names(got), tc.want)
		}
	}
	for _, tc := range []struct {
		d    *mdm.Device
		id   mdm.ContentID
		want bool
	}{{phone, everyone.ID, true}, {phone, forKiosks.ID, false}, {kiosk, forKiosks.ID, true}, {kiosk, everyone.ID, false},
		{phone, nobody.ID, false}, {foreign, everyone.ID, false}, {foreign, forKiosks.ID, false}} {
		d, err := f.svc.DeviceOpen(f.ctx, tc.d, tc.id)
		switch {
		case tc.want && err != nil:
			t.Errorf("device %d cannot open %d: %v", tc.d.ID, tc.id, err)
		case !tc.want && !mdm.IsCode(err, mdm.NotFound):
			t.Errorf("device %d opens %d: %v", tc.d.ID, tc.id, err)
		}
		if d != nil {
			d.File.Close()
		}
	}
	user := mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.PortalPrincipal, ID: int64(ann.ID), Username: "ann", TenantID: "t-1"})
	got, err := f.svc.UserCatalog(user, 0)
	f.must("user catalog", err)
	if names(got) != "Handbook" {
		t.Errorf("ann's catalog = %q", names(got))
	}
	if _, err := f.svc.UserOpen(user, forKiosks.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("ann opens the kiosk menu: %v", err)
	}
	d, err := f.svc.UserOpen(user, everyone.ID)
	f.must("user open", err)
	d.File.Close()
}
