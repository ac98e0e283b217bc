// Package content manages a tenant's business documents: upload (type checked by extension and
// content signature, size limited), metadata and categories, file replacement, distribution to users
// and groups through package assign, deletion, the per-device and per-user content catalogs, and
// downloads. Files live in a blob.Store; rows in mdm.ContentStore.
package content

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"steward/internal/assign"
	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/blob"
	"steward/internal/mdm"
)

// Service manages content for the caller's tenant: App Read lists, reads and downloads it, App
// Manage uploads, changes, distributes and deletes it. Every change writes its audit row in its own
// transaction.
type Service struct {
	store mdm.Store
	blobs blob.Store
	now   func() time.Time
	log   *slog.Logger
}

// New returns the service. now is the clock (time.Now when nil); log may be nil.
func New(store mdm.Store, blobs blob.Store, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, blobs: blobs, now: now, log: log}
}

// Item is a content item with its categories and distribution.
type Item struct {
	mdm.Content
	Categories    []mdm.Category
	Distributions []mdm.Distribution
}

// Input creates or changes a content item; nil fields are left as they are (on creation: Name
// defaults to the file name without its extension, the rest to empty). Targets replaces the item's
// distribution; Categories its content categories.
type Input struct {
	Name        *string
	Description *string
	Categories  *[]mdm.CategoryID
	Targets     *[]mdm.Distribution
}

// File is an uploaded document: its name (the extension says its type) and its bytes.
type File struct {
	Name string
	Body io.Reader
}

// MaxNameLength and MaxDescriptionLength bound the metadata.
const (
	MaxNameLength        = 200
	MaxDescriptionLength = 2000
	MaxCategories        = 50
)

func checkInput(v *mdm.Validator, in Input) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		v.Check(name != "", "name", "Required", "is required")
		v.Check(len(name) <= MaxNameLength, "name", "Size", "must be at most 200 characters")
		v.Check(mdm.CleanText(name) && !strings.ContainsFunc(name, isControl), "name", "Pattern", "must be text without control characters")
	}
	if in.Description != nil {
		v.Check(len(*in.Description) <= MaxDescriptionLength, "description", "Size", "must be at most 2000 characters")
		v.Check(mdm.CleanText(*in.Description), "description", "Pattern", "must be UTF-8 text without NUL characters")
	}
	if in.Categories != nil {
		v.Check(len(*in.Categories) <= MaxCategories, "categories", "Size", "at most 50 categories")
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// baseName keeps the last element of an uploaded file's name (browsers may send a path), without
// control characters.
func baseName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(strings.TrimSpace(name))
	name = strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" {
		return ""
	}
	if len(name) > 255 {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		name = strings.ToValidUTF8(name[:255-len(ext)], "") + ext
	}
	return name
}

// put checks and stores an uploaded file. On any refusal nothing is stored.
func (s *Service) put(ctx context.Context, f File) (mdm.ContentFile, error) {
	name := baseName(f.Name)
	if f.Body == nil || name == "" {
		return mdm.ContentFile{}, fileError("Required", "is required: upload a "+allowedText+" file")
	}
	typ, r, err := Inspect(name, f.Body)
	if err != nil {
		return mdm.ContentFile{}, err
	}
	info, err := s.blobs.Put(ctx, r, MaxFileBytes)
	switch {
	case errors.Is(err, blob.ErrTooLarge):
		return mdm.ContentFile{}, TooLarge()
	case err != nil:
		var e *mdm.Error
		if errors.As(err, &e) {
			return mdm.ContentFile{}, err
		}
		return mdm.ContentFile{}, mdm.Wrap(mdm.Internal, err, "the file could not be stored")
	}
	return mdm.ContentFile{FileName: name, Type: typ, MIMEType: MIMEType(typ), Size: info.Size, SHA256: info.SHA256,
		BlobKey: info.Key}, nil
}

// forget deletes a blob no row names (any more); a failure leaves an orphan file, logged.
func (s *Service) forget(ctx context.Context, key string) {
	if err := s.blobs.Delete(context.WithoutCancel(ctx), key); err != nil && !errors.Is(err, blob.ErrNotFound) {
		s.log.ErrorContext(ctx, "content: a blob could not be deleted", "blob_key", key, "err", err)
	}
}

