package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"steward/internal/authz"
	"steward/internal/content"
	"steward/internal/httpapi"
	"steward/internal/mdm"
)

// The Content pages: the tenant's documents with their type, size, categories and distribution;
// upload, edit, distribute, replace the file, download and delete (with confirmation).

func init() {
	doneMessages["cuploaded"] = "The document was uploaded."
	doneMessages["cupdated"] = "The document was saved."
	doneMessages["cdistributed"] = "The distribution was saved."
	doneMessages["creplaced"] = "The file was replaced: devices get the new version."
	doneMessages["cremoved"] = "The document was deleted."
}

// contentFields are the content forms' inputs, named as the service names its field errors.
var contentFields = []string{"file", "name", "description", "categories", "targets"}

func (c *console) contentRoutes() {
	if c.Content == nil {
		return
	}
	c.signedIn("GET /console/content", c.contentPage)
	c.signedIn("POST /console/content", c.uploadContent)
	c.signedIn("GET /console/content/{id}", c.contentItemPage)
	c.signedIn("POST /console/content/{id}", c.updateContent)
	c.signedIn("POST /console/content/{id}/distribution", c.distributeContent)
	c.signedIn("POST /console/content/{id}/file", c.replaceContentFile)
	c.signedIn("GET /console/content/{id}/download", c.downloadContent)
	c.signedIn("GET /console/content/{id}/delete", c.deleteContentPage)
	c.signedIn("POST /console/content/{id}/delete", c.deleteContent)
}

// contentOption is a checkbox of a category or target picker.
type contentOption struct {
	Value   string
	Label   string
	Kind    string
	Checked bool
}

type contentListView struct {
	Items      []content.Item
	Total      int
	Category   mdm.CategoryID
	Categories []mdm.Category
	Manage     bool
	Upload     form
	CatOptions []contentOption
	Targets    []contentOption
	Accept     string
	MaxMiB     int
	Names      map[string]string // target key → name, for the list's Distribution column
}

// TargetNames renders an item's distribution for the list.
func (v contentListView) TargetNames(ds []mdm.Distribution) string {
	return targetNames(v.Names, ds)
}

func targetKey(kind mdm.TargetKind, id int64) string {
	return string(kind) + ":" + strconv.FormatInt(id, 10)
}

func targetNames(names map[string]string, ds []mdm.Distribution) string {
	if len(ds) == 0 {
		return "Nobody"
	}
	var out []string
	for _, d := range ds {
		n, ok := names[targetKey(d.Target, d.TargetID)]
		if !ok {
			n = fmt.Sprintf("%s %d", strings.ToLower(strings.ReplaceAll(string(d.Target), "_", " ")), d.TargetID)
		}
		out = append(out, n)
	}
	return strings.Join(out, ", ")
}

// targetOptions lists the distribution checkboxes (only for managers: the options need App Manage),
// checking those in ds or, after a refused form, those submitted.
func (c *console) targetOptions(r *http.Request, checked []string) ([]contentOption, map[string]string, error) {
	names := map[string]string{targetKey(mdm.TargetAllUsers, 0): "All users"}
	if !can(mdm.PrincipalFrom(r.Context()), string(authz.AppManage)) {
		return nil, names, nil
	}
	opts, err := c.Content.TargetOptions(r.Context())
	if err != nil {
		return nil, nil, err
	}
	var out []contentOption
	for _, o := range opts {
		key := targetKey(o.Kind, o.ID)
		names[key] = o.Name
		kind := map[mdm.TargetKind]string{mdm.TargetAllUsers: "Users", mdm.TargetUserGroup: "User group",
			mdm.TargetDeviceGroup: "Device group"}[o.Kind]
		out = append(out, contentOption{Value: key, Label: o.Name, Kind: kind, Checked: slices.Contains(checked, key)})
	}
	return out, names, nil
}

func (c *console) categoryOptions(r *http.Request, checked []string) ([]mdm.Category, []contentOption, error) {
	p := mdm.PrincipalFrom(r.Context())
	cats, err := c.Content.Categories(r.Context(), p.TenantID)
	if err != nil {
		return nil, nil, err
	}
	var out []contentOption
	for _, cat := range cats {
		v := strconv.FormatInt(int64(cat.ID), 10)
		out = append(out, contentOption{Value: v, Label: cat.Name, Checked: slices.Contains(checked, v)})
	}
	return cats, out, nil
}

func acceptList() string { return strings.Join(content.Extensions(), ",") }

