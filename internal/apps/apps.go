// Package apps manages a tenant's app list (public store apps and uploaded in-house apps), who each app
// is distributed to, the App Catalog (the apps a user or device may install) and the App Inventory (every
// app installed on every device), and delivers required apps to the devices they reach.
package apps

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"steward/internal/assign"
	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Bounds of an app's fields.
const (
	MaxName        = 200
	MaxDescription = 4000
	MaxURL         = 2048
	MaxBundleID    = 255
	MaxCategories  = 50
)

// Service manages apps for the caller's tenant: App Read lists and reads apps, their distribution, the
// catalog of any user and the inventory; App Manage adds, changes, distributes and deletes apps. Every
// change writes its audit row in its own transaction; distribution changes bump the tenant's assignment
// generation there too, then queue installs and removals for the devices concerned (Deliver).
type Service struct {
	store   mdm.Store
	blobs   Blobs
	log     *slog.Logger
	now     func() time.Time
	baseURL string
	maxFile int64
	keys    *secret.Keys
	// sealPayload, when set, seals a queued command's payload value that is a credential.
	sealPayload func(string) string

	wake            func(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID)
	convergeEvery   time.Duration
	inventoryMaxAge time.Duration
	smallFleet      int
	refreshing      sync.Map // tenant id → *sync.Mutex: one inventory refresh at a time per tenant
}

// Option configures the service.
type Option func(*Service)

// WithClock sets the clock (time.Now by default).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithBaseURL sets the server's external URL, which in-house app downloads and iOS manifests are served
// under (iOS needs https).
func WithBaseURL(u string) Option { return func(s *Service) { s.baseURL = strings.TrimRight(u, "/") } }

// WithWake sets how devices that were queued an install or removal are asked to check in now (by
// default they check in on their interval).
func WithWake(wake func(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID)) Option {
	return func(s *Service) { s.wake = wake }
}

// WithMaxFile bounds uploaded binaries (DefaultMaxFile by default).
func WithMaxFile(n int64) Option { return func(s *Service) { s.maxFile = n } }

// New returns the service. blobs keeps uploaded binaries.
func New(store mdm.Store, blobs Blobs, log *slog.Logger, opts ...Option) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{store: store, blobs: blobs, log: log, now: time.Now, maxFile: DefaultMaxFile, convergeEvery: DefaultConvergeEvery,
		inventoryMaxAge: DefaultInventoryMaxAge, smallFleet: SmallFleet}
	for _, o := range opts {
		o(s)
	}
	return s
}

// MaxFile is the largest binary accepted.
func (s *Service) MaxFile() int64 { return s.maxFile }

// TargetInput names one target of an app: type ALL_USERS (no id), USER_GROUP or DEVICE_GROUP with the
// group's id; required apps are installed automatically, optional ones shown in the catalog.
type TargetInput struct {
	Type     string `json:"type"`
	ID       int64  `json:"id"`
	Required bool   `json:"required"`
}

// AppInput adds or changes an app. platformType (IOS or ANDROID) and bundleId (the bundle id or package
// name) are fixed at creation; an in-house app takes both, and its version, from its binary.
// categories replaces the app's categories and targets its distribution, when given.
type AppInput struct {
	Platform    *string        `json:"platformType"`
	BundleID    *string        `json:"bundleId"`
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	IconURL     *string        `json:"iconUrl"`
	StoreID     *string        `json:"itunesStoreId"`
	Categories  *[]int64       `json:"categories"`
	Targets     *[]TargetInput `json:"targets"`
}

// View is an app with its distribution and categories.
type View struct {
	App        mdm.App
	Targets    []mdm.Distribution
	Categories []mdm.Category
}

var bundleIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// ValidBundleID reports whether s looks like a bundle id or package name: dot-separated parts of
// letters, digits, '-' and '_'.
func ValidBundleID(s string) bool { return len(s) <= MaxBundleID && bundleIDPattern.MatchString(s) }

