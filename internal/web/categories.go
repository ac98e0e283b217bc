package web

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/assign"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// categoryFields are the category forms' inputs, named as the service names its field errors.
var categoryFields = []string{"name", "description", "kind"}

// maxCategoriesShown bounds each list of the categories page (a tenant has a few dozen).
const maxCategoriesShown = 500

// categorySet is one of the two lists of the categories page.
type categorySet struct {
	Kind  mdm.ItemKind
	Title string
	Items []mdm.Category
	Total int
	ID    string // the element id prefix: app or content
}

type categoriesView struct {
	Sets   []categorySet
	New    form
	Manage bool
}

func (c *console) renderCategories(w http.ResponseWriter, r *http.Request, status int, nf *form) error {
	v := categoriesView{Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.AppManage))}
	for _, k := range []struct {
		kind  mdm.ItemKind
		title string
		id    string
	}{{mdm.ItemApp, "App categories", "app"}, {mdm.ItemContent, "Content categories", "content"}} {
		pg, err := c.Assign.ListCategories(r.Context(), k.kind, mdm.ListOptions{Rows: maxCategoriesShown,
			Sort: []mdm.SortField{{Field: "name"}}})
		if err != nil {
			return err
		}
		v.Sets = append(v.Sets, categorySet{Kind: k.kind, Title: k.title, Items: pg.Items, Total: pg.TotalCount, ID: k.id})
	}
	if nf != nil {
		v.New = *nf
	} else {
		v.New = newForm()
		v.New.Values["kind"] = string(mdm.ItemApp)
	}
	return render(w, r, status, "categories", page{Title: "Categories", Nav: "categories", Flash: doneFlash(r.URL.Query()), Data: v})
}

// categoriesPage lists the app categories and the content categories, with the New category form.
func (c *console) categoriesPage(w http.ResponseWriter, r *http.Request) error {
	return c.renderCategories(w, r, http.StatusOK, nil)
}

// createCategory handles the New category form (kind APP or CONTENT).
func (c *console) createCategory(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	for _, name := range categoryFields {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	_, err := c.Assign.CreateCategory(r.Context(), assign.CategoryInput{Name: ptr(f.Values["name"]),
		Description: ptr(f.Values["description"]), Kind: ptr(f.Values["kind"])})
	if err != nil {
		status, ok := f.setError(err, categoryFields...)
		if !ok {
			return err
		}
		return c.renderCategories(w, r, status, &f)
	}
	http.Redirect(w, r, "/console/categories?done=ccreated", http.StatusSeeOther)
	return nil
}

func categoryID(r *http.Request) (mdm.CategoryID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.CategoryID(id), err
}

func categoryPath(id mdm.CategoryID) string {
	return "/console/categories/" + strconv.FormatInt(int64(id), 10)
}

type categoryView struct {
	Category *mdm.Category
	Edit     form
	Manage   bool
}

func (c *console) renderCategory(w http.ResponseWriter, r *http.Request, status int, id mdm.CategoryID, edit *form) error {
	cat, err := c.Assign.GetCategory(r.Context(), id)
	if err != nil {
		return err
	}
	v := categoryView{Category: cat, Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.AppManage))}
	if edit != nil {
		v.Edit = *edit
	} else {
		v.Edit = newForm()
		v.Edit.Values["name"], v.Edit.Values["description"] = cat.Name, cat.Description
	}
	return render(w, r, status, "category", page{Title: cat.Name, Nav: "categories", Flash: doneFlash(r.URL.Query()), Data: v})
}

// categoryPage shows one category with its edit form and delete action.
func (c *console) categoryPage(w http.ResponseWriter, r *http.Request) error {
	id, err := categoryID(r)
	if err != nil {
		return err
	}
	return c.renderCategory(w, r, http.StatusOK, id, nil)
}

// updateCategory saves the edit form.
func (c *console) updateCategory(w http.ResponseWriter, r *http.Request) error {
	id, err := categoryID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	for _, name := range categoryFields[:2] {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	if _, err := c.Assign.UpdateCategory(r.Context(), id, assign.CategoryInput{Name: ptr(f.Values["name"]),
		Description: ptr(f.Values["description"])}); err != nil {
		status, ok := f.setError(err, categoryFields...)
		if !ok {
			return err
		}
		return c.renderCategory(w, r, status, id, &f)
	}
	http.Redirect(w, r, categoryPath(id)+"?done=updated", http.StatusSeeOther)
	return nil
}

// deleteCategoryPage asks for confirmation before deleting a category.
func (c *console) deleteCategoryPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.AppManage); err != nil {
		return err
	}
	id, err := categoryID(r)
	if err != nil {
		return err
	}
	cat, err := c.Assign.GetCategory(r.Context(), id)
	if err != nil {
		return err
	}
	what := "apps"
	if cat.Kind == mdm.ItemContent {
		what = "content items"
	}
	path := categoryPath(id)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + cat.Name, Nav: "categories", Data: confirmView{
		Heading: "Delete the category " + cat.Name + "?",
		Text:    "The " + what + " in it stay, with their other categories.",
		Action:  path + "/delete", Button: "Delete category", Back: path}})
}

// deleteCategory removes a category after confirmation.
func (c *console) deleteCategory(w http.ResponseWriter, r *http.Request) error {
	id, err := categoryID(r)
	if err != nil {
		return err
	}
	if err := c.Assign.DeleteCategory(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/categories?done=cdeleted", http.StatusSeeOther)
	return nil
}
