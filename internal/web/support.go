package web

import (
	"net/http"
	"strconv"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// maxSupportChoices caps the accounts the support administrators form offers; the search box finds
// the others.
const maxSupportChoices = 200

type supportView struct {
	// Designated are the saved support administrators, disabled ones included (they receive nothing).
	Designated []mdm.Account
	// Recipients are who a support request reaches now: Designated's enabled ones, or the Tenant Admins.
	Recipients []mdm.Account
	Manage     bool
	Form       form
	Choices    []supportChoice
	Query      string
	More       bool // the choices were capped: search to find the others
	Max        int
}

type supportChoice struct {
	Account    mdm.Account
	Checked    bool
	Designated bool
}

// supportView loads the page; checked, when not nil, are the ids of a refused form to show again.
func (c *console) supportView(r *http.Request, q string, f form, checked map[mdm.AccountID]bool) (*supportView, error) {
	ctx := r.Context()
	ids, err := c.Accounts.SupportAdmins(ctx)
	if err != nil {
		return nil, err
	}
	v := &supportView{Manage: can(mdm.PrincipalFrom(ctx), string(authz.SystemManage)), Form: f, Query: q, Max: maxSupportChoices}
	for _, id := range ids {
		a, err := c.Accounts.GetAccount(ctx, id)
		if err != nil {
			return nil, err
		}
		v.Designated = append(v.Designated, *a)
	}
	if v.Recipients, err = c.Accounts.SupportRecipients(ctx); err != nil {
		return nil, err
	}
	if !v.Manage {
		return v, nil
	}
	if checked == nil {
		checked = map[mdm.AccountID]bool{}
		for _, id := range ids {
			checked[id] = true
		}
	}
	// The saved ones always head the list, whatever the search, so that saving never drops them unseen.
	shown := map[mdm.AccountID]bool{}
	for _, a := range v.Designated {
		v.Choices = append(v.Choices, supportChoice{Account: a, Checked: checked[a.ID], Designated: true})
		shown[a.ID] = true
	}
	v.More, err = c.supportCandidates(r, q, func(a mdm.Account) bool {
		if shown[a.ID] || !a.Enabled || a.Email == "" {
			return true
		}
		if len(v.Choices) >= maxSupportChoices+len(v.Designated) {
			return false
		}
		v.Choices = append(v.Choices, supportChoice{Account: a, Checked: checked[a.ID]})
		return true
	})
	return v, err
}

// supportCandidates feeds the tenant's accounts matching q, API users left out (they never read the
// console), to keep until it returns false; it reports whether it stopped before the end.
func (c *console) supportCandidates(r *http.Request, q string, keep func(mdm.Account) bool) (bool, error) {
	const rows = 200
	humans := mdm.Compare{Field: "apiUser", Op: mdm.Eq, Value: false}
	for start := 0; start < 10*rows; start += rows {
		pg, err := c.Accounts.ListAccounts(r.Context(), mdm.ListOptions{Start: start, Rows: rows, Query: q, Filter: humans,
			Sort: []mdm.SortField{{Field: "emailAddress"}}})
		if err != nil {
			return false, err
		}
		for _, a := range pg.Items {
			if !keep(a) {
				return true, nil
			}
		}
		if start+rows >= pg.TotalCount {
			return false, nil
		}
	}
	return true, nil
}

func (c *console) renderSupport(w http.ResponseWriter, r *http.Request, status int, v *supportView, fl *flash) error {
	return render(w, r, status, "support", page{Title: "Support administrators", Nav: "support", Flash: fl, Data: v})
}

// supportPage shows who receives the users' support requests and, for managers, the form to choose.
func (c *console) supportPage(w http.ResponseWriter, r *http.Request) error {
	_, q := listRequest(r.URL.Query())
	v, err := c.supportView(r, q, newForm(), nil)
	if err != nil {
		return err
	}
	return c.renderSupport(w, r, http.StatusOK, v, doneFlash(r.URL.Query()))
}

// saveSupport replaces the support administrators with the checked accounts (none: the Tenant Admins).
func (c *console) saveSupport(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.SystemManage); err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	q := r.PostForm.Get("q")
	f := newForm()
	checked := map[mdm.AccountID]bool{}
	ids := make([]mdm.AccountID, 0, len(r.PostForm["ids"]))
	for _, raw := range r.PostForm["ids"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			f.Errors["accountIds"] = "Every choice must be an account of this tenant."
			continue
		}
		ids = append(ids, mdm.AccountID(id))
		checked[mdm.AccountID(id)] = true
	}
	status := http.StatusBadRequest
	if f.Errors["accountIds"] == "" {
		_, err := c.Accounts.SetSupportAdmins(r.Context(), ids)
		if err == nil {
			http.Redirect(w, r, "/console/support?done=support", http.StatusSeeOther)
			return nil
		}
		var ok bool
		if status, ok = f.setError(err, "accountIds"); !ok {
			return err
		}
	}
	v, err := c.supportView(r, q, f, checked)
	if err != nil {
		return err
	}
	return c.renderSupport(w, r, status, v, nil)
}
