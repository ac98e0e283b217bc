package patch

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/fq"
	"steward/internal/mdm"
)

// MaxDeployDevices bounds the devices one deployment targets.
const MaxDeployDevices = 10_000

// maxUserGroups bounds the user groups one deployment names.
const maxUserGroups = 100

// readRows is the page size of the reads that gather the targeted devices.
const readRows = 500

// Targets names the devices a deployment goes to: the devices of the members of user groups, and/or
// the devices matching a device filter (fq, as in GET /api/v1/device: a dynamic device group).
type Targets struct {
	UserGroupIDs []int64 `json:"userGroupIds"`
	FQ           string  `json:"fq"`
}

// Deployment says what a deployment did.
type Deployment struct {
	PatchGroupID string `json:"patchGroupId"`
	Targeted     int    `json:"targeted"` // devices named by the targets (each once)
	Queued       int    `json:"queued"`   // OS update commands queued
	UpToDate     int    `json:"upToDate"` // active devices already at or above the group's version for their OS
	Skipped      int    `json:"skipped"`  // not ACTIVE, or no patch of the group for their OS
}

// Deploy queues, for every targeted ACTIVE device whose OS has a patch in the group and whose OS version
// is below it, one OS update command to the newest such version (PatchAdmin), and wakes those devices.
//
// An iOS device is compared by its OS version. Steward does not collect the Android security patch
// level, so an Android device is queued whenever the group holds an Android patch: the agent installs
// the system update its device offers, which cannot be pinned to one patch level anyway. A command
// still pending for a device with the same payload is not repeated.
func (s *Service) Deploy(ctx context.Context, id string, t Targets) (*Deployment, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.PatchAdmin)
	if err != nil {
		return nil, err
	}
	if id, err = groupID(id); err != nil {
		return nil, err
	}
	var v mdm.Validator
	v.Check(len(t.UserGroupIDs) > 0 || strings.TrimSpace(t.FQ) != "", "userGroupIds", "Required",
		"name the targets: userGroupIds (user groups whose members' devices get the update) and/or fq (a device filter)")
	v.Check(len(t.UserGroupIDs) <= maxUserGroups, "userGroupIds", "Size", fmt.Sprintf("at most %d groups", maxUserGroups))
	for _, g := range t.UserGroupIDs {
		if g <= 0 {
			v.Check(false, "userGroupIds", "Type", "must be user group ids (whole numbers)")
			break
		}
	}
	filter, err := fq.Parse(t.FQ, mdm.DeviceFields)
	if err != nil {
		v.Check(false, "fq", "Syntax", err.Error())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	out := &Deployment{PatchGroupID: id}
	var woken []mdm.DeviceID
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		g, err := tx.Patches().Group(ctx, tenantID, id)
		if err != nil {
			return err
		}
		patches, err := tx.Patches().Patches(ctx, g.PatchIDs)
		if err != nil {
			return err
		}
		newest := newestByPlatform(patches)
		devices, err := targets(ctx, tx, tenantID, t.UserGroupIDs, filter)
		if err != nil {
			return err
		}
		out.Targeted = len(devices)
		byPatch := map[string][]mdm.DeviceID{}
		for _, d := range devices {
			np, ok := newest[d.Platform]
			switch {
			case d.RegistrationState != mdm.StateActive || !ok:
				out.Skipped++
			case !below(d.Platform, d.Facts.OSVersion, np.OSVersion):
				out.UpToDate++
			default:
				byPatch[np.ID] = append(byPatch[np.ID], d.ID)
			}
		}
		for _, np := range newest {
			ids := byPatch[np.ID]
			if len(ids) == 0 {
				continue
			}
			slices.Sort(ids)
			got, err := tx.Commands().Enqueue(ctx, tenantID, ids, []string{mdm.StateActive}, mdm.NewCommand{Type: mdm.CmdOSUpdate,
				Payload: map[string]string{"productVersion": np.OSVersion, "patchId": np.ID}, CreatedBy: p.Username, Collapse: true}, now)
			if err != nil {
				return err
			}
			out.Queued += len(got)
			woken = append(woken, got...)
		}
		row := mdm.PatchGroupAudit{TenantID: tenantID, At: now, EditedBy: p.Username, Action: mdm.PatchGroupDeployed,
			GroupID: g.ID, GroupName: g.Name, GroupVersion: g.Version}
		if err := tx.Patches().AppendGroupAudit(ctx, []mdm.PatchGroupAudit{row}); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "patch.group.deploy",
			TargetType: "patch_group", TargetID: g.ID, Details: map[string]any{"version": g.Version,
				"userGroupIds": t.UserGroupIDs, "fq": t.FQ, "targeted": out.Targeted, "queued": out.Queued}})
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "patch group deployed", "tenant_id", tenantID, "patch_group_id", id, "queued", out.Queued)
	if s.wake != nil && len(woken) > 0 {
		s.wake(ctx, tenantID, woken)
	}
	return out, nil
}