// Upload adds a content item to the caller's tenant from an uploaded file (App Manage). A file that
// is not one of the accepted types (by extension and by content), is empty or is larger than
// MaxFileBytes is refused and nothing is stored.
func (s *Service) Upload(ctx context.Context, in Input, f File) (*Item, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	checkInput(&v, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	file, err := s.put(ctx, f)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &mdm.Content{TenantID: tenantID, FileName: file.FileName, Type: file.Type, MIMEType: file.MIMEType, Size: file.Size,
		SHA256: file.SHA256, BlobKey: file.BlobKey, Version: 1, CreatedBy: mdm.PrincipalFrom(ctx).Username,
		CreatedAt: now, ModifiedAt: now}
	c.Name = strings.TrimSuffix(file.FileName, path.Ext(file.FileName))
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	var item *Item
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Contents().Create(ctx, c); err != nil {
			return err
		}
		if err := s.apply(ctx, tx, tenantID, c.ID, in); err != nil {
			return err
		}
		var err error
		if item, err = s.item(ctx, tx, tenantID, c); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "content.upload",
			TargetType: "content", TargetID: c.Name, Details: map[string]any{"id": c.ID, "fileName": c.FileName,
				"contentType": c.Type, "size": c.Size, "sha256": c.SHA256}})
	})
	if err != nil {
		s.forget(ctx, file.BlobKey)
		return nil, err
	}
	return item, nil
}

// apply sets an item's categories and distribution inside tx as in says.
func (s *Service) apply(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, id mdm.ContentID, in Input) error {
	if in.Categories != nil {
		ids := slices.Compact(slices.Sorted(slices.Values(*in.Categories)))
		err := tx.Categories().SetItemCategories(ctx, tenantID, mdm.ItemContent, int64(id), ids)
		if mdm.IsCode(err, mdm.NotFound) {
			return mdm.FieldErrors(mdm.FieldError{Code: "NotFound", Field: "categories",
				Message: "names a category that is not one of this tenant's content categories"})
		}
		if err != nil {
			return err
		}
	}
	if in.Targets != nil {
		ds := slices.Clone(*in.Targets)
		if _, err := assign.SetDistribution(ctx, tx, tenantID, mdm.ItemContent, int64(id), ds); err != nil {
			return err
		}
	}
	return nil
}

// item adds c's categories and distribution.
func (s *Service) item(ctx context.Context, st mdm.Stores, tenantID mdm.TenantID, c *mdm.Content) (*Item, error) {
	items, err := s.items(ctx, st, tenantID, []mdm.Content{*c})
	if err != nil {
		return nil, err
	}
	return &items[0], nil
}

func (s *Service) items(ctx context.Context, st mdm.Stores, tenantID mdm.TenantID, cs []mdm.Content) ([]Item, error) {
	out := make([]Item, len(cs))
	if len(cs) == 0 {
		return out, nil
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = int64(c.ID)
	}
	cats, err := st.Categories().ForItems(ctx, tenantID, mdm.ItemContent, ids)
	if err != nil {
		return nil, err
	}
	dists, err := st.Distributions().ForItems(ctx, tenantID, mdm.ItemContent, ids)
	if err != nil {
		return nil, err
	}
	for i, c := range cs {
		out[i] = Item{Content: c, Categories: nonNil(cats[int64(c.ID)]), Distributions: nonNil(dists[int64(c.ID)])}
	}
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// List pages through the caller's tenant's content (App Read). category, when not 0, keeps only the
// items that carry it.
func (s *Service) List(ctx context.Context, opts mdm.ListOptions, category mdm.CategoryID) (mdm.Page[Item], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return mdm.Page[Item]{}, err
	}
	if category != 0 {
		if opts.Filter, err = s.inCategory(ctx, tenantID, category, opts.Filter); err != nil {
			return mdm.Page[Item]{}, err
		}
	}
	p, err := s.store.Contents().List(ctx, tenantID, opts)
	if err != nil {
		return mdm.Page[Item]{}, err
	}
	items, err := s.items(ctx, s.store, tenantID, p.Items)
	if err != nil {
		return mdm.Page[Item]{}, err
	}
	return mdm.Page[Item]{Items: items, TotalCount: p.TotalCount, Start: p.Start, Rows: p.Rows}, nil
}

