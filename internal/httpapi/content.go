package httpapi

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"steward/internal/authz"
	"steward/internal/content"
	"steward/internal/form"
	"steward/internal/mdm"
)

// ContentPath is the tenant's content (business documents).
const ContentPath = "/api/v1/content"

// contentTypesText lists the accepted documents, for the route descriptions.
var contentTypesText = fmt.Sprintf("Accepted documents: DOC, PDF, PPT, RTF, TXT, XLS, GIF, JPEG and PNG (%s), checked by "+
	"extension and by content (PDF starts with %%PDF-, GIF with GIF87a or GIF89a, PNG and JPEG with their signatures, RTF "+
	"with {\\rtf, DOC, XLS and PPT with the OLE2 compound file signature; TXT is UTF-8 text without NUL bytes), at most "+
	"%d bytes (%d MiB). Anything else is refused with a 400 naming the file field and what was expected (413 for a file "+
	"over the limit), and nothing is stored.", strings.Join(content.Extensions(), ", "), content.MaxFileBytes, content.MaxFileBytes>>20)

// contentJSON is a content item as the API shows it.
type contentJSON struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	FileName    string         `json:"fileName"`
	ContentType string         `json:"contentType"`
	MIMEType    string         `json:"mimeType"`
	Size        int64          `json:"size"`
	SHA256      string         `json:"sha256"`
	Version     int            `json:"version"`
	Categories  []categoryJSON `json:"categories"`
	Targets     []targetJSON   `json:"targets"`
	CreatedBy   string         `json:"createdBy"`
	CreatedAt   int64          `json:"createdAt"`
	ModifiedAt  int64          `json:"modifiedAt"`
}

func contentOut(it content.Item) contentJSON {
	c := it.Content
	out := contentJSON{ID: int64(c.ID), Name: c.Name, Description: c.Description, FileName: c.FileName,
		ContentType: string(c.Type), MIMEType: c.MIMEType, Size: c.Size, SHA256: c.SHA256, Version: c.Version,
		Categories: categoriesOut(it.Categories), Targets: distributionOut(it.Distributions).Targets, CreatedBy: c.CreatedBy,
		CreatedAt: millis(c.CreatedAt), ModifiedAt: millis(c.ModifiedAt)}
	return out
}

// catalogEntryJSON is one item of a device's content catalog.
type catalogEntryJSON struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	FileName    string         `json:"fileName"`
	ContentType string         `json:"contentType"`
	MIMEType    string         `json:"mimeType"`
	Size        int64          `json:"size"`
	SHA256      string         `json:"sha256"`
	Version     int            `json:"version"`
	Categories  []categoryJSON `json:"categories"`
	ModifiedAt  int64          `json:"modifiedAt"`
	Required    bool           `json:"required"`    // download without asking the user
	DownloadURL string         `json:"downloadUrl"` // relative to the server
}

// deviceCatalogJSON is a device's content catalog with the tenant's content categories to browse by.
type deviceCatalogJSON struct {
	Categories []categoryJSON     `json:"categories"`
	Content    []catalogEntryJSON `json:"content"`
}

// contentInput is the metadata of an upload or change. Form bodies (and the upload's multipart
// fields) use indexed names: categories[0]=3, targets[0].type=USER_GROUP, targets[0].id=7.
type contentInput struct {
	Name        *string       `json:"name"`
	Description *string       `json:"description"`
	Categories  *[]int64      `json:"categories"`
	Targets     *[]targetJSON `json:"targets"`
}

// contentUploadInput documents the multipart upload: the metadata fields and the file part.
type contentUploadInput struct {
	contentInput
	File filePart `json:"file"` // the document
}

// filePart is a multipart body's file, in the OpenAPI document a binary string.
type filePart string

