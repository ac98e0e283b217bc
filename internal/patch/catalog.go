// Package patch is Patch Management for mobile OS updates: the global catalog of patches (iOS
// releases, Android security patch levels) and the CVEs they fix, each tenant's patch groups made from
// lists of CVEs with their audit, and the deployment of a group's OS updates to devices.
package patch

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// Service is Patch Management.
type Service struct {
	store mdm.Store
	log   *slog.Logger
	now   func() time.Time
	wake  func(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID)
}

// Option configures the service.
type Option func(*Service)

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithWake sets how devices that got an OS update command are asked to check in now.
func WithWake(wake func(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID)) Option {
	return func(s *Service) { s.wake = wake }
}

// New returns the service.
func New(store mdm.Store, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, log: log, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Catalog is the import form of the patch catalog (and of the sample shipped with Steward).
type Catalog struct {
	CVEs    []CatalogCVE   `json:"cves"`
	Patches []CatalogPatch `json:"patches"`
}

// CatalogCVE is one CVE to import.
type CatalogCVE struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

// CatalogPatch is one patch to import. PublishedDate is RFC 3339 or a date (2006-01-02).
type CatalogPatch struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	OperatingSystem string   `json:"operatingSystem"`
	OSVersion       string   `json:"osVersion"`
	PublishedDate   string   `json:"publishedDate"`
	KBNumber        string   `json:"kbNumber"`
	Description     string   `json:"description"`
	CVEIDs          []string `json:"cveIds"`
}

// Import bounds.
const (
	MaxImportPatches = 5000
	MaxImportCVEs    = 20000
	MaxPatchCVEs     = 500
	maxName          = 200
	maxDescription   = 2000
	maxKB            = 64
)

var (
	guidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	cveRE        = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,7}$`)
	iosVersionRE = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{1,3}){0,2}$`)
	patchLevelRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// NormalizeGUID returns s as a lower-case GUID, or false when it is not one.
func NormalizeGUID(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, guidRE.MatchString(s)
}

// NormalizeCVE returns s as an upper-case CVE id, or false when it is not one.
func NormalizeCVE(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, cveRE.MatchString(s)
}

// validVersion reports whether v is an OS version the catalog takes for os: an iOS version (17.4.1)
// or an Android security patch level (2024-03-01).
func validVersion(os, v string) bool {
	switch os {
	case mdm.PatchOSiOS:
		return iosVersionRE.MatchString(v)
	case mdm.PatchOSAndroid:
		_, err := time.Parse(time.DateOnly, v)
		return patchLevelRE.MatchString(v) && err == nil
	}
	return false
}

func cleanLine(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	return s, mdm.CleanText(s) && utf8.RuneCountInString(s) <= max && !strings.ContainsAny(s, "\r\n")
}