// inCategory narrows filter to the items carrying a content category.
func (s *Service) inCategory(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID, filter mdm.Filter) (mdm.Filter, error) {
	cat, err := s.store.Categories().Get(ctx, tenantID, id)
	if err != nil || cat.Kind != mdm.ItemContent {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "NotFound", Field: "category", Message: "is not one of this tenant's content categories"})
	}
	ids, err := s.store.Categories().Items(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	or := mdm.Or{mdm.Compare{Field: "id", Op: mdm.Eq, Value: int64(-1)}} // matches nothing when ids is empty
	for _, i := range ids {
		or = append(or, mdm.Compare{Field: "id", Op: mdm.Eq, Value: i})
	}
	if filter == nil {
		return or, nil
	}
	return mdm.And{filter, or}, nil
}

// Get returns one content item of the caller's tenant (App Read).
func (s *Service) Get(ctx context.Context, id mdm.ContentID) (*Item, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Contents().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return s.item(ctx, s.store, tenantID, c)
}

// Update changes an item's metadata, categories or distribution and, when f is not nil, replaces its
// file: the new file is checked as at upload, stored, and the item's version incremented; the old
// file is deleted once the change is committed (App Manage).
func (s *Service) Update(ctx context.Context, id mdm.ContentID, in Input, f *File) (*Item, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	checkInput(&v, in)
	v.Check(f != nil || in.Name != nil || in.Description != nil || in.Categories != nil || in.Targets != nil, "body", "Required",
		"give at least one of name, description, categories, targets, file")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := s.store.Contents().Get(ctx, tenantID, id); err != nil {
		return nil, err // before storing a file for an item that does not exist
	}
	var file *mdm.ContentFile
	if f != nil {
		cf, err := s.put(ctx, *f)
		if err != nil {
			return nil, err
		}
		file = &cf
	}
	patch := mdm.ContentPatch{Description: in.Description, File: file}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		patch.Name = &name
	}
	var item *Item
	var oldKey string
	now := s.now()
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		old, err := lockContent(ctx, tx, tenantID, id, now)
		if err != nil {
			return err
		}
		c, err := tx.Contents().Update(ctx, tenantID, id, patch, now)
		if err != nil {
			return err
		}
		if err := s.apply(ctx, tx, tenantID, id, in); err != nil {
			return err
		}
		if item, err = s.item(ctx, tx, tenantID, c); err != nil {
			return err
		}
		details := map[string]any{"id": c.ID, "version": c.Version}
		action := "content.update"
		if file != nil {
			oldKey = old.BlobKey
			action = "content.replace_file"
			details["fileName"], details["contentType"], details["size"], details["sha256"] = c.FileName, c.Type, c.Size, c.SHA256
		}
		if in.Targets != nil {
			details["targets"] = len(*in.Targets)
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: action, TargetType: "content",
			TargetID: c.Name, Details: details})
	})
	if err != nil {
		if file != nil {
			s.forget(ctx, file.BlobKey)
		}
		return nil, err
	}
	if oldKey != "" {
		s.forget(ctx, oldKey)
	}
	return item, nil
}

// lockContent reads an item inside tx after writing its row (its modification time), so that two
// changes of one item run one after the other and each sees the file key the other left: a replaced or
// deleted file is then always the one the row named, and none is left behind.
func lockContent(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, id mdm.ContentID, now time.Time) (*mdm.Content, error) {
	return tx.Contents().Update(ctx, tenantID, id, mdm.ContentPatch{}, now)
}

// Delete removes an item with its distribution and categories; its file is deleted once that is
// committed (App Manage). Devices no longer list or download it.
func (s *Service) Delete(ctx context.Context, id mdm.ContentID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return err
	}
	var key string
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		c, err := lockContent(ctx, tx, tenantID, id, s.now())
		if err != nil {
			return err
		}
		if _, err := assign.DeleteItem(ctx, tx, tenantID, mdm.ItemContent, int64(id)); err != nil {
			return err
		}
		if err := tx.Contents().Delete(ctx, tenantID, id); err != nil {
			return err
		}
		key = c.BlobKey
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "content.delete",
			TargetType: "content", TargetID: c.Name, Details: map[string]any{"id": c.ID, "fileName": c.FileName}})
	})
	if err != nil {
		return err
	}
	s.forget(ctx, key)
	return nil
}

// Download is an open content file with what a response needs to describe it.
type Download struct {
	Content mdm.Content
	File    blob.File
}

