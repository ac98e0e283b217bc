package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"

	"steward/internal/mdm"
)

// patchStore implements mdm.PatchStore.
type patchStore stores

var _ mdm.PatchStore = patchStore{}

func (s stores) Patches() mdm.PatchStore { return patchStore(s) }

const patchCols = `id, name, operating_system, os_version, published_at, kb_number, description, cve_ids`

var patchColumns = map[string]string{"id": "id", "name": "name", "operatingSystem": "operating_system",
	"osVersion": "os_version", "publishedDate": "published_at", "kbNumber": "kb_number"}

func scanPatch(row interface{ Scan(...any) error }) (mdm.Patch, error) {
	var (
		p         mdm.Patch
		published int64
		cves      string
	)
	if err := row.Scan(&p.ID, &p.Name, &p.OperatingSystem, &p.OSVersion, &published, &p.KBNumber, &p.Description, &cves); err != nil {
		return p, err
	}
	p.PublishedDate = fromMS(published)
	if err := json.Unmarshal([]byte(cves), &p.CVEIDs); err != nil {
		return p, mdm.Wrap(mdm.Internal, err, "patch CVE list is unreadable")
	}
	return p, nil
}

// PutCatalog writes CVEs first, then each patch and its CVE links, in one transaction.
func (s patchStore) PutCatalog(ctx context.Context, cves []mdm.CVE, patches []mdm.Patch) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		for _, c := range cves {
			if err := validText("cve", c.ID, c.Description); err != nil {
				return err
			}
			if _, err := tx.q.ExecContext(ctx, `INSERT INTO cves (id, description) VALUES ($1, $2)
				ON CONFLICT (id) DO UPDATE SET description = excluded.description`, c.ID, c.Description); err != nil {
				return dbError(err)
			}
		}
		for _, p := range patches {
			if err := validText("patch", p.ID, p.Name, p.OperatingSystem, p.OSVersion, p.KBNumber, p.Description); err != nil {
				return err
			}
			ids := slices.Compact(slices.Sorted(slices.Values(p.CVEIDs)))
			list, err := jsonList(nonNil(ids))
			if err != nil {
				return err
			}
			if _, err := tx.q.ExecContext(ctx, `INSERT INTO patches (`+patchCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, operating_system = excluded.operating_system,
					os_version = excluded.os_version, published_at = excluded.published_at, kb_number = excluded.kb_number,
					description = excluded.description, cve_ids = excluded.cve_ids`,
				p.ID, p.Name, p.OperatingSystem, p.OSVersion, ms(p.PublishedDate), p.KBNumber, p.Description, list); err != nil {
				return dbError(err)
			}
			if _, err := tx.q.ExecContext(ctx, `DELETE FROM patch_cves WHERE patch_id = $1`, p.ID); err != nil {
				return dbError(err)
			}
			for _, c := range ids {
				if err := validText("cve", c); err != nil {
					return err
				}
				if _, err := tx.q.ExecContext(ctx, `INSERT INTO cves (id, description) VALUES ($1, '') ON CONFLICT (id) DO NOTHING`, c); err != nil {
					return dbError(err)
				}
				if _, err := tx.q.ExecContext(ctx, `INSERT INTO patch_cves (cve_id, patch_id) VALUES ($1, $2)`, c, p.ID); err != nil {
					return dbError(err)
				}
			}
		}
		return nil
	})
}

func (s patchStore) CountPatches(ctx context.Context) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM patches`).Scan(&n)
	return n, dbError(err)
}

func (s patchStore) ListPatches(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Patch], error) {
	l := &listQuery{columns: patchColumns, search: []string{"name"}}
	return page(ctx, s.q, l, opts, patchCols, "patches", "id", func(r *sql.Rows) (mdm.Patch, error) { return scanPatch(r) })
}

func (s patchStore) Patches(ctx context.Context, ids []string) ([]mdm.Patch, error) {
	list, err := jsonList(nonNil(ids))
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+patchCols+` FROM patches WHERE `+stores(s).inTexts("id", "$1")+` ORDER BY id`, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.Patch{}
	for rows.Next() {
		p, err := scanPatch(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, p)
	}
	return out, dbError(rows.Err())
}

