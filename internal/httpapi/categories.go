package httpapi

import (
	"context"
	"net/http"

	"steward/internal/assign"
	"steward/internal/authz"
	"steward/internal/mdm"
)

type categoryJSON struct {
	ID          mdm.CategoryID `json:"id"`
	TenantID    mdm.TenantID   `json:"tenantId"`
	Kind        string         `json:"kind"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	CreatedAt   int64          `json:"createdAt"`
	ModifiedAt  int64          `json:"modifiedAt"`
}

func categoryOut(c mdm.Category) categoryJSON {
	return categoryJSON{ID: c.ID, TenantID: c.TenantID, Kind: string(c.Kind), Name: c.Name, Description: c.Description,
		CreatedAt: millis(c.CreatedAt), ModifiedAt: millis(c.ModifiedAt)}
}

// categoriesOut renders an item's categories as the API does (for the app and content routes).
func categoriesOut(cs []mdm.Category) []categoryJSON {
	out := make([]categoryJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, categoryOut(c))
	}
	return out
}

const categoriesTag = "Categories"

func (a *API) categoryRoutes() {
	a.add(Route{Method: "POST", Path: "/api/v1/categories", Tag: categoriesTag, Needs: authz.AppManage,
		Summary: "Create an app or content category",
		Description: "kind APP or CONTENT: the two are separate sets. Names are unique per kind, ignoring case " +
			"(MINE is Mine).",
		Body: assign.CategoryInput{}, Result: categoryJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in assign.CategoryInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			if in.Kind == nil { // the list's ?kind= works for creation too
				if k := r.URL.Query().Get("kind"); k != "" {
					in.Kind = &k
				}
			}
			c, err := a.assign.CreateCategory(r.Context(), in)
			if err != nil {
				return err
			}
			return ok(w, categoryOut(*c))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/categories", Tag: categoriesTag, Needs: authz.AppRead,
		Summary:     "List the app or content categories",
		Description: "kind (required): APP or CONTENT. Filter fields: " + fieldList(mdm.CategoryFields) + ".",
		Query:       append([]Param{{"kind", "string", "APP or CONTENT"}}, listParams...), Result: categoryJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			kind, ok := assign.CategoryKind(r.URL.Query().Get("kind"))
			if !ok {
				return mdm.FieldErrors(mdm.FieldError{Code: "Enum", Field: "kind", Message: "must be APP or CONTENT"})
			}
			return listHandler(mdm.CategoryFields, []mdm.SortField{{Field: "name"}},
				func(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Category], error) {
					return a.assign.ListCategories(ctx, kind, opts)
				}, categoryOut)(w, r)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/categories/{id}", Tag: categoriesTag, Needs: authz.AppRead,
		Summary: "Get a category", Result: categoryJSON{}},
		getHandler("category", a.assign.GetCategory, categoryOut))

	a.add(Route{Method: "PUT", Path: "/api/v1/categories/{id}", Tag: categoriesTag, Needs: authz.AppManage,
		Summary: "Rename a category or change its description", Description: "The kind cannot change.",
		Body: assign.CategoryInput{}, Result: categoryJSON{}},
		updateHandler("category", a.assign.UpdateCategory, categoryOut))

	a.add(Route{Method: "DELETE", Path: "/api/v1/categories/{id}", Tag: categoriesTag, Needs: authz.AppManage,
		Summary: "Delete a category", Description: "Items that carried it keep their other categories."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.CategoryID](r, "category")
			if err != nil {
				return err
			}
			if err := a.assign.DeleteCategory(r.Context(), id); err != nil {
				return err
			}
			return ok(w, 1)
		})
}