func (s *Service) open(ctx context.Context, c *mdm.Content) (*Download, error) {
	f, err := s.blobs.Open(ctx, c.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, mdm.Wrap(mdm.NotFound, err, "content file not found")
	}
	if err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "the content file could not be opened")
	}
	return &Download{Content: *c, File: f}, nil
}

// Open returns an item's file for an administrator (App Read). The caller closes it.
func (s *Service) Open(ctx context.Context, id mdm.ContentID) (*Download, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Contents().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, c)
}

// ---- Catalogs ------------------------------------------------------------------------------------

// CatalogEntry is one item of a content catalog. Required is set when a distribution reaching the
// device or user requires the document: the agent downloads it without being asked.
type CatalogEntry struct {
	mdm.Content
	Categories []mdm.Category
	Required   bool
}

// catalog lists the items t reaches, optionally only those carrying category (0: all).
func (s *Service) catalog(ctx context.Context, tenantID mdm.TenantID, t mdm.Targets, category mdm.CategoryID) ([]CatalogEntry, error) {
	ds, err := assign.NewResolver(s.store).Effective(ctx, tenantID, mdm.ItemContent, t)
	if err != nil {
		return nil, err
	}
	ids := make([]mdm.ContentID, 0, len(ds))
	required := map[mdm.ContentID]bool{}
	for _, d := range ds {
		ids = append(ids, mdm.ContentID(d.ItemID))
		required[mdm.ContentID(d.ItemID)] = d.Required
	}
	cs, err := s.store.Contents().GetMany(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	items, err := s.items(ctx, s.store, tenantID, cs)
	if err != nil {
		return nil, err
	}
	out := []CatalogEntry{}
	for _, it := range items {
		if category != 0 && !slices.ContainsFunc(it.Categories, func(c mdm.Category) bool { return c.ID == category }) {
			continue
		}
		out = append(out, CatalogEntry{Content: it.Content, Categories: it.Categories, Required: required[it.ID]})
	}
	slices.SortStableFunc(out, func(a, b CatalogEntry) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// DeviceCatalog lists the content distributed to device d (already authenticated by its credential:
// no permission is checked), optionally in one category. A quarantined device is refused (forbidden)
// until the compliance capability releases it.
func (s *Service) DeviceCatalog(ctx context.Context, d *mdm.Device, category mdm.CategoryID) ([]CatalogEntry, error) {
	if err := notQuarantined(d); err != nil {
		return nil, err
	}
	t, err := assign.NewResolver(s.store).TargetsForDevice(ctx, d.TenantID, d)
	if err != nil {
		return nil, err
	}
	return s.catalog(ctx, d.TenantID, t, category)
}

// notQuarantined refuses a quarantined device: it gets no content until it complies again.
func notQuarantined(d *mdm.Device) error {
	if d.Quarantined {
		return mdm.Errorf(mdm.Forbidden, "this device is quarantined by a compliance policy: content is blocked until it complies again")
	}
	return nil
}

// reaches reports whether t reaches content id.
func (s *Service) reaches(ctx context.Context, tenantID mdm.TenantID, t mdm.Targets, id mdm.ContentID) (bool, error) {
	ds, err := assign.NewResolver(s.store).Effective(ctx, tenantID, mdm.ItemContent, t)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ds, func(d mdm.Distribution) bool { return d.ItemID == int64(id) }), nil
}

// DeviceOpen returns a content file for device d when the content is distributed to it; anything
// else, another tenant's content included, is not_found. A quarantined device is refused (forbidden).
// The caller closes the file.
func (s *Service) DeviceOpen(ctx context.Context, d *mdm.Device, id mdm.ContentID) (*Download, error) {
	if err := notQuarantined(d); err != nil {
		return nil, err
	}
	t, err := assign.NewResolver(s.store).TargetsForDevice(ctx, d.TenantID, d)
	if err != nil {
		return nil, err
	}
	return s.openReached(ctx, d.TenantID, t, id)
}

func (s *Service) openReached(ctx context.Context, tenantID mdm.TenantID, t mdm.Targets, id mdm.ContentID) (*Download, error) {
	ok, err := s.reaches(ctx, tenantID, t, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mdm.Errorf(mdm.NotFound, "content not found")
	}
	c, err := s.store.Contents().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, c)
}

// userTargets returns the targets of the signed-in user (any account principal: the portal's user,
// or a console or API user for their own catalog).
func (s *Service) userTargets(ctx context.Context) (mdm.TenantID, mdm.Targets, error) {
	p := mdm.PrincipalFrom(ctx)
	if p == nil || p.TenantID == "" || p.IsSystemAdmin() || p.Kind == mdm.ClientPrincipal {
		return "", mdm.Targets{}, mdm.Errorf(mdm.Forbidden, "the content catalog is a user's own")
	}
	a, err := s.store.Accounts().Get(ctx, p.TenantID, mdm.AccountID(p.ID))
	if err != nil {
		return "", mdm.Targets{}, err
	}
	t, err := assign.NewResolver(s.store).TargetsForUser(ctx, p.TenantID, a)
	if err != nil {
		return "", mdm.Targets{}, err
	}
	// The user's devices' device groups count too: content distributed to a device group that holds
	// one of the user's devices is theirs to read.
	devs, err := s.store.Devices().List(ctx, p.TenantID, mdm.ListOptions{Rows: 100, Filter: mdm.And{
		mdm.Compare{Field: "ownerId", Op: mdm.Eq, Value: p.ID},
		mdm.Compare{Field: "registrationState", Op: mdm.Eq, Value: mdm.StateActive}}})
	if err != nil {
		return "", mdm.Targets{}, err
	}
	r := assign.NewResolver(s.store)
	for i := range devs.Items {
		dt, err := r.TargetsForDevice(ctx, p.TenantID, &devs.Items[i])
		if err != nil {
			return "", mdm.Targets{}, err
		}
		for _, g := range dt.DeviceGroups {
			if !slices.Contains(t.DeviceGroups, g) {
				t.DeviceGroups = append(t.DeviceGroups, g)
			}
		}
	}
	return p.TenantID, t, nil
}

// UserCatalog lists the content distributed to the signed-in user: to all users, their user groups,
// or a device group one of their active devices is in; optionally in one category.
func (s *Service) UserCatalog(ctx context.Context, category mdm.CategoryID) ([]CatalogEntry, error) {
	tenantID, t, err := s.userTargets(ctx)
	if err != nil {
		return nil, err
	}
	return s.catalog(ctx, tenantID, t, category)
}

// UserOpen returns a content file from the signed-in user's catalog (not_found for anything else).
func (s *Service) UserOpen(ctx context.Context, id mdm.ContentID) (*Download, error) {
	tenantID, t, err := s.userTargets(ctx)
	if err != nil {
		return nil, err
	}
	return s.openReached(ctx, tenantID, t, id)
}

// Categories lists the tenant's content categories, for browsing a catalog (no permission: every
// signed-in user of the tenant and every device may see the names). tenantID is the caller's.
func (s *Service) Categories(ctx context.Context, tenantID mdm.TenantID) ([]mdm.Category, error) {
	p, err := s.store.Categories().List(ctx, tenantID, mdm.ItemContent, mdm.ListOptions{Rows: 500,
		Sort: []mdm.SortField{{Field: "name"}}})
	return p.Items, err
}

// TargetOption is a target a content item can be distributed to, for the console's pickers.
type TargetOption struct {
	Kind mdm.TargetKind
	ID   int64
	Name string
}

// maxTargetOptions bounds each list of TargetOptions.
const maxTargetOptions = 500

// TargetOptions lists what content may be distributed to: All Users, then the tenant's user groups
// and device groups by name (App Manage, which distributing takes; no Device Read needed).
func (s *Service) TargetOptions(ctx context.Context) ([]TargetOption, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return nil, err
	}
	out := []TargetOption{{Kind: mdm.TargetAllUsers, Name: "All users"}}
	byName := mdm.ListOptions{Rows: maxTargetOptions, Sort: []mdm.SortField{{Field: "name"}}}
	ugs, err := s.store.Groups().List(ctx, tenantID, byName)
	if err != nil {
		return nil, err
	}
	for _, g := range ugs.Items {
		if g.Kind == mdm.AllUsersGroup {
			continue // the same people as All users
		}
		out = append(out, TargetOption{Kind: mdm.TargetUserGroup, ID: int64(g.ID), Name: g.Name})
	}
	dgs, err := s.store.DeviceGroups().List(ctx, tenantID, byName)
	if err != nil {
		return nil, err
	}
	for _, g := range dgs.Items {
		out = append(out, TargetOption{Kind: mdm.TargetDeviceGroup, ID: int64(g.ID), Name: g.Name})
	}
	return out, nil
}
