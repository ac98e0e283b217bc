package authz

import (
	"slices"
	"strings"

	"steward/internal/mdm"
)

// OAuth scopes an App Registration's access token may carry. A read scope only ever reaches GET routes;
// an elevated scope reaches writes. A token asked for without a scope gets its registration's read
// scopes (the Neurons platform's "read-only by default").
const (
	ScopeRead               = "read"                // the MDM API's reads: tenant, users, devices, apps
	ScopeDataServicesRead   = "dataservices.read"   // Data Services: devices and people, for a CMDB
	ScopePatchGroupReader   = "patchgroup.reader"   // patches, CVEs, patch groups and their audit
	ScopePatchGroupEditor   = "patchgroup.editor"   // edit existing patch groups
	ScopePatchGroupAdmin    = "patchgroup.admin"    // create, edit and deploy patch groups
	ScopeConfigurationRead  = "configuration.read"  // configurations
	ScopeConfigurationWrite = "configuration.write" // save and change configurations
	ScopeDeviceAction       = "device.action"       // lock, unlock, message, retire, wipe, force check-in
	ScopeDeviceManage       = "device.manage"       // device records
	ScopeUserManage         = "user.manage"         // users and groups
	ScopeAppManage          = "app.manage"          // apps and content
)

// OAuthScope is one OAuth scope: what it grants and whether it is elevated (reaches writes).
type OAuthScope struct {
	Name        string
	Description string
	Elevated    bool
	Grants      []Permission
}

var scopes = []OAuthScope{
	{ScopeRead, "Read the MDM API: tenant, users, groups, devices, apps", false,
		[]Permission{TenantRead, UserRead, DeviceRead, AppRead}},
	{ScopeDataServicesRead, "Read devices and people through Data Services", false, []Permission{DataRead}},
	{ScopePatchGroupReader, "Read patches, CVEs, patch groups and their audit", false, []Permission{PatchRead}},
	{ScopePatchGroupEditor, "Edit existing patch groups", true, []Permission{PatchRead, PatchEdit}},
	{ScopePatchGroupAdmin, "Create, edit and deploy patch groups", true, []Permission{PatchRead, PatchEdit, PatchAdmin}},
	{ScopeConfigurationRead, "Read configurations", false, []Permission{ConfigRead}},
	{ScopeConfigurationWrite, "Save and change configurations", true, []Permission{ConfigRead, ConfigManage}},
	{ScopeDeviceAction, "Lock, unlock, message, retire, wipe and force check-in of devices", true,
		[]Permission{DeviceRead, DeviceAction}},
	{ScopeDeviceManage, "Change device records", true, []Permission{DeviceRead, DeviceManage}},
	{ScopeUserManage, "Add, change, invite and delete users and groups", true, []Permission{UserRead, UserManage}},
	{ScopeAppManage, "Add, change and distribute apps and content", true, []Permission{AppRead, AppManage}},
}

// Scopes lists every scope in a stable order.
func Scopes() []OAuthScope { return slices.Clone(scopes) }

// LookupScope returns the scope named name.
func LookupScope(name string) (OAuthScope, bool) {
	for _, s := range scopes {
		if s.Name == name {
			return s, true
		}
	}
	return OAuthScope{}, false
}

// Application types an App Registration is created for.
const (
	AppTypeCSM              = "CSM"
	AppTypeCustom           = "CUSTOM"
	AppTypeITSM             = "ITSM_ITAM"
	AppTypeUWM              = "UWM"
	AppTypePatchGroupAdmin  = "PATCH_GROUP_ADMIN"
	AppTypePatchGroupEditor = "PATCH_GROUP_EDITOR"
)

// AppType is a supported application: its fixed scopes, and for the Custom App the elevated scopes an
// administrator may add at creation.
type AppType struct {
	ID          string
	Name        string
	Description string
	Scopes      []string // always granted
	Optional    []string // may be chosen at creation (Custom App only)
}

var appTypes = []AppType{
	{AppTypeCSM, "Cherwell Service Management (Ivanti-hosted)",
		"Reads device data through Data Services to populate the Cherwell CMDB.",
		[]string{ScopeDataServicesRead}, nil},
	{AppTypeCustom, "Custom App",
		"Your own integration: read-only unless elevated scopes are chosen when it is created.",
		[]string{ScopeRead, ScopeDataServicesRead, ScopePatchGroupReader, ScopeConfigurationRead},
		[]string{ScopeDeviceAction, ScopeDeviceManage, ScopeUserManage, ScopeAppManage, ScopePatchGroupEditor,
			ScopePatchGroupAdmin, ScopeConfigurationWrite}},
	{AppTypeITSM, "Ivanti Neurons for ITSM and ITAM (On-Prem)",
		"Reads device and people data through Data Services for ITSM and ITAM.",
		[]string{ScopeDataServicesRead}, nil},
	{AppTypeUWM, "Ivanti User Workspace Manager (On-Prem)",
		"Reads, saves and deploys configurations from the User Workspace Manager consoles.",
		[]string{ScopeConfigurationRead, ScopeConfigurationWrite}, nil},
	{AppTypePatchGroupAdmin, "IN4RBVM Patch Group Admin",
		"CVEs to patch group: creates new patch groups and edits existing ones (patchgroup.admin).",
		[]string{ScopePatchGroupReader, ScopePatchGroupAdmin}, nil},
	{AppTypePatchGroupEditor, "IN4RBVM Patch Group Editor",
		"CVEs to patch group: edits existing patch groups (patchgroup.editor).",
		[]string{ScopePatchGroupReader, ScopePatchGroupEditor}, nil},
}

// AppTypes lists the supported application types in the order the console offers them.
func AppTypes() []AppType { return slices.Clone(appTypes) }

// LookupAppType returns the application type id.
func LookupAppType(id string) (AppType, bool) {
	for _, t := range appTypes {
		if t.ID == id {
			return t, true
		}
	}
	return AppType{}, false
}

// RegistrationScopes returns the scopes a new registration of type id gets with the elevated scopes
// chosen (only the type's optional ones may be), or an invalid error naming what is wrong.
func RegistrationScopes(id string, chosen []string) ([]string, error) {
	t, ok := LookupAppType(id)
	if !ok {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "appType",
			Message: "must be one of " + strings.Join(appTypeIDs(), ", ")})
	}
	out := slices.Clone(t.Scopes)
	for _, s := range chosen {
		if !slices.Contains(t.Optional, s) {
			msg := "this application type takes no scopes beyond its own"
			if len(t.Optional) > 0 {
				msg = "must be one of " + strings.Join(t.Optional, ", ")
			}
			return nil, mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "scopes", Message: msg + " (got " + s + ")"})
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func appTypeIDs() []string {
	var ids []string
	for _, t := range appTypes {
		ids = append(ids, t.ID)
	}
	return ids
}

// ReadScopes returns the read (non-elevated) scopes among granted: what a token gets when none is asked for.
func ReadScopes(granted []string) []string {
	var out []string
	for _, s := range granted {
		if sc, ok := LookupScope(s); ok && !sc.Elevated {
			out = append(out, s)
		}
	}
	return out
}

// scopeAllows reports whether any of the scopes grants perm.
func scopeAllows(names []string, perm Permission) bool {
	for _, n := range names {
		if sc, ok := LookupScope(n); ok && slices.Contains(sc.Grants, perm) {
			return true
		}
	}
	return false
}