// Platform parses a platform name: IOS or ANDROID, in any case.
func Platform(s string) (string, bool) {
	p := strings.ToUpper(strings.TrimSpace(s))
	return p, p == mdm.PlatformIOS || p == mdm.PlatformAndroid
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkFields(v *mdm.Validator, in AppInput) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		v.Check(name != "", "name", "Required", "is required")
		v.Check(len(name) <= MaxName, "name", "Size", "must be at most 200 characters")
		v.Check(!strings.ContainsFunc(name, isControl), "name", "Pattern", "must not contain control characters")
	}
	if in.Description != nil {
		v.Check(len(*in.Description) <= MaxDescription, "description", "Size", "must be at most 4000 characters")
	}
	if in.IconURL != nil && *in.IconURL != "" {
		u, err := url.Parse(*in.IconURL)
		v.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(*in.IconURL) <= MaxURL &&
			!strings.ContainsFunc(*in.IconURL, isControl), "iconUrl", "Pattern", "must be an http(s) URL of at most 2048 characters")
	}
	if in.StoreID != nil && *in.StoreID != "" {
		n, err := strconv.ParseInt(*in.StoreID, 10, 64)
		v.Check(err == nil && n > 0, "itunesStoreId", "Pattern", "must be the App Store's numeric app id")
	}
	if in.Categories != nil {
		v.Check(len(*in.Categories) <= MaxCategories, "categories", "Size", "at most 50 categories")
	}
	if in.Targets != nil {
		v.Check(len(*in.Targets) <= assign.MaxTargets, "targets", "Size", "at most 200 targets")
	}
}

// distributions turns target inputs into distributions (validated later by assign.CheckTargets).
func distributions(in []TargetInput) []mdm.Distribution {
	out := make([]mdm.Distribution, 0, len(in))
	for _, t := range in {
		out = append(out, mdm.Distribution{Target: mdm.TargetKind(strings.ToUpper(strings.TrimSpace(t.Type))),
			TargetID: t.ID, Required: t.Required})
	}
	return out
}

func categoryIDs(in []int64) []mdm.CategoryID {
	out := make([]mdm.CategoryID, 0, len(in))
	for _, id := range in {
		out = append(out, mdm.CategoryID(id))
	}
	return out
}

// Create adds a public store app: platformType, bundleId and name are required.
func (s *Service) Create(ctx context.Context, in AppInput) (*View, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	platform := ""
	if in.Platform == nil {
		v.Check(false, "platformType", "Required", "is required")
	} else {
		var ok bool
		platform, ok = Platform(*in.Platform)
		v.Check(ok, "platformType", "Enum", "must be IOS or ANDROID")
	}
	bundle := ""
	if in.BundleID == nil {
		v.Check(false, "bundleId", "Required", "is required")
	} else {
		bundle = strings.TrimSpace(*in.BundleID)
		v.Check(ValidBundleID(bundle), "bundleId", "Pattern", "must be a bundle id or package name such as com.example.app")
	}
	v.Check(in.Name != nil, "name", "Required", "is required")
	v.Check(in.StoreID == nil || *in.StoreID == "" || platform == mdm.PlatformIOS, "itunesStoreId", "NotAllowed",
		"only iOS apps have an App Store id")
	checkFields(&v, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	a := &mdm.App{TenantID: tenantID, Platform: platform, Source: mdm.AppPublic, BundleID: bundle,
		Name: strings.TrimSpace(*in.Name), CreatedBy: mdm.PrincipalFrom(ctx).Username, CreatedAt: now, ModifiedAt: now}
	applyText(a, in)
	return s.create(ctx, tenantID, a, in)
}

func applyText(a *mdm.App, in AppInput) {
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.IconURL != nil {
		a.IconURL = strings.TrimSpace(*in.IconURL)
	}
	if in.StoreID != nil {
		a.StoreID = strings.TrimSpace(*in.StoreID)
	}
}

// create stores a, its categories and its targets in one transaction with the audit row, then delivers.
func (s *Service) create(ctx context.Context, tenantID mdm.TenantID, a *mdm.App, in AppInput) (*View, error) {
	var view *View
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Apps().Create(ctx, a); err != nil {
			return mdm.ConflictOn(err, "bundleId")
		}
		if in.Categories != nil {
			if err := setCategories(ctx, tx, tenantID, a.ID, *in.Categories); err != nil {
				return err
			}
		}
		if in.Targets != nil {
			if _, err := assign.SetDistribution(ctx, tx, tenantID, mdm.ItemApp, int64(a.ID), distributions(*in.Targets)); err != nil {
				return err
			}
		}
		var err error
		if view, err = viewOf(ctx, tx, tenantID, a); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), a.CreatedAt, audit.Entry{TenantID: tenantID, Action: "app.create",
			TargetType: "app", TargetID: a.BundleID, Details: map[string]any{"id": a.ID, "platform": a.Platform,
				"source": a.Source, "name": a.Name, "targets": len(view.Targets)}})
	})
	if err != nil {
		return nil, err
	}
	if len(view.Targets) > 0 {
		s.deliver(ctx, tenantID, &view.App, nil, view.Targets)
	}
	return view, nil
}