func (in contentInput) service() content.Input {
	out := content.Input{Name: in.Name, Description: in.Description}
	if in.Categories != nil {
		ids := make([]mdm.CategoryID, 0, len(*in.Categories))
		for _, id := range *in.Categories {
			ids = append(ids, mdm.CategoryID(id))
		}
		out.Categories = &ids
	}
	if in.Targets != nil {
		ds := make([]mdm.Distribution, 0, len(*in.Targets))
		for _, t := range *in.Targets {
			ds = append(ds, mdm.Distribution{Target: mdm.TargetKind(strings.ToUpper(strings.TrimSpace(t.Type))), TargetID: t.ID,
				Required: t.Required})
		}
		out.Targets = &ds
	}
	return out
}

// maxUploadOverhead is what a multipart upload may carry besides its file: the metadata fields and
// the part headers.
const maxUploadOverhead = 1 << 20

// UploadedFile reads a multipart upload's file part (field "file") and metadata fields, at most
// content.MaxFileBytes plus 1 MiB in all. The caller closes the file. For the console too.
func UploadedFile(w http.ResponseWriter, r *http.Request) (*content.File, func(), map[string][]string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return nil, nil, nil, mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "file",
			Message: "is required: send the document as the file part of a multipart/form-data body"})
	}
	r.Body = http.MaxBytesReader(w, r.Body, content.MaxFileBytes+maxUploadOverhead)
	if err := r.ParseMultipartForm(maxUploadOverhead); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, nil, tooLargeError()
		}
		return nil, nil, nil, mdm.Wrap(mdm.Invalid, err, "the multipart body is unreadable")
	}
	values := r.MultipartForm.Value
	fhs := r.MultipartForm.File["file"]
	if len(fhs) == 0 {
		return nil, func() {}, values, nil
	}
	if fhs[0].Size > content.MaxFileBytes {
		return nil, nil, nil, tooLargeError()
	}
	f, err := fhs[0].Open()
	if err != nil {
		return nil, nil, nil, mdm.Wrap(mdm.Internal, err, "the uploaded file cannot be read")
	}
	return &content.File{Name: fhs[0].Filename, Body: f}, func() { f.Close() }, values, nil
}

// tooLargeError is the refusal of an upload over the limit, as the service words it.
func tooLargeError() error { return content.TooLarge() }

// writeContentError answers 413 for a file over the limit, and as any error otherwise.
func writeContentError(w http.ResponseWriter, r *http.Request, err error) error {
	if content.IsTooLarge(err) {
		writeError(w, http.StatusRequestEntityTooLarge, err)
		return nil
	}
	return err
}

