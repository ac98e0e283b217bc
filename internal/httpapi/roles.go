package httpapi

import (
	"net/http"

	"steward/internal/authz"
	"steward/internal/mdm"
)

type roleJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Includes    []string `json:"includes"`
	Permissions []string `json:"permissions"`
}

func (a *API) roleRoutes() {
	a.add(Route{Method: "GET", Path: "/api/v1/roles", Tag: "Roles", Needs: authz.UserRead, SystemAdminToo: true,
		Summary:     "List the roles and the permissions each grants",
		Description: "permissions include those of the included roles. Every other route names the permission it needs.",
		Result:      roleJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			if _, err := authz.Scope(mdm.PrincipalFrom(r.Context()), authz.UserRead); err != nil {
				return err
			}
			out := []roleJSON{}
			for _, role := range authz.Roles() {
				j := roleJSON{ID: role.ID, Name: role.Name, Kind: role.Kind, Description: role.Description,
					Includes: append([]string{}, role.Includes...), Permissions: []string{}}
				for _, p := range authz.Permissions(role.ID) {
					j.Permissions = append(j.Permissions, string(p))
				}
				out = append(out, j)
			}
			return ok(w, searchResult{SearchResults: out, TotalCount: len(out), Limit: len(out)})
		})
}
