package httpapi

import (
	"net/http"
	"strconv"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// accountJSON is an account in the Ivanti shape.
type accountJSON struct {
	ID            mdm.AccountID `json:"id"`
	UID           string        `json:"uid"`
	Username      string        `json:"username"`
	EmailAddress  string        `json:"emailAddress"`
	FirstName     string        `json:"firstName"`
	LastName      string        `json:"lastName"`
	DisplayName   string        `json:"displayName"`
	AccountSource string        `json:"accountSource"`
	Roles         []string      `json:"roles"`
	Enabled       bool          `json:"enabled"`
	HasPassword   bool          `json:"hasPassword"`
	CreatedAt     int64         `json:"createdAt"`
	CreatedBy     string        `json:"createdBy"`
	ModifiedAt    int64         `json:"modifiedAt"`
}

func accountOut(a mdm.Account) accountJSON {
	display := a.FirstName
	if a.LastName != "" {
		display = (display + " " + a.LastName)
	}
	if display == "" {
		display = a.Username
	}
	return accountJSON{ID: a.ID, UID: a.Username, Username: a.Username, EmailAddress: a.Email, FirstName: a.FirstName,
		LastName: a.LastName, DisplayName: display, AccountSource: "LOCAL", Roles: a.Roles, Enabled: a.Enabled,
		HasPassword: a.PasswordHash != "", CreatedAt: millis(a.CreatedAt), CreatedBy: a.CreatedBy, ModifiedAt: millis(a.ModifiedAt)}
}

type createAccountsInput struct {
	Accounts []accounts.NewAccount `json:"accounts"`
}

func accountID(r *http.Request) (mdm.AccountID, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, mdm.Errorf(mdm.NotFound, "account not found")
	}
	return mdm.AccountID(id), nil
}

func (a *API) accountRoutes() {
	a.add(Route{Method: "POST", Path: "/api/v1/accounts", Tag: "Accounts", Needs: authz.UserManage,
		Summary: "Create one or more accounts",
		Description: "Body: accounts[N].emailAddress, uid (defaults to the email address), firstName, lastName, password, " +
			"roles, accountSource (LOCAL). Without a password the account is a half account (registers devices with a PIN " +
			"only); with one, firstName and lastName are required. Roles may only be granted by a caller who holds every " +
			"permission they include. All accounts are created, or none. " + emailRules +
			" Invitations (sendInvite) are not available yet and are refused.",
		Query: []Param{{"sendInvite", "boolean", "not available yet: true is refused"}},
		Body:  createAccountsInput{}, Result: accountJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			if s := r.URL.Query().Get("sendInvite"); s != "" && s != "false" {
				return mdm.FieldErrors(mdm.FieldError{Code: "Unsupported", Field: "sendInvite",
					Message: "invitations are not available yet: create the accounts without sendInvite"})
			}
			var in createAccountsInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			created, err := a.accounts.CreateAccounts(r.Context(), in.Accounts)
			if err != nil {
				return err
			}
			out := make([]accountJSON, 0, len(created))
			for _, c := range created {
				out = append(out, accountOut(c))
			}
			return ok(w, searchResult{SearchResults: out, TotalCount: len(out), Limit: len(out)})
		})

	a.add(Route{Method: "GET", Path: "/api/v1/account", Tag: "Accounts", Needs: authz.UserRead,
		Summary:     "List and search accounts",
		Description: "fq examples: UID=ann@example.com, emailAddress=*@example.com. Filter fields: " + fieldList(mdm.AccountFields) + ".",
		Query:       listParams, Result: accountJSON{}, List: true},
		listHandler(mdm.AccountFields, nil, a.accounts.ListAccounts, accountOut))

	a.add(Route{Method: "GET", Path: "/api/v1/account/{id}", Tag: "Accounts", Needs: authz.UserRead,
		Summary: "Get an account", Result: accountJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := accountID(r)
			if err != nil {
				return err
			}
			acc, err := a.accounts.GetAccount(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, accountOut(*acc))
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/account/{id}", Tag: "Accounts", Needs: authz.UserManage,
		Summary:     "Change an account's names, roles or enabled flag",
		Description: "Nobody can change their own roles or disable themselves.",
		Body:        accounts.AccountUpdate{}, Result: accountJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := accountID(r)
			if err != nil {
				return err
			}
			var in accounts.AccountUpdate
			if err := decode(w, r, &in); err != nil {
				return err
			}
			acc, err := a.accounts.UpdateAccount(r.Context(), id, in)
			if err != nil {
				return err
			}
			return ok(w, accountOut(*acc))
		})

	a.add(Route{Method: "DELETE", Path: "/api/v1/account", Tag: "Accounts", Needs: authz.UserManage,
		Summary:     "Delete accounts",
		Description: "ids=… (repeat, or comma-separated). All are deleted, or none if any is unknown. Deletion frees the usernames.",
		Query:       []Param{{"ids", "integer", "account id (repeatable)"}}},
		func(w http.ResponseWriter, r *http.Request) error {
			var ids []mdm.AccountID
			var v mdm.Validator
			for _, s := range r.URL.Query()["ids"] {
				for _, part := range splitList(s) {
					n, err := strconv.ParseInt(part, 10, 64)
					v.Check(err == nil && n > 0, "ids", "Type", "must be account ids (whole numbers)")
					ids = append(ids, mdm.AccountID(n))
				}
			}
			if err := v.Err(); err != nil {
				return err
			}
			if err := a.accounts.DeleteAccounts(r.Context(), ids); err != nil {
				return err
			}
			return ok(w, 1)
		})
}
