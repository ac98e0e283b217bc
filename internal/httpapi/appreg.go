package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"steward/internal/appreg"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// AppRegistrationsPath is the tenant's App Registrations.
const AppRegistrationsPath = "/api/v1/appregistrations"

// appRegJSON is a registration as the API shows it: never its secret or the secret's hash.
type appRegJSON struct {
	ID                int64    `json:"id"`
	ClientID          string   `json:"clientId"`
	AppType           string   `json:"appType"`
	Application       string   `json:"application"`
	Description       string   `json:"description"`
	Scopes            []string `json:"scopes"`
	LastAuthenticated *int64   `json:"lastAuthenticated"` // null: never
	CreatedBy         string   `json:"createdBy"`
	Created           int64    `json:"created"`
}

func appRegOut(r mdm.AppRegistration) appRegJSON {
	out := appRegJSON{ID: r.ID, ClientID: r.ClientID, AppType: r.AppType, Application: r.AppType,
		Description: r.Description, Scopes: r.Scopes, CreatedBy: r.CreatedBy, Created: millis(r.CreatedAt)}
	if t, ok := authz.LookupAppType(r.AppType); ok {
		out.Application = t.Name
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if !r.LastAuthenticatedAt.IsZero() {
		ms := r.LastAuthenticatedAt.UnixMilli()
		out.LastAuthenticated = &ms
	}
	return out
}

// appRegCreatedJSON is the answer to a creation: the only time the client secret is ever shown.
type appRegCreatedJSON struct {
	appRegJSON
	ClientSecret string `json:"clientSecret"`
	TokenURL     string `json:"tokenUrl"`
}

// appRegInput is the body of POST /api/v1/appregistrations.
type appRegInput struct {
	AppType     string   `json:"appType"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
}

// appTypeJSON is one supported application type.
type appTypeJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	Scopes         []string `json:"scopes"`
	OptionalScopes []string `json:"optionalScopes"`
}

func (a *API) appRegRoutes() {
	a.add(Route{Method: "GET", Path: AppRegistrationsPath, Tag: "App Registrations", Needs: authz.SystemRead,
		Summary: "The tenant's App Registrations",
		Description: "Every registration, oldest first: id, clientId, appType, application (its display name), description, " +
			"scopes, lastAuthenticated (epoch ms, null when it never authenticated), createdBy and created. The client " +
			"secret is never shown again after creation.",
		Result: appRegJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			regs, err := a.appReg.List(r.Context())
			if err != nil {
				return err
			}
			items := make([]appRegJSON, 0, len(regs))
			for _, reg := range regs {
				items = append(items, appRegOut(reg))
			}
			return ok(w, searchResult{SearchResults: items, TotalCount: len(items), Offset: 0, Limit: len(items)})
		})

	a.add(Route{Method: "GET", Path: AppRegistrationsPath + "/types", Tag: "App Registrations", Needs: authz.SystemRead,
		Summary: "The application types an App Registration can be created for",
		Description: "id (the appType to create with), name, description, scopes (always granted) and optionalScopes " +
			"(elevated scopes that may be chosen at creation; Custom App only).",
		Result: []appTypeJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			types := authz.AppTypes()
			out := make([]appTypeJSON, 0, len(types))
			for _, t := range types {
				out = append(out, appTypeJSON{ID: t.ID, Name: t.Name, Description: t.Description,
					Scopes: nonNilStrings(t.Scopes), OptionalScopes: nonNilStrings(t.Optional)})
			}
			return ok(w, out)
		})

	a.add(Route{Method: "POST", Path: AppRegistrationsPath, Tag: "App Registrations", Needs: authz.SystemManage,
		Summary: "Create an App Registration",
		Description: "JSON or form: appType (see /api/v1/appregistrations/types), description (optional, at most " +
			strconv.Itoa(appreg.MaxDescription) + " characters) and scopes (a Custom App's optional elevated scopes; " +
			"no other type takes any). Every call makes a new client with fresh credentials. The result is the " +
			"registration with clientId, clientSecret (256 bits of randomness, shown only in this answer: it cannot be " +
			"recovered) and tokenUrl. Bad input is a 400 and nothing is stored.",
		Body: appRegInput{}, Result: appRegCreatedJSON{}, Status: http.StatusCreated},
		func(w http.ResponseWriter, r *http.Request) error {
			var in appRegInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			var scopes []string
			for _, s := range in.Scopes {
				if s != "" {
					scopes = append(scopes, s)
				}
			}
			c, err := a.appReg.Create(r.Context(), appreg.NewRegistration{AppType: in.AppType, Description: in.Description, Scopes: scopes})
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, appRegCreatedJSON{appRegJSON: appRegOut(c.Registration),
				ClientSecret: c.Secret, TokenURL: c.TokenURL})
		})

	a.add(Route{Method: "DELETE", Path: AppRegistrationsPath + "/{id}", Tag: "App Registrations", Needs: authz.SystemManage,
		Summary: "Delete an App Registration",
		Description: "For good: the application can no longer authenticate, and its tokens stop working. 404 for an " +
			"unknown id or another tenant's; 400 for an id that is not a number. The result is 1."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := appRegID(r)
			if err != nil {
				return err
			}
			if err := a.appReg.Delete(r.Context(), id); err != nil {
				return err
			}
			return ok(w, 1)
		})

	for _, method := range []string{"PUT", "PATCH"} {
		a.add(Route{Method: method, Path: AppRegistrationsPath + "/{id}", Tag: "App Registrations", Needs: authz.SystemManage,
			Summary: "Not supported: an App Registration cannot be changed",
			Description: "Always 405 (Allow: DELETE). To change a registration's details or its client secret, delete it " +
				"and create a new one.",
			Status: http.StatusMethodNotAllowed},
			func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set("Allow", "DELETE")
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusMethodNotAllowed)
				return json.NewEncoder(w).Encode(envelope{Errors: &errorBody{GlobalErrors: []globalError{{Code: "not_supported",
					Message: "app registrations cannot be changed: delete this one and create a new one"}}}})
			})
	}
}

// appRegID reads the numeric {id} of the path; anything else is a 400.
func appRegID(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		return 0, mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "id", Message: "must be a positive whole number"})
	}
	return n, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