func (s patchStore) ListCVEs(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.CVE], error) {
	l := &listQuery{columns: map[string]string{"id": "id", "description": "description"}, search: []string{"id", "description"}}
	return page(ctx, s.q, l, opts, "id, description", "cves", "id", func(r *sql.Rows) (mdm.CVE, error) {
		var c mdm.CVE
		return c, r.Scan(&c.ID, &c.Description)
	})
}

func (s patchStore) CVEPatches(ctx context.Context, cveIDs []string) (map[string][]string, error) {
	list, err := jsonList(nonNil(cveIDs))
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT c.id, COALESCE(pc.patch_id, '') FROM cves c
		LEFT JOIN patch_cves pc ON pc.cve_id = c.id
		WHERE `+stores(s).inTexts("c.id", "$1")+` ORDER BY c.id, pc.patch_id`, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var cve, patch string
		if err := rows.Scan(&cve, &patch); err != nil {
			return nil, dbError(err)
		}
		if out[cve] == nil {
			out[cve] = []string{}
		}
		if patch != "" {
			out[cve] = append(out[cve], patch)
		}
	}
	return out, dbError(rows.Err())
}

const patchGroupCols = `tenant_id, id, name, version, created_at, modified_at, patch_ids, cve_ids`

var patchGroupColumns = map[string]string{"id": "id", "name": "name", "version": "version",
	"creationDate": "created_at", "lastModifiedDate": "modified_at"}

func scanPatchGroup(row interface{ Scan(...any) error }) (mdm.PatchGroup, error) {
	var (
		g                 mdm.PatchGroup
		created, modified int64
		patches, cves     string
	)
	if err := row.Scan(&g.TenantID, &g.ID, &g.Name, &g.Version, &created, &modified, &patches, &cves); err != nil {
		return g, err
	}
	g.CreatedAt, g.ModifiedAt = fromMS(created), fromMS(modified)
	if err := json.Unmarshal([]byte(patches), &g.PatchIDs); err != nil {
		return g, mdm.Wrap(mdm.Internal, err, "patch group patch list is unreadable")
	}
	if err := json.Unmarshal([]byte(cves), &g.CVEIDs); err != nil {
		return g, mdm.Wrap(mdm.Internal, err, "patch group CVE list is unreadable")
	}
	return g, nil
}

func groupLists(g *mdm.PatchGroup) (patches, cves string, err error) {
	if err := validText("patch group", append([]string{g.ID, g.Name}, append(g.PatchIDs, g.CVEIDs...)...)...); err != nil {
		return "", "", err
	}
	g.PatchIDs = nonNil(slices.Compact(slices.Sorted(slices.Values(g.PatchIDs))))
	g.CVEIDs = nonNil(g.CVEIDs)
	if patches, err = jsonList(g.PatchIDs); err != nil {
		return "", "", err
	}
	cves, err = jsonList(g.CVEIDs)
	return patches, cves, err
}

func (s patchStore) CreateGroup(ctx context.Context, g *mdm.PatchGroup) error {
	if g.TenantID == "" || g.TenantID == mdm.AllTenants || g.ID == "" {
		return mdm.Errorf(mdm.Invalid, "patch group tenant and id are required")
	}
	patches, cves, err := groupLists(g)
	if err != nil {
		return err
	}
	_, err = s.q.ExecContext(ctx, `INSERT INTO patch_groups (tenant_id, id, name, name_key, version, created_at, modified_at,
			patch_ids, cve_ids) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		g.TenantID, g.ID, g.Name, strings.ToLower(g.Name), g.Version, ms(g.CreatedAt), ms(g.ModifiedAt), patches, cves)
	if err != nil {
		if isForeignKeyViolation(err) {
			return mdm.Wrap(mdm.NotFound, err, "tenant not found")
		}
		return conflictOr(err, "a patch group with this name already exists")
	}
	return nil
}