// parseCatalog checks every entry and returns the catalog in domain form; field errors name the entry
// (patches[3].osVersion).
func parseCatalog(c Catalog) ([]mdm.CVE, []mdm.Patch, error) {
	var v mdm.Validator
	v.Check(len(c.Patches) > 0 || len(c.CVEs) > 0, "patches", "Required", "give at least one patch or CVE")
	v.Check(len(c.Patches) <= MaxImportPatches, "patches", "Size", fmt.Sprintf("at most %d patches at once", MaxImportPatches))
	v.Check(len(c.CVEs) <= MaxImportCVEs, "cves", "Size", fmt.Sprintf("at most %d CVEs at once", MaxImportCVEs))
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	cves := make([]mdm.CVE, 0, len(c.CVEs))
	seen := map[string]bool{}
	for i, in := range c.CVEs {
		f := fmt.Sprintf("cves[%d].", i)
		id, ok := NormalizeCVE(in.ID)
		v.Check(ok, f+"id", "Invalid", "must be a CVE id such as CVE-2024-23225")
		v.Check(!ok || !seen[id], f+"id", "Duplicate", id+" is listed twice")
		seen[id] = true
		desc := strings.TrimSpace(in.Description)
		v.Check(mdm.CleanText(desc) && utf8.RuneCountInString(desc) <= maxDescription, f+"description", "Size",
			fmt.Sprintf("at most %d characters", maxDescription))
		cves = append(cves, mdm.CVE{ID: id, Description: desc})
	}
	patches := make([]mdm.Patch, 0, len(c.Patches))
	seenPatch := map[string]bool{}
	for i, in := range c.Patches {
		f := fmt.Sprintf("patches[%d].", i)
		id, ok := NormalizeGUID(in.ID)
		v.Check(ok, f+"id", "Invalid", "must be a GUID (8-4-4-4-12 hexadecimal digits)")
		v.Check(!ok || !seenPatch[id], f+"id", "Duplicate", id+" is listed twice")
		seenPatch[id] = true
		name, ok := cleanLine(in.Name, maxName)
		v.Check(ok && name != "", f+"name", "Invalid", fmt.Sprintf("is required, one line of at most %d characters", maxName))
		os := in.OperatingSystem
		switch strings.ToLower(strings.TrimSpace(os)) {
		case "ios":
			os = mdm.PatchOSiOS
		case "android":
			os = mdm.PatchOSAndroid
		default:
			v.Check(false, f+"operatingSystem", "Enum", "must be iOS or Android")
		}
		ver := strings.TrimSpace(in.OSVersion)
		if os == mdm.PatchOSiOS || os == mdm.PatchOSAndroid {
			v.Check(validVersion(os, ver), f+"osVersion", "Invalid",
				"must be an iOS version (17.4.1) for iOS, or a security patch level (2024-03-01) for Android")
		}
		published, err := time.Parse(time.RFC3339, strings.TrimSpace(in.PublishedDate))
		if err != nil {
			published, err = time.Parse(time.DateOnly, strings.TrimSpace(in.PublishedDate))
		}
		v.Check(err == nil, f+"publishedDate", "Invalid", "must be an RFC 3339 date-time or a date (2024-03-05)")
		kb, ok := cleanLine(in.KBNumber, maxKB)
		v.Check(ok, f+"kbNumber", "Size", fmt.Sprintf("one line of at most %d characters", maxKB))
		desc := strings.TrimSpace(in.Description)
		v.Check(mdm.CleanText(desc) && utf8.RuneCountInString(desc) <= maxDescription, f+"description", "Size",
			fmt.Sprintf("at most %d characters", maxDescription))
		v.Check(len(in.CVEIDs) <= MaxPatchCVEs, f+"cveIds", "Size", fmt.Sprintf("at most %d CVEs per patch", MaxPatchCVEs))
		var ids []string
		for _, c := range in.CVEIDs {
			cid, ok := NormalizeCVE(c)
			if !ok {
				v.Check(false, f+"cveIds", "Invalid", "each must be a CVE id such as CVE-2024-23225")
				break
			}
			ids = append(ids, cid)
		}
		patches = append(patches, mdm.Patch{ID: id, Name: name, OperatingSystem: os, OSVersion: ver,
			PublishedDate: published.UTC().Truncate(time.Millisecond), KBNumber: kb, Description: desc, CVEIDs: ids})
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	return cves, patches, nil
}

// ImportResult says what an import wrote.
type ImportResult struct {
	Patches int `json:"patches"`
	CVEs    int `json:"cves"`
}

// ImportCatalog adds or replaces catalog entries by id, all or none (System Admin only).
func (s *Service) ImportCatalog(ctx context.Context, c Catalog) (ImportResult, error) {
	if err := authz.RequireSystemAdmin(mdm.PrincipalFrom(ctx)); err != nil {
		return ImportResult{}, err
	}
	cves, patches, err := parseCatalog(c)
	if err != nil {
		return ImportResult{}, err
	}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Patches().PutCatalog(ctx, cves, patches); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{Action: "patch.catalog.import", TargetType: "patch_catalog",
			Details: map[string]any{"patches": len(patches), "cves": len(cves)}})
	})
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Patches: len(patches), CVEs: len(cves)}, nil
}

//go:embed catalog.json
var sampleCatalog []byte

// SampleCatalog is the catalog shipped with Steward.
func SampleCatalog() (Catalog, error) {
	var c Catalog
	err := json.Unmarshal(sampleCatalog, &c)
	return c, err
}

// EnsureCatalog loads the sample catalog when the catalog is empty and returns how many patches it
// loaded (0 when the catalog had some already).
func (s *Service) EnsureCatalog(ctx context.Context) (int, error) {
	n, err := s.store.Patches().CountPatches(ctx)
	if err != nil || n > 0 {
		return 0, err
	}
	c, err := SampleCatalog()
	if err != nil {
		return 0, fmt.Errorf("sample patch catalog: %w", err)
	}
	cves, patches, err := parseCatalog(c)
	if err != nil {
		return 0, fmt.Errorf("sample patch catalog: %w", err)
	}
	if err := s.store.Patches().PutCatalog(ctx, cves, patches); err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "sample patch catalog loaded", "patches", len(patches), "cves", len(cves))
	return len(patches), nil
}

// ListPatches pages through the catalog (PatchRead).
func (s *Service) ListPatches(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Patch], error) {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.PatchRead); err != nil {
		return mdm.Page[mdm.Patch]{}, err
	}
	return s.store.Patches().ListPatches(ctx, opts)
}

// ListCVEs pages through the catalog's CVEs (PatchRead).
func (s *Service) ListCVEs(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.CVE], error) {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.PatchRead); err != nil {
		return mdm.Page[mdm.CVE]{}, err
	}
	return s.store.Patches().ListCVEs(ctx, opts)
}
