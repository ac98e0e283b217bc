package mdm

import (
	"context"
	"time"
)

// ContentID identifies a content item within its tenant.
type ContentID int64

// ContentType is the kind of document a content item holds, named as Ivanti names it.
type ContentType string

const (
	ContentDOC  ContentType = "DOC"
	ContentPDF  ContentType = "PDF"
	ContentPPT  ContentType = "PPT"
	ContentRTF  ContentType = "RTF"
	ContentTXT  ContentType = "TXT"
	ContentXLS  ContentType = "XLS"
	ContentGIF  ContentType = "GIF"
	ContentJPEG ContentType = "JPEG"
	ContentPNG  ContentType = "PNG"
)

// ContentTypes lists the document types content may hold, in the order they are documented.
var ContentTypes = []ContentType{ContentDOC, ContentPDF, ContentPPT, ContentRTF, ContentTXT, ContentXLS,
	ContentGIF, ContentJPEG, ContentPNG}

// Content is a business document (a presentation, a spreadsheet, an image…) that a tenant
// distributes to its users' devices. The file itself lives in the blob store under BlobKey; the row
// holds what describes it. Replacing the file stores a new blob and increments Version.
type Content struct {
	ID          ContentID
	TenantID    TenantID
	Name        string
	Description string
	FileName    string      // the uploaded file's base name, as downloads offer it
	Type        ContentType // checked by extension and content signature at upload
	MIMEType    string
	Size        int64
	SHA256      string // hex digest of the file
	BlobKey     string
	Version     int // 1 at upload, one more at each file replacement
	CreatedBy   string
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// ContentFile describes a stored file: what replacing a content item's file changes.
type ContentFile struct {
	FileName string
	Type     ContentType
	MIMEType string
	Size     int64
	SHA256   string
	BlobKey  string
}

// ContentPatch changes some of a content item's fields; nil fields stay as they are. A non-nil File
// replaces the file and increments Version.
type ContentPatch struct {
	Name        *string
	Description *string
	File        *ContentFile
}

// ContentFields are the content fields that lists filter and sort on.
var ContentFields = FieldSet{"id": IntField, "name": StringField, "contentType": StringField, "fileName": StringField,
	"size": IntField, "version": IntField, "createdAt": TimeField, "modifiedAt": TimeField}

// ContentStore keeps the tenant's content items (not their files: the blob store does).
//
// Create fills ID and returns not_found for an unknown tenant. Get, Update and Delete return
// not_found for an item unknown in the tenant. List pages through the tenant's items (q searches the
// name, description and file name). GetMany returns the items of ids that exist in the tenant, by id
// ascending (unknown ids are skipped). Delete removes only the row: callers remove the item's
// distributions and categories (assign.DeleteItem) in the same transaction, and its blob after the
// transaction commits.
type ContentStore interface {
	Create(ctx context.Context, c *Content) error
	Get(ctx context.Context, tenantID TenantID, id ContentID) (*Content, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[Content], error)
	GetMany(ctx context.Context, tenantID TenantID, ids []ContentID) ([]Content, error)
	Update(ctx context.Context, tenantID TenantID, id ContentID, patch ContentPatch, now time.Time) (*Content, error)
	Delete(ctx context.Context, tenantID TenantID, id ContentID) error
}