func (s patchStore) Group(ctx context.Context, tenantID mdm.TenantID, id string) (*mdm.PatchGroup, error) {
	g, err := scanPatchGroup(s.q.QueryRowContext(ctx, `SELECT `+patchGroupCols+` FROM patch_groups WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return nil, notFound(err, "patch group")
	}
	return &g, nil
}

func (s patchStore) UpdateGroup(ctx context.Context, g *mdm.PatchGroup, fromVersion int) error {
	patches, cves, err := groupLists(g)
	if err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE patch_groups SET name = $1, name_key = $2, version = $3, modified_at = $4,
			patch_ids = $5, cve_ids = $6 WHERE tenant_id = $7 AND id = $8 AND version = $9`,
		g.Name, strings.ToLower(g.Name), g.Version, ms(g.ModifiedAt), patches, cves, g.TenantID, g.ID, fromVersion)
	if err != nil {
		return conflictOr(err, "a patch group with this name already exists")
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err)
	} else if n == 0 {
		if _, err := s.Group(ctx, g.TenantID, g.ID); err != nil {
			return err
		}
		return mdm.Errorf(mdm.Conflict, "the patch group changed meanwhile: read it again")
	}
	return nil
}

func (s patchStore) ListGroups(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.PatchGroup], error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return mdm.Page[mdm.PatchGroup]{}, mdm.Errorf(mdm.Internal, "patch groups are listed for one tenant")
	}
	l := &listQuery{columns: patchGroupColumns, search: []string{"name"}}
	l.cond("tenant_id=" + l.arg(tenantID))
	return page(ctx, s.q, l, opts, patchGroupCols, "patch_groups", "id", func(r *sql.Rows) (mdm.PatchGroup, error) { return scanPatchGroup(r) })
}

const patchAuditCols = `id, tenant_id, at, edited_by, action, group_id, group_name, group_version, patch_id, patch_name`

var patchAuditColumns = map[string]string{"id": "id", "actionDate": "at", "editedBy": "edited_by", "action": "action",
	"patchGroupId": "group_id", "name": "group_name", "patchName": "patch_name"}

func (s patchStore) AppendGroupAudit(ctx context.Context, rows []mdm.PatchGroupAudit) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		for i := range rows {
			r := &rows[i]
			if r.TenantID == "" || r.TenantID == mdm.AllTenants {
				return mdm.Errorf(mdm.Invalid, "patch group audit tenant is required")
			}
			if err := validText("patch group audit", r.EditedBy, r.Action, r.GroupID, r.GroupName, r.PatchID, r.PatchName); err != nil {
				return err
			}
			err := tx.q.QueryRowContext(ctx, `INSERT INTO patch_group_audit (tenant_id, at, edited_by, action, group_id, group_name,
					group_version, patch_id, patch_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
				r.TenantID, ms(r.At), r.EditedBy, r.Action, r.GroupID, r.GroupName, r.GroupVersion, r.PatchID, r.PatchName).Scan(&r.ID)
			if err != nil {
				if isForeignKeyViolation(err) {
					return mdm.Wrap(mdm.NotFound, err, "tenant not found")
				}
				return dbError(err)
			}
		}
		return nil
	})
}

func (s patchStore) ListGroupAudit(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.PatchGroupAudit], error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return mdm.Page[mdm.PatchGroupAudit]{}, mdm.Errorf(mdm.Internal, "patch group audit is listed for one tenant")
	}
	l := &listQuery{columns: patchAuditColumns, search: []string{"group_name"}}
	l.cond("tenant_id=" + l.arg(tenantID))
	return page(ctx, s.q, l, opts, patchAuditCols, "patch_group_audit", "id", func(r *sql.Rows) (mdm.PatchGroupAudit, error) {
		var (
			a  mdm.PatchGroupAudit
			at int64
		)
		err := r.Scan(&a.ID, &a.TenantID, &at, &a.EditedBy, &a.Action, &a.GroupID, &a.GroupName, &a.GroupVersion, &a.PatchID, &a.PatchName)
		a.At = fromMS(at)
		return a, err
	})
}