func setCategories(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, id mdm.AppID, ids []int64) error {
	err := tx.Categories().SetItemCategories(ctx, tenantID, mdm.ItemApp, int64(id), categoryIDs(ids))
	if mdm.IsCode(err, mdm.NotFound) {
		return mdm.FieldErrors(mdm.FieldError{Code: "NotFound", Field: "categories", Message: "names an unknown app category"})
	}
	return err
}

func viewOf(ctx context.Context, st mdm.Stores, tenantID mdm.TenantID, a *mdm.App) (*View, error) {
	ds, err := st.Distributions().ForItem(ctx, tenantID, mdm.ItemApp, int64(a.ID))
	if err != nil {
		return nil, err
	}
	cats, err := st.Categories().ForItems(ctx, tenantID, mdm.ItemApp, []int64{int64(a.ID)})
	if err != nil {
		return nil, err
	}
	return &View{App: *a, Targets: nonNilDs(ds), Categories: nonNilCats(cats[int64(a.ID)])}, nil
}

func nonNilDs(ds []mdm.Distribution) []mdm.Distribution {
	if ds == nil {
		return []mdm.Distribution{}
	}
	return ds
}

func nonNilCats(cs []mdm.Category) []mdm.Category {
	if cs == nil {
		return []mdm.Category{}
	}
	return cs
}

// Get returns one app of the caller's tenant with its distribution and categories.
func (s *Service) Get(ctx context.Context, id mdm.AppID) (*View, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Apps().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	return viewOf(ctx, s.store, tenantID, a)
}

// List pages through the caller's tenant's apps, each with its distribution and categories (read for
// the whole page in two queries).
func (s *Service) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[View], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return mdm.Page[View]{}, err
	}
	p, err := s.store.Apps().List(ctx, tenantID, opts)
	if err != nil {
		return mdm.Page[View]{}, err
	}
	return s.views(ctx, tenantID, p)
}

func (s *Service) views(ctx context.Context, tenantID mdm.TenantID, p mdm.Page[mdm.App]) (mdm.Page[View], error) {
	out := mdm.Page[View]{TotalCount: p.TotalCount, Start: p.Start, Rows: p.Rows, Items: make([]View, 0, len(p.Items))}
	ids := make([]int64, 0, len(p.Items))
	for _, a := range p.Items {
		ids = append(ids, int64(a.ID))
	}
	ds, err := s.store.Distributions().ForItems(ctx, tenantID, mdm.ItemApp, ids)
	if err != nil {
		return out, err
	}
	cats, err := s.store.Categories().ForItems(ctx, tenantID, mdm.ItemApp, ids)
	if err != nil {
		return out, err
	}
	for _, a := range p.Items {
		out.Items = append(out.Items, View{App: a, Targets: nonNilDs(ds[int64(a.ID)]), Categories: nonNilCats(cats[int64(a.ID)])})
	}
	return out, nil
}

