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
	APIUser       bool          `json:"apiUser"`
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
		LastName: a.LastName, DisplayName: display, AccountSource: "LOCAL", Roles: append([]string{}, a.Roles...), Enabled: a.Enabled,
		HasPassword: a.PasswordHash != "", APIUser: a.APIUser, CreatedAt: millis(a.CreatedAt), CreatedBy: a.CreatedBy, ModifiedAt: millis(a.ModifiedAt)}
}

type createAccountsInput struct {
	Accounts []accounts.NewAccount `json:"accounts"`
}

// adminInviteRule is who gets the Admin Invitation on top of the device registration invitation.
const adminInviteRule = "An account holding any role (an administrator, directly or through a group; not an API user) also gets the Admin " +
	"Invitation, naming the inviting administrator and the roles: without a password its link is a one-time link " +
	"(valid 72 hours, replacing any earlier one) to choose one at /activate; with a password it is the console sign-in page."

func (a *API) accountRoutes() {
	a.add(Route{Method: "POST", Path: "/api/v1/accounts", Tag: "Accounts", Needs: authz.UserManage,
		Summary: "Create one or more accounts",
		Description: "Body: accounts[N].emailAddress, uid (defaults to the email address), firstName, lastName, password, " +
			"roles, accountSource (LOCAL), apiUser (calls the API with HTTP Basic, never signs in to the console; needs a " +
			"password). Without a password the account is a half account (registers devices with a PIN " +
			"only); with one, firstName and lastName are required. Roles may only be granted by a caller who holds every " +
			"permission they include. All accounts are created, or none. " + emailRules +
			" With sendInvite=true each account gets its invitation email: " + adminInviteRule + " Otherwise a half account, or " +
			"any account added with others, the PIN invitation with its first-visit registration PIN; a single full account " +
			"the password invitation.",
		Query: []Param{{"sendInvite", "boolean", "email each new account its invitation"}},
		Body:  createAccountsInput{}, Result: accountJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			invite, err := boolParam(r, "sendInvite")
			if err != nil {
				return err
			}
			var in createAccountsInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			created, err := a.accounts.CreateAccounts(r.Context(), in.Accounts, invite)
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
		getHandler("account", a.accounts.GetAccount, accountOut))

	a.add(Route{Method: "PUT", Path: "/api/v1/account/{id}", Tag: "Accounts", Needs: authz.UserManage,
		Summary: "Change an account's names, roles, enabled flag or API-user flag",
		Description: "Nobody can change their own roles, disable themselves or change their own API-user flag. An API user " +
			"(apiUser=true) calls the API with HTTP Basic but can never sign in to the console; it needs a password.",
		Body: accounts.AccountUpdate{}, Result: accountJSON{}},
		updateHandler("account", a.accounts.UpdateAccount, accountOut))

	a.add(Route{Method: "PUT", Path: "/api/v1/account/invite", Tag: "Accounts", Needs: authz.UserManage,
		Summary: "Invite, or invite again, existing accounts",
		Description: "ids=… (repeat, or comma-separated). " + adminInviteRule + " Otherwise a half account, or any account invited with others, gets the PIN " +
			"invitation with a fresh first-visit PIN (replacing its last PIN); a single full account the password invitation. " +
			"All are invited, or none if any is unknown.",
		Query: []Param{{"ids", "integer", "account id (repeatable)"}}},
		func(w http.ResponseWriter, r *http.Request) error {
			ids, err := idsParam(r)
			if err != nil {
				return err
			}
			if err := a.accounts.InviteAccounts(r.Context(), ids); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "DELETE", Path: "/api/v1/account", Tag: "Accounts", Needs: authz.UserManage,
		Summary:     "Delete accounts",
		Description: "ids=… (repeat, or comma-separated). All are deleted, or none if any is unknown. Deletion frees the usernames.",
		Query:       []Param{{"ids", "integer", "account id (repeatable)"}}},
		func(w http.ResponseWriter, r *http.Request) error {
			ids, err := idsParam(r)
			if err != nil {
				return err
			}
			if err := a.accounts.DeleteAccounts(r.Context(), ids); err != nil {
				return err
			}
			return ok(w, 1)
		})
}

// idsParam reads account ids from ids=….
func idsParam(r *http.Request) ([]mdm.AccountID, error) {
	ns, err := int64s(r, "ids")
	ids := make([]mdm.AccountID, 0, len(ns))
	for _, n := range ns {
		ids = append(ids, mdm.AccountID(n))
	}
	return ids, err
}

// int64s reads positive ids from name=… (repeated or comma-separated), in the query or a form body.
func int64s(r *http.Request, name string) ([]int64, error) {
	if err := r.ParseForm(); err != nil {
		return nil, mdm.Wrap(mdm.Invalid, err, "malformed form body")
	}
	var out []int64
	var v mdm.Validator
	for _, s := range r.Form[name] {
		for _, part := range splitList(s) {
			n, err := strconv.ParseInt(part, 10, 64)
			v.Check(err == nil && n > 0, name, "Type", "must be ids (whole numbers)")
			out = append(out, n)
		}
	}
	return out, v.Err()
}