func (a *API) contentRoutes() {
	a.add(Route{Method: "GET", Path: ContentPath, Tag: "Content", Needs: authz.AppRead,
		Summary: "List content",
		Description: "Pages through the tenant's documents with their categories and targets. fq fields: " +
			fieldList(mdm.ContentFields) + "; q searches name, description and file name; category keeps the items " +
			"in one content category.",
		Query:  append(listParams[:len(listParams):len(listParams)], Param{"category", "integer", "a content category id"}),
		Result: contentJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			cat, err := categoryParam(r)
			if err != nil {
				return err
			}
			return listHandler(mdm.ContentFields, []mdm.SortField{{Field: "name"}},
				func(ctx context.Context, opts mdm.ListOptions) (mdm.Page[content.Item], error) {
					return a.content.List(ctx, opts, cat)
				},
				contentOut)(w, r)
		})

	a.add(Route{Method: "POST", Path: ContentPath, Tag: "Content", Needs: authz.AppManage, Multipart: true, Status: 201,
		Summary: "Upload a document (201)",
		Description: "multipart/form-data: file (the document; its name's extension says its type), name (default: the " +
			"file name without its extension), description, categories[i] (content category ids) and targets[i].type " +
			"(ALL_USERS, USER_GROUP or DEVICE_GROUP) with targets[i].id (the group's id). " + contentTypesText,
		Body: contentUploadInput{}, Result: contentJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			file, done, values, err := UploadedFile(w, r)
			if err != nil {
				return writeContentError(w, r, err)
			}
			defer done()
			var in contentInput
			if err := form.Values(values, &in); err != nil {
				return err
			}
			if file == nil {
				file = &content.File{}
			}
			it, err := a.content.Upload(r.Context(), in.service(), *file)
			if err != nil {
				return writeContentError(w, r, err)
			}
			return writeJSON(w, http.StatusCreated, contentOut(*it))
		})

	a.add(Route{Method: "GET", Path: ContentPath + "/{id}", Tag: "Content", Needs: authz.AppRead,
		Summary: "One document's details", Result: contentJSON{}},
		getHandler("content", a.content.Get, contentOut))

	a.add(Route{Method: "PUT", Path: ContentPath + "/{id}", Tag: "Content", Needs: authz.AppManage,
		Summary: "Change a document's name, description, categories or distribution",
		Description: "JSON or form; fields left out stay as they are. categories replaces the content categories; " +
			"targets replaces the distribution (an empty list distributes it to nobody).",
		Body: contentInput{}, Result: contentJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ContentID](r, "content")
			if err != nil {
				return err
			}
			var in contentInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			it, err := a.content.Update(r.Context(), id, in.service(), nil)
			if err != nil {
				return err
			}
			return ok(w, contentOut(*it))
		})

	a.add(Route{Method: "PUT", Path: ContentPath + "/{id}/file", Tag: "Content", Needs: authz.AppManage, Multipart: true,
		Summary: "Replace a document's file (a new version)",
		Description: "multipart/form-data: file, and optionally name and description. The version goes up by one; " +
			"devices see the new version in their catalog. " + contentTypesText,
		Body: contentUploadInput{}, Result: contentJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ContentID](r, "content")
			if err != nil {
				return err
			}
			file, done, values, err := UploadedFile(w, r)
			if err != nil {
				return writeContentError(w, r, err)
			}
			defer done()
			var in contentInput
			if err := form.Values(values, &in); err != nil {
				return err
			}
			if file == nil {
				file = &content.File{}
			}
			it, err := a.content.Update(r.Context(), id, in.service(), file)
			if err != nil {
				return writeContentError(w, r, err)
			}
			return ok(w, contentOut(*it))
		})

	a.distributionRoutes(itemDistribution{Base: ContentPath, Tag: "Content", What: "content", Kind: mdm.ItemContent,
		Read: authz.AppRead, Manage: authz.AppManage,
		Get: func(ctx context.Context, id int64) ([]mdm.Distribution, error) {
			it, err := a.content.Get(ctx, mdm.ContentID(id))
			if err != nil {
				return nil, err
			}
			return it.Distributions, nil
		},
		Set: func(ctx context.Context, id int64, ds []mdm.Distribution) ([]mdm.Distribution, error) {
			it, err := a.content.Update(ctx, mdm.ContentID(id), content.Input{Targets: &ds}, nil)
			if err != nil {
				return nil, err
			}
			return it.Distributions, nil
		}})

	a.add(Route{Method: "DELETE", Path: ContentPath + "/{id}", Tag: "Content", Needs: authz.AppManage,
		Summary:     "Delete a document",
		Description: "Removes it with its distribution and categories; it leaves every catalog. The result is 1."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ContentID](r, "content")
			if err != nil {
				return err
			}
			if err := a.content.Delete(r.Context(), id); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "GET", Path: ContentPath + "/{id}/download", Tag: "Content", Needs: authz.AppRead, File: true,
		Summary: "Download a document", Description: "The file as an attachment; Range requests are supported."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ContentID](r, "content")
			if err != nil {
				return err
			}
			d, err := a.content.Open(r.Context(), id)
			if err != nil {
				return err
			}
			ServeDownload(w, r, d)
			return nil
		})

	if a.agent == nil {
		return
	}
	a.add(Route{Method: "GET", Path: "/api/agent/v1/content", Tag: "Android agent", DeviceAuth: true,
		Summary: "The device's content catalog",
		Description: agentAuth + "The documents distributed to the device (to all users, its owner's user groups, or a " +
			"device group it is in), by name, each with its categories, version, download URL and required (a target requires " +
			"it: download it without asking); and the tenant's content categories to browse by. A new version or sha256 " +
			"means the device's copy is out of date; a document no longer listed should be removed from the device.",
		Query:  []Param{{"category", "integer", "only the documents in this content category"}},
		Result: deviceCatalogJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			d, err := a.agent.Device(w, r)
			if err != nil {
				return err
			}
			cat, err := categoryParam(r)
			if err != nil {
				return err
			}
			entries, err := a.content.DeviceCatalog(r.Context(), d, cat)
			if err != nil {
				return err
			}
			cats, err := a.content.Categories(r.Context(), d.TenantID)
			if err != nil {
				return err
			}
			out := deviceCatalogJSON{Categories: categoriesOut(cats), Content: []catalogEntryJSON{}}
			for _, e := range entries {
				c := e.Content
				out.Content = append(out.Content, catalogEntryJSON{ID: int64(c.ID), Name: c.Name, Description: c.Description,
					FileName: c.FileName, ContentType: string(c.Type), MIMEType: c.MIMEType, Size: c.Size, SHA256: c.SHA256,
					Version: c.Version, Categories: categoriesOut(e.Categories), ModifiedAt: millis(c.ModifiedAt), Required: e.Required,
					DownloadURL: "/api/agent/v1/content/" + strconv.FormatInt(int64(c.ID), 10)})
			}
			return ok(w, out)
		})

	a.add(Route{Method: "GET", Path: "/api/agent/v1/content/{id}", Tag: "Android agent", DeviceAuth: true, File: true,
		Summary: "Download a document distributed to the device",
		Description: agentAuth + "The file as an attachment (Range requests are supported, ETag is the file's digest). A " +
			"document not distributed to this device, or another tenant's, is 404."},
		func(w http.ResponseWriter, r *http.Request) error {
			d, err := a.agent.Device(w, r)
			if err != nil {
				return err
			}
			id, err := pathID[mdm.ContentID](r, "content")
			if err != nil {
				return err
			}
			dl, err := a.content.DeviceOpen(r.Context(), d, id)
			if err != nil {
				return err
			}
			ServeDownload(w, r, dl)
			return nil
		})
}

