package server

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// appRegView is a registration as the API shows it.
type appRegView struct {
	ID                int64    `json:"id"`
	ClientID          string   `json:"clientId"`
	AppType           string   `json:"appType"`
	Application       string   `json:"application"`
	Description       string   `json:"description"`
	Scopes            []string `json:"scopes"`
	LastAuthenticated *int64   `json:"lastAuthenticated"`
	CreatedBy         string   `json:"createdBy"`
	Created           int64    `json:"created"`
	ClientSecret      string   `json:"clientSecret"`
	TokenURL          string   `json:"tokenUrl"`
}

// appRegs lists the registrations as auth (status 200 required) and returns the raw body too.
func (e *apiEnv) appRegs(auth string) ([]appRegView, string) {
	e.t.Helper()
	var p page[appRegView]
	r := e.call("GET", "/api/v1/appregistrations", auth, "").must(e.t, 200, &p)
	if p.TotalCount != len(p.SearchResults) {
		e.t.Errorf("totalCount %d for %d registrations", p.TotalCount, len(p.SearchResults))
	}
	return p.SearchResults, r.Body
}

// createAppReg creates a registration as auth (201 required).
func (e *apiEnv) createAppReg(auth, body string) appRegView {
	e.t.Helper()
	var v appRegView
	r := e.call("POST", "/api/v1/appregistrations", auth, body).must(e.t, 201, &v)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		e.t.Errorf("create: Cache-Control %q, want no-store", cc)
	}
	return v
}

