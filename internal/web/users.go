package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// userFields are the Add user form's inputs, named as the service names them after "accounts[0].".
var userFields = []string{"emailAddress", "firstName", "lastName", "password", "roles", "apiUser"}

type usersView struct {
	List   userList
	Add    userForm
	Bulk   bulkForm
	Manage bool
}

type userList struct {
	Items  []mdm.Account
	Pager  pager
	Manage bool
}

type userForm struct {
	Form          form
	Roles         rolePicker
	Invite        bool
	MailDelivered bool
}

type bulkForm struct {
	Form  form
	Lines []string // one message per refused line
	Roles rolePicker
}

// doneMessages are the confirmations a redirect after a change may ask for (?done=…&n=…); fixed
// texts, so that a link cannot put words in the console's mouth.
var doneMessages = map[string]string{
	"created":        "The user was added.",
	"invited":        "The invitation was queued.",
	"invitedn":       "%d invitations were queued.",
	"bulk":           "%d users were added, each with a PIN invitation.",
	"updated":        "The changes were saved.",
	"deleted":        "The user was deleted.",
	"gcreated":       "The group was created.",
	"gdeleted":       "The group was deleted.",
	"members":        "The members were changed.",
	"saved":          "The registration setting was saved.",
	"ocreated":       "The group's registration setting was added, at the lowest priority.",
	"osaved":         "The group's registration setting was saved.",
	"odeleted":       "The group's registration setting was deleted.",
	"moved":          "The priority was changed.",
	"support":        "The support administrators were saved.",
	"dgcreated":      "The device group was created.",
	"dgdeleted":      "The device group was deleted.",
	"cfgcreated":     "The configuration was created. Distribute it to deliver it to devices.",
	"cfgsaved":       "The configuration was saved. Devices that have it receive the new version.",
	"cfgmoved":       "The priority was changed.",
	"cfgdistributed": "The distribution was saved. Devices receive or remove the configuration on their own.",
	"cfgdeleted":     "The configuration was deleted. Devices that had it remove it.",
	"ccreated":       "The category was added.",
	"cdeleted":       "The category was deleted.",
	"pcreated":       "The policy was added. It applies at each device's next check-in and at the next compliance sweep.",
	"pdeleted":       "The policy was deleted.",
}

// doneFlash turns ?done=…&n=… into a success message.
func doneFlash(q url.Values) *flash {
	text, ok := doneMessages[q.Get("done")]
	if !ok {
		return nil
	}
	if strings.Contains(text, "%d") {
		n, _ := strconv.Atoi(q.Get("n"))
		text = strings.Replace(text, "%d", strconv.Itoa(max(0, n)), 1)
	}
	return &flash{Kind: "success", Text: text}
}

func (c *console) userList(r *http.Request, start int, q string) (userList, error) {
	pg, err := c.Accounts.ListAccounts(r.Context(), mdm.ListOptions{Start: start, Rows: pageRows, Query: q,
		Sort: []mdm.SortField{{Field: "emailAddress"}}})
	if err != nil {
		return userList{}, err
	}
	return userList{Items: pg.Items, Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.UserManage)),
		Pager: pager{Path: "/console/users", Query: q, Start: start, Rows: pageRows, Total: pg.TotalCount,
			Shown: len(pg.Items), HXTarget: "user-list"}}, nil
}

func (c *console) usersView(r *http.Request, list userList) usersView {
	p := mdm.PrincipalFrom(r.Context())
	return usersView{List: list, Manage: list.Manage,
		Add:  userForm{Form: newForm(), Roles: newRolePicker(p, "add-roles", "Roles", nil, ""), Invite: true, MailDelivered: c.MailDelivered},
		Bulk: bulkForm{Form: newForm(), Roles: newRolePicker(p, "bulk-roles", "Roles for every user", nil, "")}}
}

// usersPage lists the tenant's users with search, selection for invitations and the add forms. The
// search box swaps only the list (HX-Target user-list).
func (c *console) usersPage(w http.ResponseWriter, r *http.Request) error {
	start, q := listRequest(r.URL.Query())
	list, err := c.userList(r, start, q)
	if err != nil {
		return err
	}
	w.Header().Set("Vary", "HX-Request, HX-Target")
	if hxTarget(r) == "user-list" {
		return fragment(w, http.StatusOK, "users", "user_list", list)
	}
	return render(w, r, http.StatusOK, "users", page{Title: "Users", Nav: "users", Flash: doneFlash(r.URL.Query()),
		Data: c.usersView(r, list)})
}

// rerenderUsers answers a refused form on the users page with the whole page again.
func (c *console) rerenderUsers(w http.ResponseWriter, r *http.Request, status int, fl *flash, edit func(*usersView)) error {
	list, err := c.userList(r, 0, "")
	if err != nil {
		return err
	}
	v := c.usersView(r, list)
	if edit != nil {
		edit(&v)
	}
	return render(w, r, status, "users", page{Title: "Users", Nav: "users", Flash: fl, Data: v})
}