// platformOf maps a catalog operating system to a device platform.
var platformOf = map[string]string{mdm.PatchOSiOS: mdm.PlatformIOS, mdm.PatchOSAndroid: mdm.PlatformAndroid}

// newestByPlatform returns, per device platform, the patch bringing the highest version.
func newestByPlatform(patches []mdm.Patch) map[string]mdm.Patch {
	out := map[string]mdm.Patch{}
	for _, p := range patches {
		pl := platformOf[p.OperatingSystem]
		if cur, ok := out[pl]; !ok || compareVersions(cur.OSVersion, p.OSVersion) < 0 {
			out[pl] = p
		}
	}
	return out
}

// below reports whether a device at version have needs the patch bringing want. An Android device is
// always below a patch level (its patch level is not known); an unreadable iOS version is below.
func below(platform, have, want string) bool {
	if platform == mdm.PlatformAndroid && patchLevelRE.MatchString(want) && !patchLevelRE.MatchString(have) {
		return true
	}
	return compareVersions(have, want) < 0
}

// compareVersions compares dotted (17.4.1) or dashed (2024-03-01) versions numerically part by part;
// a missing part is 0 and a part that is not a number sorts first.
func compareVersions(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == '.' || r == '-' })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < max(len(pa), len(pb)); i++ {
		x, y := -1, -1
		if i < len(pa) {
			if n, err := strconv.Atoi(pa[i]); err == nil {
				x = n
			}
		} else {
			x = 0
		}
		if i < len(pb) {
			if n, err := strconv.Atoi(pb[i]); err == nil {
				y = n
			}
		} else {
			y = 0
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// targets gathers the devices of the members of the user groups and those matching filter, each once.
func targets(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, groups []int64, filter mdm.Filter) ([]mdm.Device, error) {
	seen := map[mdm.DeviceID]bool{}
	var out []mdm.Device
	add := func(ds []mdm.Device) error {
		for _, d := range ds {
			if !seen[d.ID] {
				seen[d.ID] = true
				out = append(out, d)
			}
		}
		if len(out) > MaxDeployDevices {
			return mdm.Errorf(mdm.Invalid, "the targets hold more than %d devices: deploy to smaller groups", MaxDeployDevices)
		}
		return nil
	}
	for _, gid := range groups {
		g, err := tx.Groups().Get(ctx, tenantID, mdm.GroupID(gid))
		if err != nil {
			if mdm.IsCode(err, mdm.NotFound) {
				return nil, mdm.Errorf(mdm.NotFound, "user group %d not found", gid)
			}
			return nil, err
		}
		accounts, err := members(ctx, tx, g)
		if err != nil {
			return nil, err
		}
		for _, a := range accounts {
			ds, err := tx.Devices().ForAccount(ctx, tenantID, a)
			if err != nil {
				return nil, err
			}
			if err := add(ds); err != nil {
				return nil, err
			}
		}
	}
	if filter != nil {
		for start := 0; ; start += readRows {
			page, err := tx.Devices().List(ctx, tenantID, mdm.ListOptions{Start: start, Rows: readRows, Filter: filter,
				Sort: []mdm.SortField{{Field: "id"}}})
			if err != nil {
				return nil, err
			}
			if err := add(page.Items); err != nil {
				return nil, err
			}
			if len(page.Items) < readRows {
				break
			}
		}
	}
	return out, nil
}

// members lists the accounts of a user group: a static group's members, the accounts a dynamic group's
// rule matches (a rule that no longer parses matches nobody), every account for All Users.
func members(ctx context.Context, tx mdm.Stores, g *mdm.UserGroup) ([]mdm.AccountID, error) {
	var filter mdm.Filter
	if g.Kind == mdm.DynamicGroup {
		rule, err := fq.Parse(g.Rule, mdm.AccountFields)
		if err != nil || rule == nil {
			return nil, nil
		}
		filter = rule
	}
	var out []mdm.AccountID
	for start := 0; ; start += readRows {
		opts := mdm.ListOptions{Start: start, Rows: readRows, Filter: filter, Sort: []mdm.SortField{{Field: "id"}}}
		var page mdm.Page[mdm.Account]
		var err error
		if g.Kind == mdm.StaticGroup {
			page, err = tx.Groups().Members(ctx, g.TenantID, g.ID, opts)
		} else {
			page, err = tx.Accounts().List(ctx, g.TenantID, opts)
		}
		if err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			out = append(out, a.ID)
		}
		if len(out) > MaxDeployDevices {
			return nil, mdm.Errorf(mdm.Invalid, "user group %d has more than %d members: deploy to smaller groups", g.ID, MaxDeployDevices)
		}
		if len(page.Items) < readRows {
			return out, nil
		}
	}
}
