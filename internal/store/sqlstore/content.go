package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"steward/internal/mdm"
)

// contentStore implements mdm.ContentStore.
type contentStore stores

var _ mdm.ContentStore = contentStore{}

func (s stores) Contents() mdm.ContentStore { return contentStore(s) }

const contentCols = `id, tenant_id, name, description, file_name, content_type, mime_type, size, sha256, blob_key, version,
	created_by, created_at, modified_at`

var contentColumns = map[string]string{"id": "id", "name": "name", "contentType": "content_type", "fileName": "file_name",
	"size": "size", "version": "version", "createdAt": "created_at", "modifiedAt": "modified_at"}

func scanContent(row interface{ Scan(...any) error }) (mdm.Content, error) {
	var c mdm.Content
	var created, modified int64
	err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Description, &c.FileName, &c.Type, &c.MIMEType, &c.Size, &c.SHA256,
		&c.BlobKey, &c.Version, &c.CreatedBy, &created, &modified)
	c.CreatedAt, c.ModifiedAt = fromMS(created), fromMS(modified)
	return c, err
}

func (s contentStore) Create(ctx context.Context, c *mdm.Content) error {
	if c.TenantID == "" || c.TenantID == mdm.AllTenants {
		return mdm.Errorf(mdm.Invalid, "content tenant is required")
	}
	if c.BlobKey == "" {
		return mdm.Errorf(mdm.Invalid, "content needs its file's blob key")
	}
	if err := validText("content", c.Name, c.Description, c.FileName, c.CreatedBy); err != nil {
		return err
	}
	if c.Version == 0 {
		c.Version = 1
	}
	err := s.q.QueryRowContext(ctx, `INSERT INTO content (tenant_id, name, description, file_name, content_type, mime_type,
			size, sha256, blob_key, version, created_by, created_at, modified_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		c.TenantID, c.Name, c.Description, c.FileName, c.Type, c.MIMEType, c.Size, c.SHA256, c.BlobKey, c.Version,
		c.CreatedBy, ms(c.CreatedAt), ms(c.ModifiedAt)).Scan(&c.ID)
	if isForeignKeyViolation(err) {
		return mdm.Wrap(mdm.NotFound, err, "tenant not found")
	}
	return dbError(err)
}

func (s contentStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.ContentID) (*mdm.Content, error) {
	c, err := scanContent(s.q.QueryRowContext(ctx, `SELECT `+contentCols+` FROM content WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return nil, notFound(err, "content")
	}
	return &c, nil
}

func (s contentStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.Content], error) {
	l := &listQuery{columns: contentColumns, search: []string{"name", "description", "file_name"}}
	if err := scope(l, tenantID); err != nil {
		return mdm.Page[mdm.Content]{}, err
	}
	return page(ctx, s.q, l, opts, contentCols, "content", "id", func(r *sql.Rows) (mdm.Content, error) { return scanContent(r) })
}

func (s contentStore) GetMany(ctx context.Context, tenantID mdm.TenantID, ids []mdm.ContentID) ([]mdm.Content, error) {
	out := []mdm.Content{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := jsonList(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+contentCols+` FROM content WHERE tenant_id = $1 AND `+
		stores(s).inInts("id", "$2")+` ORDER BY id`, tenantID, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanContent(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, c)
	}
	return out, dbError(rows.Err())
}

func (s contentStore) Update(ctx context.Context, tenantID mdm.TenantID, id mdm.ContentID, p mdm.ContentPatch, now time.Time) (*mdm.Content, error) {
	u := &update{}
	u.set("modified_at", ms(now))
	if p.Name != nil {
		if err := validText("content name", *p.Name); err != nil {
			return nil, err
		}
		u.set("name", *p.Name)
	}
	if p.Description != nil {
		if err := validText("content description", *p.Description); err != nil {
			return nil, err
		}
		u.set("description", *p.Description)
	}
	if f := p.File; f != nil {
		if f.BlobKey == "" {
			return nil, mdm.Errorf(mdm.Invalid, "content needs its file's blob key")
		}
		if err := validText("content file name", f.FileName); err != nil {
			return nil, err
		}
		u.set("file_name", f.FileName)
		u.set("content_type", f.Type)
		u.set("mime_type", f.MIMEType)
		u.set("size", f.Size)
		u.set("sha256", f.SHA256)
		u.set("blob_key", f.BlobKey)
		u.sets = append(u.sets, "version=version+1")
	}
	res, err := s.q.ExecContext(ctx, `UPDATE content SET `+u.sql()+` WHERE tenant_id=`+u.arg(tenantID)+` AND id=`+u.arg(id), u.args...)
	if err != nil {
		return nil, dbError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, dbError(err)
	} else if n == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "content not found")
	}
	return s.Get(ctx, tenantID, id)
}

func (s contentStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.ContentID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM content WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return dbError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err)
	} else if n == 0 {
		return mdm.Errorf(mdm.NotFound, "content not found")
	}
	return nil
}