func (c *console) renderContentList(w http.ResponseWriter, r *http.Request, status int, upload *form, checked map[string][]string) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.AppRead); err != nil {
		return err
	}
	v := contentListView{Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.AppManage)), Upload: newForm(),
		Accept: acceptList(), MaxMiB: content.MaxFileBytes >> 20}
	if upload != nil {
		v.Upload = *upload
	}
	if s := r.URL.Query().Get("category"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err == nil && id > 0 {
			v.Category = mdm.CategoryID(id)
		}
	}
	var err error
	if v.Categories, v.CatOptions, err = c.categoryOptions(r, checked["category"]); err != nil {
		return err
	}
	if v.Targets, v.Names, err = c.targetOptions(r, checked["target"]); err != nil {
		return err
	}
	p, err := c.Content.List(r.Context(), mdm.ListOptions{Rows: 500, Sort: []mdm.SortField{{Field: "name"}},
		Query: strings.TrimSpace(r.URL.Query().Get("q"))}, v.Category)
	if err != nil && !mdm.IsCode(err, mdm.Invalid) {
		return err
	}
	v.Items, v.Total = p.Items, p.TotalCount
	return render(w, r, status, "content", page{Title: "Content", Nav: "content", Flash: doneFlash(r.URL.Query()), Data: v})
}

// contentPage lists the documents (optionally of one category) with, for managers, the upload form.
func (c *console) contentPage(w http.ResponseWriter, r *http.Request) error {
	return c.renderContentList(w, r, http.StatusOK, nil, nil)
}

// contentInput reads the metadata, category and target inputs of a content form.
func contentInput(values map[string][]string, f *form, withTargets bool) (content.Input, error) {
	get := func(name string) string {
		if vs := values[name]; len(vs) > 0 {
			return strings.TrimSpace(vs[0])
		}
		return ""
	}
	var in content.Input
	f.Values["name"], f.Values["description"] = get("name"), get("description")
	if f.Values["name"] != "" {
		in.Name = ptr(f.Values["name"])
	}
	in.Description = ptr(f.Values["description"])
	cats := []mdm.CategoryID{}
	for _, s := range values["category"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return in, mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "categories", Message: "is not a category"})
		}
		cats = append(cats, mdm.CategoryID(id))
	}
	in.Categories = &cats
	if withTargets {
		ds := []mdm.Distribution{}
		for _, s := range values["target"] {
			kind, idText, _ := strings.Cut(s, ":")
			id, err := strconv.ParseInt(idText, 10, 64)
			if err != nil {
				return in, mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "targets", Message: "is not a target"})
			}
			ds = append(ds, mdm.Distribution{Target: mdm.TargetKind(kind), TargetID: id})
		}
		in.Targets = &ds
	}
	return in, nil
}

// contentFormError places a service error on the form; a file over the limit answers 413.
func contentFormError(f *form, err error) (int, bool) {
	var e *mdm.Error
	if errors.As(err, &e) {
		for i, fe := range e.Fields {
			if strings.HasPrefix(fe.Field, "targets[") {
				e.Fields[i].Field = "targets"
			}
		}
	}
	status, ok := f.setError(err, contentFields...)
	if ok && content.IsTooLarge(err) {
		status = http.StatusRequestEntityTooLarge
	}
	return status, ok
}

// uploadContent stores an uploaded document (multipart: file, name, description, category, target).
func (c *console) uploadContent(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.AppManage); err != nil {
		return err
	}
	f := newForm()
	file, done, values, err := httpapi.UploadedFile(w, r)
	if err == nil {
		defer done()
		var in content.Input
		if in, err = contentInput(values, &f, true); err == nil {
			if file == nil {
				file = &content.File{}
			}
			var it *content.Item
			if it, err = c.Content.Upload(r.Context(), in, *file); err == nil {
				http.Redirect(w, r, contentPath(it.ID)+"?done=cuploaded", http.StatusSeeOther)
				return nil
			}
		}
	}
	status, ok := contentFormError(&f, err)
	if !ok {
		return err
	}
	return c.renderContentList(w, r, status, &f, values)
}

func contentID(r *http.Request) (mdm.ContentID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.ContentID(id), err
}

func contentPath(id mdm.ContentID) string {
	return "/console/content/" + strconv.FormatInt(int64(id), 10)
}

type contentItemView struct {
	Item       *content.Item
	Manage     bool
	Edit       form
	Distribute form
	Replace    form
	CatOptions []contentOption
	Targets    []contentOption
	Names      map[string]string
	Accept     string
	MaxMiB     int
}

// TargetNames renders the item's distribution.
func (v contentItemView) TargetNames() string { return targetNames(v.Names, v.Item.Distributions) }

// which form of the item page a refused submission re-renders.
const (
	editForm = iota + 1
	distributeForm
	replaceForm
)

