package web

import (
	"net/http"
	"strconv"

	"steward/internal/mdm"
)

// memberList is one page of a group's members as the group page lists them.
type memberList struct {
	Group  *mdm.UserGroup
	Items  []mdm.Account
	Pager  pager
	Remove bool // a static group and a caller who may change it: each row has a Remove button
}

// memberList pages through the members of g: a static group's added users, the users a dynamic
// group's rule matches now, or every user for All Users.
func (c *console) memberList(r *http.Request, g *mdm.UserGroup, manage bool) (memberList, error) {
	start, q := listRequest(r.URL.Query())
	pg, err := c.Accounts.ListGroupMembers(r.Context(), g.ID, mdm.ListOptions{Start: start, Rows: pageRows, Query: q,
		Sort: []mdm.SortField{{Field: "emailAddress"}}})
	if err != nil {
		return memberList{}, err
	}
	return memberList{Group: g, Items: pg.Items, Remove: manage && g.Kind == mdm.StaticGroup,
		Pager: pager{Path: "/console/groups/" + strconv.FormatInt(int64(g.ID), 10), Query: q, Start: start, Rows: pageRows,
			Total: pg.TotalCount, Shown: len(pg.Items), HXTarget: "member-list"}}, nil
}
