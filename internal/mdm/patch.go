package mdm

import (
	"context"
	"time"
)

// Operating systems of the patch catalog (operatingSystem in the Patch Management API).
const (
	PatchOSiOS     = "iOS"
	PatchOSAndroid = "Android"
)

// Patch is one mobile OS update of the global patch catalog. ID is a lower-case GUID. OSVersion is
// what the update brings: an iOS version ("17.4.1") or an Android security patch level ("2024-03-01").
type Patch struct {
	ID              string
	Name            string
	OperatingSystem string // PatchOSiOS or PatchOSAndroid
	OSVersion       string
	PublishedDate   time.Time
	KBNumber        string // the vendor's bulletin or release-note reference
	Description     string
	CVEIDs          []string // the CVEs it fixes, sorted
}

// CVE is one known vulnerability of the catalog.
type CVE struct {
	ID          string // e.g. CVE-2024-23225, upper-case
	Description string
}

// PatchGroup is a tenant's named set of catalog patches, usually made from a list of CVEs. Version
// starts at 1 and grows by one on each edit.
type PatchGroup struct {
	ID         string // lower-case GUID
	TenantID   TenantID
	Name       string
	Version    int
	CreatedAt  time.Time
	ModifiedAt time.Time
	PatchIDs   []string // sorted
	// CVEIDs are the CVEs the group was last made from, in the order asked (GET cves-to-patch-group).
	CVEIDs []string
}

// Patch group audit actions (patchGroupAuditAction).
const (
	PatchGroupCreated      = "Created"
	PatchGroupPatchAdded   = "PatchAdded"
	PatchGroupPatchRemoved = "PatchRemoved"
	PatchGroupRenamed      = "Renamed"
	PatchGroupUpdated      = "Updated" // an edit that changed neither patches nor name
	PatchGroupDeployed     = "Deployed"
)

// PatchGroupAudit is one row of a patch group's history: who (EditedBy, the X-On-Behalf-Of of the
// request) did what to which group version.
type PatchGroupAudit struct {
	ID           int64
	TenantID     TenantID
	At           time.Time
	EditedBy     string
	Action       string // one of the PatchGroup* actions
	GroupID      string
	GroupName    string
	GroupVersion int
	PatchID      string // "" for actions on the whole group
	PatchName    string
}

// Field sets of the patch lists (API names; name is what Filter searches).
var (
	PatchFields = FieldSet{"id": StringField, "name": StringField, "operatingSystem": StringField,
		"osVersion": StringField, "publishedDate": TimeField, "kbNumber": StringField}
	CVEFields        = FieldSet{"id": StringField, "description": StringField}
	PatchGroupFields = FieldSet{"id": StringField, "name": StringField, "version": IntField,
		"creationDate": TimeField, "lastModifiedDate": TimeField}
	PatchGroupAuditFields = FieldSet{"id": IntField, "actionDate": TimeField, "editedBy": StringField,
		"action": StringField, "patchGroupId": StringField, "name": StringField, "patchName": StringField}
)

// PatchStore keeps the global patch catalog and each tenant's patch groups with their audit.
//
// PutCatalog inserts or replaces the given CVEs and patches by id (a patch's CVE list is replaced;
// a CVE a patch names that is not among cves is added with an empty description unless known).
// CountPatches counts the catalog. Patches returns those of ids that exist, by id. CVEPatches returns,
// for each of cveIDs that the catalog knows, the ids of the patches that fix it (sorted; empty when
// none); unknown CVEs are absent. CreateGroup returns conflict for a name taken in the tenant
// (case-insensitively) or an id taken. Group returns not_found for a group unknown in the tenant.
// UpdateGroup replaces name, patches, CVEs, version and modification time of the group whose version
// is still fromVersion: not_found for an unknown group, conflict when it changed meanwhile or the
// name is taken.
type PatchStore interface {
	PutCatalog(ctx context.Context, cves []CVE, patches []Patch) error
	CountPatches(ctx context.Context) (int, error)
	ListPatches(ctx context.Context, opts ListOptions) (Page[Patch], error)
	Patches(ctx context.Context, ids []string) ([]Patch, error)
	ListCVEs(ctx context.Context, opts ListOptions) (Page[CVE], error)
	CVEPatches(ctx context.Context, cveIDs []string) (map[string][]string, error)

	CreateGroup(ctx context.Context, g *PatchGroup) error
	Group(ctx context.Context, tenantID TenantID, id string) (*PatchGroup, error)
	UpdateGroup(ctx context.Context, g *PatchGroup, fromVersion int) error
	ListGroups(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[PatchGroup], error)
	AppendGroupAudit(ctx context.Context, rows []PatchGroupAudit) error
	ListGroupAudit(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[PatchGroupAudit], error)
}