func (c *console) renderContentItem(w http.ResponseWriter, r *http.Request, status int, id mdm.ContentID, which int, f *form, values map[string][]string) error {
	it, err := c.Content.Get(r.Context(), id)
	if err != nil {
		return err
	}
	v := contentItemView{Item: it, Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.AppManage)), Edit: newForm(),
		Distribute: newForm(), Replace: newForm(), Accept: acceptList(), MaxMiB: content.MaxFileBytes >> 20}
	cats := []string{}
	for _, cat := range it.Categories {
		cats = append(cats, strconv.FormatInt(int64(cat.ID), 10))
	}
	targets := []string{}
	for _, d := range it.Distributions {
		targets = append(targets, targetKey(d.Target, d.TargetID))
	}
	v.Edit.Values["name"], v.Edit.Values["description"] = it.Name, it.Description
	switch which {
	case editForm:
		v.Edit, cats = *f, values["category"]
	case distributeForm:
		v.Distribute, targets = *f, values["target"]
	case replaceForm:
		v.Replace = *f
	}
	if _, v.CatOptions, err = c.categoryOptions(r, cats); err != nil {
		return err
	}
	if v.Targets, v.Names, err = c.targetOptions(r, targets); err != nil {
		return err
	}
	return render(w, r, status, "content_item", page{Title: it.Name, Nav: "content", Flash: doneFlash(r.URL.Query()), Data: v})
}

// contentItemPage shows one document: details, download, and for managers the edit, distribution,
// replacement and delete actions.
func (c *console) contentItemPage(w http.ResponseWriter, r *http.Request) error {
	id, err := contentID(r)
	if err != nil {
		return err
	}
	return c.renderContentItem(w, r, http.StatusOK, id, 0, nil, nil)
}

// updateContent saves the edit form (name, description, categories).
func (c *console) updateContent(w http.ResponseWriter, r *http.Request) error {
	id, err := contentID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	in, err := contentInput(r.PostForm, &f, false)
	if err == nil {
		if in.Name == nil {
			in.Name = ptr("") // a cleared name is refused, not ignored
		}
		if _, err = c.Content.Update(r.Context(), id, in, nil); err == nil {
			http.Redirect(w, r, contentPath(id)+"?done=cupdated", http.StatusSeeOther)
			return nil
		}
	}
	status, ok := contentFormError(&f, err)
	if !ok {
		return err
	}
	return c.renderContentItem(w, r, status, id, editForm, &f, r.PostForm)
}

// distributeContent saves the distribution form: the checked targets replace the old ones.
func (c *console) distributeContent(w http.ResponseWriter, r *http.Request) error {
	id, err := contentID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	in, err := contentInput(r.PostForm, &f, true)
	if err == nil {
		if _, err = c.Content.Update(r.Context(), id, content.Input{Targets: in.Targets}, nil); err == nil {
			http.Redirect(w, r, contentPath(id)+"?done=cdistributed", http.StatusSeeOther)
			return nil
		}
	}
	status, ok := contentFormError(&f, err)
	if !ok {
		return err
	}
	return c.renderContentItem(w, r, status, id, distributeForm, &f, r.PostForm)
}

// replaceContentFile stores a new file for the document (a new version).
func (c *console) replaceContentFile(w http.ResponseWriter, r *http.Request) error {
	id, err := contentID(r)
	if err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.AppManage); err != nil {
		return err
	}
	f := newForm()
	file, done, _, err := httpapi.UploadedFile(w, r)
	if err == nil {
		defer done()
		if file == nil {
			file = &content.File{}
		}
		if _, err = c.Content.Update(r.Context(), id, content.Input{}, file); err == nil {
			http.Redirect(w, r, contentPath(id)+"?done=creplaced", http.StatusSeeOther)
			return nil
		}
	}
	status, ok := contentFormError(&f, err)
	if !ok {
		return err
	}
	return c.renderContentItem(w, r, status, id, replaceForm, &f, nil)
}

// downloadContent sends the document as an attachment (App Read).
func (c *console) downloadContent(w http.ResponseWriter, r *http.Request) error {
	id, err := contentID(r)
	if err != nil {
		return err
	}
	d, err := c.Content.Open(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.ServeDownload(w, r, d)
	return nil
}

// deleteContentPage asks for confirmation before deleting a document.
func (c *console) deleteContentPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.AppManage); err != nil {
		return err
	}
	id, err := contentID(r)
	if err != nil {
		return err
	}
	it, err := c.Content.Get(r.Context(), id)
	if err != nil {
		return err
	}
	path := contentPath(id)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + it.Name, Nav: "content", Data: confirmView{
		Heading: "Delete the document " + it.Name + "?",
		Text:    "It is removed from the system and from every content catalog; devices can no longer download it.",
		Action:  path + "/delete", Button: "Delete document", Back: path}})
}

// deleteContent removes a document after confirmation.
func (c *console) deleteContent(w http.ResponseWriter, r *http.Request) error {
	id, err := contentID(r)
	if err != nil {
		return err
	}
	if err := c.Content.Delete(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/content?done=cremoved", http.StatusSeeOther)
	return nil
}