// addUser handles "Add user": one account, half without a password, full with one.
func (c *console) addUser(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	for _, name := range userFields[:3] {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	roles := r.PostForm["roles"]
	invite := r.PostForm.Get("invite") == "on"
	f.Values["apiUser"] = r.PostForm.Get("apiUser")
	in := accounts.NewAccount{EmailAddress: f.Values["emailAddress"], FirstName: f.Values["firstName"],
		LastName: f.Values["lastName"], Password: r.PostForm.Get("password"), Roles: roles, APIUser: f.Values["apiUser"] == "on"}
	created, err := c.Accounts.CreateAccounts(r.Context(), []accounts.NewAccount{in}, invite)
	if err != nil {
		err = renamed(err, func(s string) string { return strings.TrimPrefix(s, "accounts[0].") })
		status, ok := f.setError(err, userFields...)
		if !ok {
			return err
		}
		p := mdm.PrincipalFrom(r.Context())
		return c.rerenderUsers(w, r, status, nil, func(v *usersView) {
			v.Add = userForm{Form: f, Roles: newRolePicker(p, "add-roles", "Roles", roles, f.Error("roles")),
				Invite: invite, MailDelivered: c.MailDelivered}
		})
	}
	done := "created"
	if invite {
		done = "invited"
	}
	http.Redirect(w, r, "/console/users/"+strconv.FormatInt(int64(created[0].ID), 10)+"?done="+done, http.StatusSeeOther)
	return nil
}

// bulkLine is one non-empty line of the "Add multiple users" box and its line number.
type bulkLine struct {
	No    int
	Email string
}

func bulkLines(text string) []bulkLine {
	var out []bulkLine
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			out = append(out, bulkLine{No: i + 1, Email: s})
		}
	}
	return out
}

// addUsers handles "Add multiple users": one half account per line, every one invited with a PIN,
// all or none. Refusals are listed by line.
func (c *console) addUsers(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	text := r.PostForm.Get("emails")
	roles := r.PostForm["roles"]
	lines := bulkLines(text)
	in := make([]accounts.NewAccount, len(lines))
	for i, l := range lines {
		in[i] = accounts.NewAccount{EmailAddress: l.Email, Roles: roles}
	}
	created, err := c.Accounts.CreateAccounts(r.Context(), in, true)
	if err == nil {
		http.Redirect(w, r, "/console/users?done=bulk&n="+strconv.Itoa(len(created)), http.StatusSeeOther)
		return nil
	}
	var e *mdm.Error
	if !errors.As(err, &e) || (e.Code != mdm.Invalid && e.Code != mdm.Conflict) {
		return err
	}
	f := newForm()
	f.Values["emails"] = text
	var msgs []string
	for _, fe := range e.Fields {
		i, rest, indexed := parseIndexed(fe.Field)
		switch {
		case indexed && i < len(lines) && rest == "roles":
			f.Errors["roles"] = sentence(fe.Message) + "."
		case indexed && i < len(lines):
			msg := fe.Message
			if j, _, ok := parseIndexed(strings.TrimPrefix(msg, "repeats ") + ".x"); ok && j < len(lines) && fe.Code == "Duplicate" {
				msg = "repeats line " + strconv.Itoa(lines[j].No)
			}
			msgs = append(msgs, "Line "+strconv.Itoa(lines[i].No)+" ("+lines[i].Email+"): "+msg+".")
		case fe.Field == "accounts":
			f.Errors["emails"] = sentence(fe.Message) + "."
		case f.Global == "":
			f.Global = sentence(fe.Field+": "+fe.Message) + "."
		}
	}
	if len(e.Fields) == 0 {
		f.Global = sentence(e.Message) + "."
	}
	if len(msgs) > 0 && f.Global == "" {
		f.Global = "Nobody was added. Correct these lines and try again."
	}
	status := statusOf(err)
	p := mdm.PrincipalFrom(r.Context())
	return c.rerenderUsers(w, r, status, nil, func(v *usersView) {
		v.Bulk = bulkForm{Form: f, Lines: msgs, Roles: newRolePicker(p, "bulk-roles", "Roles for every user", roles, f.Error("roles"))}
	})
}

// parseIndexed splits a service field name "accounts[N].rest".
func parseIndexed(s string) (int, string, bool) {
	s, ok := strings.CutPrefix(s, "accounts[")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(s, "].")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 {
		return 0, "", false
	}
	return n, rest, true
}

// selectedIDs reads the ids=… checkboxes; a malformed id is an unknown account.
func selectedIDs(vals []string) ([]mdm.AccountID, error) {
	ids := make([]mdm.AccountID, 0, len(vals))
	for _, v := range vals {
		id, err := pathID(v)
		if err != nil {
			return nil, err
		}
		ids = append(ids, mdm.AccountID(id))
	}
	return ids, nil
}

// inviteUsers sends (again) the invitation of the selected users.
func (c *console) inviteUsers(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	ids, err := selectedIDs(r.PostForm["ids"])
	if err != nil {
		return err
	}
	if err := c.Accounts.InviteAccounts(r.Context(), ids); err != nil {
		if mdm.IsCode(err, mdm.Invalid) {
			return c.rerenderUsers(w, r, http.StatusBadRequest, &flash{Kind: "error", Text: "Select at least one user to invite."}, nil)
		}
		return err
	}
	switch {
	case len(ids) == 1 && r.PostForm.Get("from") == "detail":
		http.Redirect(w, r, "/console/users/"+strconv.FormatInt(int64(ids[0]), 10)+"?done=invited", http.StatusSeeOther)
		return nil
	case len(ids) == 1:
		http.Redirect(w, r, "/console/users?done=invited", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/console/users?done=invitedn&n="+strconv.Itoa(len(ids)), http.StatusSeeOther)
	return nil
}