// Update changes an app's name, description, icon URL, App Store id, categories and targets (each when
// given). Platform and bundle id never change (a different value is refused).
func (s *Service) Update(ctx context.Context, id mdm.AppID, in AppInput) (*View, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	checkFields(&v, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	var (
		view *View
		old  []mdm.Distribution
	)
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		a, err := tx.Apps().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		var v mdm.Validator
		if in.Platform != nil {
			p, _ := Platform(*in.Platform)
			v.Check(p == a.Platform, "platformType", "NotAllowed", "an app's platform cannot change")
		}
		if in.BundleID != nil {
			v.Check(strings.TrimSpace(*in.BundleID) == a.BundleID, "bundleId", "NotAllowed", "an app's bundle id cannot change")
		}
		v.Check(in.StoreID == nil || *in.StoreID == "" || (a.Platform == mdm.PlatformIOS && a.Source == mdm.AppPublic),
			"itunesStoreId", "NotAllowed", "only public iOS apps have an App Store id")
		if err := v.Err(); err != nil {
			return err
		}
		patch := mdm.AppPatch{Description: in.Description, StoreID: in.StoreID}
		if in.Name != nil {
			name := strings.TrimSpace(*in.Name)
			patch.Name = &name
		}
		if in.IconURL != nil {
			icon := strings.TrimSpace(*in.IconURL)
			patch.IconURL = &icon
		}
		if a, err = tx.Apps().Update(ctx, tenantID, id, patch, now); err != nil {
			return err
		}
		if in.Categories != nil {
			if err := setCategories(ctx, tx, tenantID, a.ID, *in.Categories); err != nil {
				return err
			}
		}
		if in.Targets != nil {
			if old, err = assign.SetDistribution(ctx, tx, tenantID, mdm.ItemApp, int64(a.ID), distributions(*in.Targets)); err != nil {
				return err
			}
		}
		if view, err = viewOf(ctx, tx, tenantID, a); err != nil {
			return err
		}
		details := map[string]any{"id": a.ID}
		if in.Targets != nil {
			details["targets"] = len(view.Targets)
		}
		if in.Categories != nil {
			details["categories"] = len(view.Categories)
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "app.update",
			TargetType: "app", TargetID: a.BundleID, Details: details})
	})
	if err != nil {
		return nil, err
	}
	if in.Targets != nil || in.StoreID != nil { // an App Store id makes an iOS app installable
		s.deliver(ctx, tenantID, &view.App, old, view.Targets)
	}
	return view, nil
}

// SetDistribution replaces who an app is distributed to (an empty list: nobody), then delivers.
func (s *Service) SetDistribution(ctx context.Context, id mdm.AppID, ds []mdm.Distribution) (*View, error) {
	targets := make([]TargetInput, 0, len(ds))
	for _, d := range ds {
		targets = append(targets, TargetInput{Type: string(d.Target), ID: d.TargetID, Required: d.Required})
	}
	return s.Update(ctx, id, AppInput{Targets: &targets})
}

// Delete removes an app with its distribution, categories and binary, and queues its removal from the
// devices it reached.
func (s *Service) Delete(ctx context.Context, id mdm.AppID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppManage)
	if err != nil {
		return err
	}
	now := s.now()
	var (
		a       *mdm.App
		managed []mdm.DeviceID
	)
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		var err error
		if a, err = tx.Apps().Get(ctx, tenantID, id); err != nil {
			return err
		}
		if _, err = assign.DeleteItem(ctx, tx, tenantID, mdm.ItemApp, int64(id)); err != nil {
			return err
		}
		if managed, err = tx.Apps().ManagedInstalls(ctx, tenantID, id); err != nil {
			return err
		}
		if err := tx.Apps().Delete(ctx, tenantID, id); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "app.delete",
			TargetType: "app", TargetID: a.BundleID, Details: map[string]any{"id": a.ID, "platform": a.Platform}})
	})
	if err != nil {
		return err
	}
	if a.FileKey != "" && s.blobs != nil {
		if err := s.blobs.Delete(ctx, a.FileKey); err != nil {
			s.log.Warn("app binary not deleted", "tenant_id", tenantID, "app_id", id, "err", err)
		}
	}
	if n, err := s.remove(context.WithoutCancel(ctx), tenantID, a, managed); err != nil {
		s.log.Error("app removal failed", "tenant_id", tenantID, "app_id", id, "err", err)
	} else if n > 0 {
		s.log.Info("app delivery", "tenant_id", tenantID, "app_id", id, "removals", n)
	}
	return nil
}

// Categories lists the tenant's app categories (for the console's pickers).
func (s *Service) Categories(ctx context.Context) ([]mdm.Category, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return nil, err
	}
	var out []mdm.Category
	for start := 0; ; start += 500 {
		p, err := s.store.Categories().List(ctx, tenantID, mdm.ItemApp, mdm.ListOptions{Start: start, Rows: 500,
			Sort: []mdm.SortField{{Field: "name"}}})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if len(p.Items) < 500 || start > 10_000 {
			return slices.Clip(out), nil
		}
	}
}