// categoryParam reads the optional category query parameter.
func categoryParam(r *http.Request) (mdm.CategoryID, error) {
	s := r.URL.Query().Get("category")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "category", Message: "must be a category id"})
	}
	return mdm.CategoryID(n), nil
}

// ServeDownload sends a content file as an attachment and closes it: its MIME type, a safe file
// name, nosniff, a sandboxing CSP, its digest as ETag; http.ServeContent answers Range and
// conditional requests.
func ServeDownload(w http.ResponseWriter, r *http.Request, d *content.Download) {
	defer d.File.Close()
	h := w.Header()
	h.Set("Content-Type", d.Content.MIMEType)
	h.Set("Content-Disposition", Attachment(d.Content.FileName))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox")
	h.Set("Cache-Control", "private, no-cache")
	if d.Content.SHA256 != "" {
		h.Set("ETag", `"`+d.Content.SHA256+`"`)
	}
	http.ServeContent(w, r, "", d.Content.ModifiedAt, d.File)
}

// Attachment is a Content-Disposition value offering name: an ASCII fallback without quotes, slashes
// or control characters, and the full UTF-8 name as filename*.
func Attachment(name string) string {
	ascii := strings.Map(func(r rune) rune {
		switch {
		case r > unicode.MaxASCII, r < 0x20, r == 0x7f:
			return '_'
		case strings.ContainsRune(`"\/;:*?<>|%`, r):
			return '_'
		}
		return r
	}, name)
	ascii = strings.TrimLeft(ascii, ".")
	if ascii == "" {
		ascii = "download"
	}
	v := mime.FormatMediaType("attachment", map[string]string{"filename": ascii})
	if ascii != name && name != "" {
		if full := mime.FormatMediaType("attachment", map[string]string{"filename": name}); full != "" {
			// FormatMediaType writes a non-ASCII name as filename*=utf-8''…
			if _, star, ok := strings.Cut(full, "; "); ok && strings.HasPrefix(star, "filename*=") {
				v += "; " + star
			}
		}
	}
	return v
}
