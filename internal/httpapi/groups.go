package httpapi

import (
	"context"
	"net/http"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

type groupJSON struct {
	ID          mdm.GroupID  `json:"id"`
	TenantID    mdm.TenantID `json:"tenantId"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Kind        string       `json:"kind"`
	Rule        string       `json:"rule"`
	Roles       []string     `json:"roles"`
	CreatedAt   int64        `json:"createdAt"`
	ModifiedAt  int64        `json:"modifiedAt"`
}

func groupOut(g mdm.UserGroup) groupJSON {
	return groupJSON{ID: g.ID, TenantID: g.TenantID, Name: g.Name, Description: g.Description, Kind: string(g.Kind),
		Rule: g.Rule, Roles: append([]string{}, g.Roles...), CreatedAt: millis(g.CreatedAt), ModifiedAt: millis(g.ModifiedAt)}
}

type membersInput struct {
	AccountIDs []int64 `json:"accountIds"`
}

func (a *API) groupRoutes() {
	a.add(Route{Method: "POST", Path: "/api/v1/usergroups", Tag: "User groups", Needs: authz.UserManage,
		Summary: "Create a user group",
		Description: "kind STATIC (members added by hand) or DYNAMIC (members are the users matching rule, an fq filter " +
			"over account fields: " + fieldList(mdm.AccountFields) + "). Members inherit the group's roles; only roles the " +
			"caller could grant are accepted.",
		Body: accounts.GroupInput{}, Result: groupJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in accounts.GroupInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			g, err := a.accounts.CreateGroup(r.Context(), in)
			if err != nil {
				return err
			}
			return ok(w, groupOut(*g))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/usergroups", Tag: "User groups", Needs: authz.UserRead,
		Summary:     "List user groups",
		Description: "The All Users group always exists. Filter fields: " + fieldList(mdm.GroupFields) + ".",
		Query:       listParams, Result: groupJSON{}, List: true},
		listHandler(mdm.GroupFields, nil, a.accounts.ListGroups, groupOut))

	a.add(Route{Method: "GET", Path: "/api/v1/usergroups/{id}", Tag: "User groups", Needs: authz.UserRead,
		Summary: "Get a user group", Result: groupJSON{}},
		getHandler("group", a.accounts.GetGroup, groupOut))

	a.add(Route{Method: "PUT", Path: "/api/v1/usergroups/{id}", Tag: "User groups", Needs: authz.UserManage,
		Summary:     "Change a user group's name, description, rule or roles",
		Description: "The kind cannot change, and All Users keeps its name.",
		Body:        accounts.GroupInput{}, Result: groupJSON{}},
		updateHandler("group", a.accounts.UpdateGroup, groupOut))

	a.add(Route{Method: "DELETE", Path: "/api/v1/usergroups/{id}", Tag: "User groups", Needs: authz.UserManage,
		Summary: "Delete a user group", Description: "Its members lose the group's roles. All Users cannot be deleted."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.GroupID](r, "group")
			if err != nil {
				return err
			}
			if err := a.accounts.DeleteGroup(r.Context(), id); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/usergroups/{id}/members", Tag: "User groups", Needs: authz.UserRead,
		Summary: "List a group's members",
		Description: "A static group's added members, the accounts a dynamic group's rule matches now, or every account " +
			"for All Users. Paged, sorted and filtered like the account list (fields: " + fieldList(mdm.AccountFields) + ").",
		Query: listParams, Result: accountJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.GroupID](r, "group")
			if err != nil {
				return err
			}
			return listHandler(mdm.AccountFields, nil, func(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Account], error) {
				return a.accounts.ListGroupMembers(ctx, id, opts)
			}, accountOut)(w, r)
		})

	members := func(add bool) func(w http.ResponseWriter, r *http.Request) error {
		return func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.GroupID](r, "group")
			if err != nil {
				return err
			}
			var in membersInput
			if r.Method == http.MethodPut {
				if err := decode(w, r, &in); err != nil {
					return err
				}
			} else if in.AccountIDs, err = int64s(r, "accountIds"); err != nil {
				return err
			}
			ids := make([]mdm.AccountID, 0, len(in.AccountIDs))
			for _, n := range in.AccountIDs {
				ids = append(ids, mdm.AccountID(n))
			}
			if err := a.accounts.ChangeMembers(r.Context(), id, ids, add); err != nil {
				return err
			}
			return ok(w, 1)
		}
	}
	a.add(Route{Method: "PUT", Path: "/api/v1/usergroups/{id}/members", Tag: "User groups", Needs: authz.UserManage,
		Summary:     "Add members to a static group",
		Description: "Body: accountIds. All are added, or none if any is unknown; existing members stay.",
		Body:        membersInput{}},
		members(true))
	a.add(Route{Method: "DELETE", Path: "/api/v1/usergroups/{id}/members", Tag: "User groups", Needs: authz.UserManage,
		Summary: "Remove members from a static group",
		Query:   []Param{{"accountIds", "integer", "account id (repeatable)"}}},
		members(false))
}
