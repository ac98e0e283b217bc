package web

import (
	"net/http"

	"steward/internal/authz"
	"steward/internal/mdm"
)

type roleRow struct {
	authz.Role
	Permissions []authz.Permission
}

// rolesPage shows the role hierarchy: read only, since roles are fixed by the product.
func (c *console) rolesPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserRead); err != nil {
		return err
	}
	var rows []roleRow
	for _, role := range authz.Roles() {
		rows = append(rows, roleRow{Role: role, Permissions: authz.Permissions(role.ID)})
	}
	return render(w, r, http.StatusOK, "roles", page{Title: "Roles", Nav: "roles", Data: rows})
}