// TestAppRegAPI creates, lists and deletes App Registrations through the API on both databases: a fresh
// 256-bit secret every time, shown once and stored only as its keyed hash; bad input is a 400 that
// stores nothing; System Read Only lists but cannot create or delete; another tenant sees and deletes
// nothing; creates and deletes are audited; registrations cannot be changed; the last authentication
// shows once recorded.
func TestAppRegAPI(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			hooli, ta := e.createTenant("Hooli")
			_, tb := e.createTenant("Raviga")
			stored := func() int { return e.count("SELECT COUNT(*) FROM app_registrations") }

			// The application types.
			var types []struct {
				ID             string   `json:"id"`
				Name           string   `json:"name"`
				Description    string   `json:"description"`
				Scopes         []string `json:"scopes"`
				OptionalScopes []string `json:"optionalScopes"`
			}
			e.call("GET", "/api/v1/appregistrations/types", ta, "").must(t, 200, &types)
			if len(types) != len(authz.AppTypes()) {
				t.Fatalf("%d types, want %d", len(types), len(authz.AppTypes()))
			}
			for _, ty := range types {
				if ty.Name == "" || ty.Description == "" || len(ty.Scopes) == 0 {
					t.Errorf("type %+v lacks a name, description or scopes", ty)
				}
				if (ty.ID == authz.AppTypeCustom) != (len(ty.OptionalScopes) > 0) {
					t.Errorf("type %s: optional scopes %v; only the Custom App has some", ty.ID, ty.OptionalScopes)
				}
			}

			// Create: JSON, then the same type again, then a form body.
			before := time.Now().Add(-time.Second).UnixMilli()
			c1 := e.createAppReg(ta, `{"appType":"CUSTOM","description":"CMDB sync","scopes":["device.action"]}`)
			c2 := e.createAppReg(ta, `{"appType":"CUSTOM"}`)
			c3 := e.createAppReg(ta, "appType=PATCH_GROUP_EDITOR&description=CVEs+to+patch+groups")
			for i, c := range []appRegView{c1, c2, c3} {
				raw, err := base64.RawURLEncoding.DecodeString(c.ClientSecret)
				if err != nil || len(raw) != 32 {
					t.Errorf("registration %d: secret %q is not 256 bits of base64url (%v)", i, c.ClientSecret, err)
				}
				if c.ID == 0 || c.ClientID == "" || c.CreatedBy != "ta@hooli.example.com" || c.Created < before || c.LastAuthenticated != nil {
					t.Errorf("registration %d: %+v", i, c)
				}
				if want := e.url + "/" + hooli.ID + "/connect/token"; c.TokenURL != want {
					t.Errorf("registration %d: tokenUrl %q, want %q", i, c.TokenURL, want)
				}
				if _, err := e.srv.AppRegistrations().Verify(t.Context(), c.ClientID, c.ClientSecret); err != nil {
					t.Errorf("registration %d: its own credentials do not verify: %v", i, err)
				}
			}
			if c1.ID == c2.ID || c1.ClientID == c2.ClientID || c1.ClientSecret == c2.ClientSecret {
				t.Errorf("the same type twice gave the same credentials: %+v, %+v", c1, c2)
			}
			if _, err := e.srv.AppRegistrations().Verify(t.Context(), c1.ClientID, c2.ClientSecret); !mdm.IsCode(err, mdm.Unauthenticated) {
				t.Errorf("another registration's secret verified: %v", err)
			}
			if c1.Application != "Custom App" || c1.Description != "CMDB sync" || !slices.Contains(c1.Scopes, "device.action") ||
				!slices.Contains(c1.Scopes, authz.ScopeRead) || slices.Contains(c2.Scopes, "device.action") {
				t.Errorf("custom registrations: %+v, %+v", c1, c2)
			}
			if c3.AppType != authz.AppTypePatchGroupEditor || c3.Description != "CVEs to patch groups" ||
				!slices.Contains(c3.Scopes, authz.ScopePatchGroupEditor) {
				t.Errorf("form-created registration: %+v", c3)
			}

			// The list never shows a secret, and neither does the database.
			list, body := e.appRegs(ta)
			if len(list) != 3 || list[0].ID != c1.ID || list[2].ID != c3.ID {
				t.Fatalf("list: %+v", list)
			}
			for _, c := range []appRegView{c1, c2, c3} {
				if strings.Contains(body, c.ClientSecret) {
					t.Errorf("the list shows a client secret: %s", body)
				}
			}
			if strings.Contains(body, "clientSecret") || strings.Contains(body, "ecretHash") || strings.Contains(body, `"lastAuthenticated":0`) {
				t.Errorf("the list has secret fields or a zero last authentication: %s", body)
			}
			if list[0].Application != "Custom App" || list[0].Description != "CMDB sync" || list[0].LastAuthenticated != nil ||
				list[0].CreatedBy != "ta@hooli.example.com" || list[0].Created != c1.Created || list[0].ClientID != c1.ClientID {
				t.Errorf("listed %+v, created %+v", list[0], c1)
			}
			secrets := map[string]string{c1.ClientID: c1.ClientSecret, c2.ClientID: c2.ClientSecret, c3.ClientID: c3.ClientSecret}
			rows, err := e.srv.Store().DB().QueryContext(t.Context(),
				`SELECT client_id, secret_hash, app_type, scopes, description, created_by FROM app_registrations`)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var clientID, appType, scopes, desc, by string
				var hash []byte
				if err := rows.Scan(&clientID, &hash, &appType, &scopes, &desc, &by); err != nil {
					t.Fatal(err)
				}
				n++
				sec := secrets[clientID]
				row := strings.Join([]string{clientID, string(hash), appType, scopes, desc, by}, "|")
				if sec == "" || strings.Contains(row, sec) || bytes.Contains(hash, []byte(sec)) {
					t.Errorf("row of %s holds the clear secret or is unknown", clientID)
				}
				if !bytes.Equal(hash, e.srv.keys.Hash(sec)) {
					t.Errorf("row of %s: secret_hash is not the keyed hash of the secret", clientID)
				}
			}
			rows.Close()
			if n != 3 {
				t.Errorf("%d rows, want 3", n)
			}

			// Bad input: a 400 naming the field, and nothing stored.
			for _, tt := range []struct {
				name, body, field string
			}{
				{"no type", `{}`, "appType"},
				{"unknown type", `{"appType":"SHAREPOINT"}`, "appType"},
				{"unknown scope", `{"appType":"CUSTOM","scopes":["root"]}`, "scopes"},
				{"a read scope is not optional", `{"appType":"CUSTOM","scopes":["read"]}`, "scopes"},
				{"scopes on a fixed type", `{"appType":"CSM","scopes":["device.action"]}`, "scopes"},
				{"description too long", `{"appType":"CSM","description":"` + strings.Repeat("x", 256) + `"}`, "description"},
				{"unknown field", `{"appType":"CSM","clientSecret":"mine"}`, "clientSecret"},
				{"scopes not a list", `{"appType":"CUSTOM","scopes":"device.action"}`, "scopes"},
				{"form: unknown scope", "appType=CUSTOM&scopes=root", "scopes"},
			} {
				r := e.call("POST", "/api/v1/appregistrations", ta, tt.body)
				if r.Status != 400 || !slices.Contains(r.fields(), tt.field) {
					t.Errorf("%s: %d %s, want 400 naming %s", tt.name, r.Status, r.Body, tt.field)
				}
			}
			if n := stored(); n != 3 {
				t.Errorf("bad input stored something: %d registrations, want 3", n)
			}

			// System Read Only lists but neither creates nor deletes.
			sro := roleUser(t, e, mdm.TenantID(hooli.ID), "sro@hooli.example.com", authz.RoleSystemReadOnly)
			if l, _ := e.appRegs(sro); len(l) != 3 {
				t.Errorf("System Read Only lists %d registrations, want 3", len(l))
			}
			e.call("GET", "/api/v1/appregistrations/types", sro, "").must(t, 200, nil)
			e.call("POST", "/api/v1/appregistrations", sro, `{"appType":"CSM"}`).must(t, 403, nil)
			e.call("DELETE", "/api/v1/appregistrations/"+strconv.FormatInt(c1.ID, 10), sro, "").must(t, 403, nil)
			// A user without a system role sees nothing.
			dev := roleUser(t, e, mdm.TenantID(hooli.ID), "dm@hooli.example.com", authz.RoleDeviceManagement)
			e.call("GET", "/api/v1/appregistrations", dev, "").must(t, 403, nil)

			// Another tenant sees none and cannot delete one.
			if l, _ := e.appRegs(tb); len(l) != 0 {
				t.Errorf("Raviga lists Hooli's registrations: %+v", l)
			}
			e.call("DELETE", "/api/v1/appregistrations/"+strconv.FormatInt(c1.ID, 10), tb, "").must(t, 404, nil)
			e.call("DELETE", "/api/v1/appregistrations/999999", ta, "").must(t, 404, nil)
			e.call("DELETE", "/api/v1/appregistrations/abc", ta, "").must(t, 400, nil)
			if n := stored(); n != 3 {
				t.Errorf("refused deletes removed something: %d registrations, want 3", n)
			}

			// No update: delete and create anew.
			for _, method := range []string{"PUT", "PATCH"} {
				r := e.call(method, "/api/v1/appregistrations/"+strconv.FormatInt(c1.ID, 10), ta, `{"description":"changed"}`)
				if r.Status != 405 || r.Header.Get("Allow") != "DELETE" || r.Env.Errors == nil ||
					!strings.Contains(r.Body, "cannot be changed") || !strings.Contains(r.Body, "delete this one and create a new one") {
					t.Errorf("%s: %d Allow=%q %s, want 405 saying registrations cannot be changed", method, r.Status, r.Header.Get("Allow"), r.Body)
				}
				e.call(method, "/api/v1/appregistrations/"+strconv.FormatInt(c1.ID, 10), sro, `{}`).must(t, 403, nil)
			}
			if l, _ := e.appRegs(ta); l[0].Description != "CMDB sync" {
				t.Errorf("a refused change changed the description to %q", l[0].Description)
			}

			// Last authenticated: shown once recorded, and written by Flush.
			svc := e.srv.AppRegistrations()
			svc.MarkAuthenticated(c2.ClientID)
			svc.Flush(t.Context())
			list, _ = e.appRegs(ta)
			if la := list[1].LastAuthenticated; la == nil || *la < before || *la > time.Now().UnixMilli() {
				t.Errorf("last authenticated after a token: %v", la)
			}
			if list[0].LastAuthenticated != nil {
				t.Errorf("an unused registration shows a last authentication")
			}
			if n := e.count("SELECT COUNT(*) FROM app_registrations WHERE last_authenticated_at > 0"); n != 1 {
				t.Errorf("%d rows with a last authentication written, want 1", n)
			}

			// Delete: gone from the list, its credentials no longer verify.
			var res int
			e.call("DELETE", "/api/v1/appregistrations/"+strconv.FormatInt(c2.ID, 10), ta, "").must(t, 200, &res)
			if res != 1 {
				t.Errorf("delete result %d, want 1", res)
			}
			e.call("DELETE", "/api/v1/appregistrations/"+strconv.FormatInt(c2.ID, 10), ta, "").must(t, 404, nil)
			if l, _ := e.appRegs(ta); len(l) != 2 || l[0].ID != c1.ID || l[1].ID != c3.ID {
				t.Errorf("after delete: %+v", l)
			}
			if _, err := svc.Verify(t.Context(), c2.ClientID, c2.ClientSecret); !mdm.IsCode(err, mdm.Unauthenticated) {
				t.Errorf("a deleted registration's credentials: %v, want unauthenticated", err)
			}

			// The audit trail: three creates and one delete, each naming the client, never a secret.
			var trail page[struct {
				Action    string         `json:"action"`
				TargetID  string         `json:"targetId"`
				ActorName string         `json:"actorName"`
				Details   map[string]any `json:"details"`
			}]
			r := e.call("GET", "/api/v1/audit?rows=100&fq="+url.QueryEscape("action=appregistration.*"), ta, "")
			r.must(t, 200, &trail)
			creates, deletes := 0, 0
			for _, a := range trail.SearchResults {
				switch a.Action {
				case "appregistration.create":
					creates++
				case "appregistration.delete":
					deletes++
					if a.TargetID != strconv.FormatInt(c2.ID, 10) || a.Details["clientId"] != c2.ClientID {
						t.Errorf("delete audited as %+v", a)
					}
				}
				if a.Details["clientId"] == nil || a.ActorName != "ta@hooli.example.com" {
					t.Errorf("audit %+v lacks the client id or the actor", a)
				}
			}
			if creates != 3 || deletes != 1 {
				t.Errorf("audit: %d creates and %d deletes, want 3 and 1: %s", creates, deletes, r.Body)
			}
			for _, sec := range secrets {
				if strings.Contains(r.Body, sec) {
					t.Error("the audit trail shows a client secret")
				}
			}
		})
	}
}
