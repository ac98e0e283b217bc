package patch

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// Error policies for CVEs the catalog does not know (dataUpdateErrorPolicy).
const (
	PolicyOmit    = "Omit"    // leave them out (the default)
	PolicyInclude = "Include" // list them with no patch
	PolicyFail    = "Fail"    // refuse the request, naming them
)

// Request bounds.
const (
	MaxCVEs       = 1000
	MaxGroupName  = 100
	MaxOnBehalfOf = 255
)

// CVERequest is the body of POST and PUT cves-to-patch-group.
type CVERequest struct {
	CVEIDs                []string `json:"cveIds"`
	PatchGroupName        *string  `json:"patchGroupName,omitempty"`
	DataUpdateErrorPolicy string   `json:"dataUpdateErrorPolicy,omitempty"`
}

// Mapping is a group and, for each CVE it was made from, the patches of the group that fix it.
type Mapping struct {
	Group         mdm.PatchGroup
	CVEsToPatches map[string][]string
}

// checkOnBehalfOf validates the X-On-Behalf-Of header value: the requester the change is made for.
func checkOnBehalfOf(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "X-On-Behalf-Of",
			Message: "the X-On-Behalf-Of header is required: name the person or system the change is made for"})
	case len(v) > MaxOnBehalfOf || !mdm.CleanText(v) || strings.ContainsAny(v, "\r\n\t"):
		return "", mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "X-On-Behalf-Of",
			Message: fmt.Sprintf("the X-On-Behalf-Of header must be one line of at most %d bytes", MaxOnBehalfOf)})
	}
	return v, nil
}

// checkRequest validates a CVE request and returns the CVE ids (normalized, first occurrence order),
// the name ("" when none was given) and the policy.
func checkRequest(in CVERequest) (cves []string, name string, policy string, err error) {
	var v mdm.Validator
	v.Check(len(in.CVEIDs) > 0, "cveIds", "Required", "give at least one CVE id")
	v.Check(len(in.CVEIDs) <= MaxCVEs, "cveIds", "Size", fmt.Sprintf("at most %d CVE ids", MaxCVEs))
	seen := map[string]bool{}
	for _, c := range in.CVEIDs {
		id, ok := NormalizeCVE(c)
		if !ok {
			v.Check(false, "cveIds", "Invalid", fmt.Sprintf("%q is not a CVE id such as CVE-2024-23225", truncate(c, 40)))
			break
		}
		if !seen[id] {
			seen[id] = true
			cves = append(cves, id)
		}
	}
	if in.PatchGroupName != nil {
		n, ok := cleanLine(*in.PatchGroupName, MaxGroupName)
		v.Check(ok && n != "", "patchGroupName", "Invalid", fmt.Sprintf("one line of 1 to %d characters", MaxGroupName))
		name = n
	}
	switch strings.ToLower(strings.TrimSpace(in.DataUpdateErrorPolicy)) {
	case "", "omit":
		policy = PolicyOmit
	case "include":
		policy = PolicyInclude
	case "fail":
		policy = PolicyFail
	default:
		v.Check(false, "dataUpdateErrorPolicy", "Enum", "must be Omit, Include or Fail")
	}
	return cves, name, policy, v.Err()
}

// resolve maps cves to the catalog's patches under policy: the mapping (CVE → patch ids), the CVEs kept
// (in the order asked) and the union of the patches.
func resolve(ctx context.Context, tx mdm.Stores, cves []string, policy string) (map[string][]string, []string, []string, error) {
	known, err := tx.Patches().CVEPatches(ctx, cves)
	if err != nil {
		return nil, nil, nil, err
	}
	mapping := map[string][]string{}
	var kept, unknown, patches []string
	for _, c := range cves {
		ids, ok := known[c]
		switch {
		case ok:
			mapping[c] = ids
			patches = append(patches, ids...)
		case policy == PolicyInclude:
			mapping[c] = []string{}
		default:
			unknown = append(unknown, c)
			continue
		}
		kept = append(kept, c)
	}
	if policy == PolicyFail && len(unknown) > 0 {
		shown := unknown
		if len(shown) > 20 {
			shown = append(slices.Clone(shown[:20]), "…")
		}
		return nil, nil, nil, mdm.FieldErrors(mdm.FieldError{Code: "Unknown", Field: "cveIds",
			Message: "the catalog does not know " + strings.Join(shown, ", ") + " (dataUpdateErrorPolicy is Fail): nothing was changed"})
	}
	return mapping, kept, slices.Compact(slices.Sorted(slices.Values(patches))), nil
}

// CreateFromCVEs makes a new patch group holding every patch that fixes one of the CVEs (PatchAdmin).
// onBehalfOf is the X-On-Behalf-Of header, recorded as the editor.
func (s *Service) CreateFromCVEs(ctx context.Context, onBehalfOf string, in CVERequest) (*Mapping, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.PatchAdmin)
	if err != nil {
		return nil, err
	}
	editor, err := checkOnBehalfOf(onBehalfOf)
	if err != nil {
		return nil, err
	}
	cves, name, policy, err := checkRequest(in)
	if err != nil {
		return nil, err
	}
	id := newGUID()
	if name == "" {
		name = "CVE patch group " + id[:8]
	}
	now := s.now()
	var out *Mapping
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		mapping, kept, patches, err := resolve(ctx, tx, cves, policy)
		if err != nil {
			return err
		}
		g := mdm.PatchGroup{ID: id, TenantID: tenantID, Name: name, Version: 1, CreatedAt: now, ModifiedAt: now,
			PatchIDs: patches, CVEIDs: kept}
		if err := tx.Patches().CreateGroup(ctx, &g); err != nil {
			return err
		}
		rows := []mdm.PatchGroupAudit{{Action: mdm.PatchGroupCreated}}
		added, err := patchRows(ctx, tx, mdm.PatchGroupPatchAdded, patches)
		if err != nil {
			return err
		}
		if err := s.groupAudit(ctx, tx, &g, editor, append(rows, added...)); err != nil {
			return err
		}
		out = &Mapping{Group: g, CVEsToPatches: mapping}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "patch.group.create",
			TargetType: "patch_group", TargetID: g.ID, Details: map[string]any{"name": g.Name, "onBehalfOf": editor,
				"cveIds": kept, "patchIds": g.PatchIDs, "version": g.Version}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateFromCVEs replaces a group's patches with those fixing the CVEs, and its name when one is given
// (PatchEdit). The version grows by one.
func (s *Service) UpdateFromCVEs(ctx context.Context, id, onBehalfOf string, in CVERequest) (*Mapping, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.PatchEdit)
	if err != nil {
		return nil, err
	}
	id, err = groupID(id)
	if err != nil {
		return nil, err
	}
	editor, err := checkOnBehalfOf(onBehalfOf)
	if err != nil {
		return nil, err
	}
	cves, name, policy, err := checkRequest(in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out *Mapping
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		old, err := tx.Patches().Group(ctx, tenantID, id)
		if err != nil {
			return err
		}
		mapping, kept, patches, err := resolve(ctx, tx, cves, policy)
		if err != nil {
			return err
		}
		g := *old
		g.Version, g.ModifiedAt, g.PatchIDs, g.CVEIDs = old.Version+1, now, patches, kept
		if name != "" {
			g.Name = name
		}
		if err := tx.Patches().UpdateGroup(ctx, &g, old.Version); err != nil {
			return err
		}
		added, err := patchRows(ctx, tx, mdm.PatchGroupPatchAdded, others(patches, old.PatchIDs))
		if err != nil {
			return err
		}
		removed, err := patchRows(ctx, tx, mdm.PatchGroupPatchRemoved, others(old.PatchIDs, patches))
		if err != nil {
			return err
		}
		rows := append(added, removed...)
		if g.Name != old.Name {
			rows = append(rows, mdm.PatchGroupAudit{Action: mdm.PatchGroupRenamed})
		}
		if len(rows) == 0 {
			rows = append(rows, mdm.PatchGroupAudit{Action: mdm.PatchGroupUpdated})
		}
		if err := s.groupAudit(ctx, tx, &g, editor, rows); err != nil {
			return err
		}
		out = &Mapping{Group: g, CVEsToPatches: mapping}
		details := map[string]any{"name": g.Name, "onBehalfOf": editor, "cveIds": kept, "patchIds": g.PatchIDs,
			"version": g.Version}
		if g.Name != old.Name {
			details["previousName"] = old.Name
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "patch.group.update",
			TargetType: "patch_group", TargetID: g.ID, Details: details})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GroupCVEs returns, for each CVE a group was last made from, the group's patches that fix it (PatchRead).
func (s *Service) GroupCVEs(ctx context.Context, id string) (map[string][]string, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.PatchRead)
	if err != nil {
		return nil, err
	}
	if id, err = groupID(id); err != nil {
		return nil, err
	}
	g, err := s.store.Patches().Group(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	known, err := s.store.Patches().CVEPatches(ctx, g.CVEIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(g.CVEIDs))
	for _, c := range g.CVEIDs {
		ids := []string{}
		for _, p := range known[c] {
			if slices.Contains(g.PatchIDs, p) {
				ids = append(ids, p)
			}
		}
		out[c] = ids
	}
	return out, nil
}

// ListGroups pages through the tenant's patch groups (PatchRead).
func (s *Service) ListGroups(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.PatchGroup], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.PatchRead)
	if err != nil {
		return mdm.Page[mdm.PatchGroup]{}, err
	}
	return s.store.Patches().ListGroups(ctx, tenantID, opts)
}

// ListGroupAudit pages through the tenant's patch group history (PatchRead).
func (s *Service) ListGroupAudit(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.PatchGroupAudit], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.PatchRead)
	if err != nil {
		return mdm.Page[mdm.PatchGroupAudit]{}, err
	}
	return s.store.Patches().ListGroupAudit(ctx, tenantID, opts)
}

// groupID checks a path's patch group id: anything but a GUID is bad input.
func groupID(s string) (string, error) {
	id, ok := NormalizeGUID(s)
	if !ok {
		return "", mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "patchGroupId",
			Message: "must be a GUID (8-4-4-4-12 hexadecimal digits)"})
	}
	return id, nil
}

// patchRows makes one audit row of action per patch, with the patch's name.
func patchRows(ctx context.Context, tx mdm.Stores, action string, ids []string) ([]mdm.PatchGroupAudit, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	patches, err := tx.Patches().Patches(ctx, ids)
	if err != nil {
		return nil, err
	}
	rows := make([]mdm.PatchGroupAudit, 0, len(patches))
	for _, p := range patches {
		rows = append(rows, mdm.PatchGroupAudit{Action: action, PatchID: p.ID, PatchName: p.Name})
	}
	return rows, nil
}

// groupAudit fills the group, editor and time of rows and appends them.
func (s *Service) groupAudit(ctx context.Context, tx mdm.Stores, g *mdm.PatchGroup, editor string, rows []mdm.PatchGroupAudit) error {
	for i := range rows {
		rows[i].TenantID, rows[i].At, rows[i].EditedBy = g.TenantID, g.ModifiedAt, editor
		rows[i].GroupID, rows[i].GroupName, rows[i].GroupVersion = g.ID, g.Name, g.Version
	}
	return tx.Patches().AppendGroupAudit(ctx, rows)
}

// others returns those of a that are not in b.
func others(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// truncate shortens s to at most n bytes, on a character boundary, for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
