package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"steward/internal/authz"
)

// TestAppRegistrationsEndToEnd follows App Registrations the way a tenant and its integrations use them:
// registrations made through the API, tokens got with the standard client credentials client, the
// Patch Management and Data Services calls each registration's type allows (and only those), and a
// deletion that stops an issued token at once.
func TestAppRegistrationsEndToEnd(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Endtoend")
			_, tb := e.createTenant("Elsewhere")
			device := e.enrolled(ta, "owner@endtoend.example.com", "E2E-1")
			e.enrolled(tb, "owner@elsewhere.example.com", "E2E-OTHER")

			admin := e.createAppReg(ta, `{"appType":"`+authz.AppTypePatchGroupAdmin+`","description":"RBVM"}`)
			editor := e.createAppReg(ta, `{"appType":"`+authz.AppTypePatchGroupEditor+`"}`)
			cmdb := e.createAppReg(ta, `{"appType":"`+authz.AppTypeCSM+`"}`)
			otherCMDB := e.createAppReg(tb, `{"appType":"`+authz.AppTypeCSM+`"}`)

			// client returns an HTTP client whose requests carry a token for reg, got by the standard client.
			client := func(reg appRegView, style oauth2.AuthStyle, scopes ...string) *http.Client {
				cfg := clientcredentials.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret,
					TokenURL: reg.TokenURL, Scopes: scopes, AuthStyle: style}
				return cfg.Client(context.Background())
			}
			call := func(c *http.Client, method, path, body string) (int, string) {
				t.Helper()
				req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("X-On-Behalf-Of", "analyst@endtoend.example.com")
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			const base = "/api/patch/content/v1"

			adminClient := client(admin, oauth2.AuthStyleInHeader, authz.ScopePatchGroupAdmin)
			st, body := call(adminClient, "POST", base+"/cves-to-patch-group",
				`{"cveIds":["CVE-2023-32434"],"patchGroupName":"Triangulation"}`)
			if st != 200 && st != 201 {
				t.Fatalf("admin creates a patch group: %d %s", st, body)
			}
			var created struct {
				PatchGroupID  string              `json:"patchGroupId"`
				CVEsToPatches map[string][]string `json:"cvesToPatches"`
			}
			if err := json.Unmarshal([]byte(body), &created); err != nil || created.PatchGroupID == "" || len(created.CVEsToPatches["CVE-2023-32434"]) == 0 {
				t.Fatalf("created group: %v %s", err, body)
			}

			editorClient := client(editor, oauth2.AuthStyleInParams, authz.ScopePatchGroupEditor)
			if st, body := call(editorClient, "POST", base+"/cves-to-patch-group", `{"cveIds":["CVE-2023-32439"]}`); st != 403 {
				t.Errorf("editor creates a group: %d %s, want 403", st, body)
			}
			if st, body := call(editorClient, "PUT", base+"/cves-to-patch-group/"+created.PatchGroupID,
				`{"cveIds":["CVE-2023-32434","CVE-2023-32439"]}`); st != 200 {
				t.Errorf("editor edits the group: %d %s", st, body)
			}
			readOnly := client(admin, oauth2.AuthStyleInHeader) // no scope asked: the read-only default
			if st, body := call(readOnly, "POST", base+"/cves-to-patch-group", `{"cveIds":["CVE-2023-32439"]}`); st != 403 {
				t.Errorf("read-only token creates a group: %d %s, want 403", st, body)
			}
			st, body = call(readOnly, "GET", base+"/patch-group-audit?PageSize=50", "")
			if st != 200 || !strings.Contains(body, "analyst@endtoend.example.com") {
				t.Errorf("patch group audit: %d %s", st, body)
			}
			for _, path := range []string{"/api/apigatewaydataservices/v1/devices", "/api/v1/device"} {
				if st, _ := call(readOnly, "GET", path, ""); st != 403 {
					t.Errorf("patch token on %s: %d, want 403", path, st)
				}
			}

			cmdbClient := client(cmdb, oauth2.AuthStyleInHeader)
			st, body = call(cmdbClient, "GET", "/api/apigatewaydataservices/v1/devices", "")
			if st != 200 || !strings.Contains(body, device.GUID) || strings.Contains(body, "E2E-OTHER") {
				t.Errorf("CMDB reads its tenant's devices: %d %s", st, body)
			}
			for _, path := range []string{base + "/patch-group", "/api/v1/device", "/api/v1/appregistrations"} {
				if st, _ := call(cmdbClient, "GET", path, ""); st != 403 {
					t.Errorf("CMDB token on %s: %d, want 403", path, st)
				}
			}
			if resp, err := cmdbClient.Get(e.url + base + "/patch-group"); err != nil {
				t.Fatal(err)
			} else {
				resp.Body.Close()
				if h := resp.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) {
					t.Errorf("403 for a token without the scope: WWW-Authenticate %q", h)
				}
			}
			st, body = call(client(otherCMDB, oauth2.AuthStyleInHeader), "GET", "/api/apigatewaydataservices/v1/devices", "")
			if st != 200 || strings.Contains(body, device.GUID) || !strings.Contains(body, `"@odata.count":1`) {
				t.Errorf("the other tenant's CMDB: %d %s", st, body)
			}

			e.srv.appReg.Flush(context.Background())
			regs, _ := e.appRegs(ta)
			for _, r := range regs {
				if r.LastAuthenticated == nil {
					t.Errorf("%s: no last authentication after its tokens", r.AppType)
				}
			}

			// Deleting the admin registration stops its token at once, and it gets no new one.
			e.call("DELETE", "/api/v1/appregistrations/"+strconv.FormatInt(admin.ID, 10), ta, "").must(t, 200, nil)
			if st, body := call(adminClient, "GET", base+"/patch-group", ""); st != 401 {
				t.Errorf("deleted registration's token: %d %s, want 401", st, body)
			}
			fresh := clientcredentials.Config{ClientID: admin.ClientID, ClientSecret: admin.ClientSecret, TokenURL: admin.TokenURL}
			if _, err := fresh.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid_client") {
				t.Errorf("token for a deleted registration: %v, want invalid_client", err)
			}
			if st, _ := call(editorClient, "GET", base+"/patch-group", ""); st != 200 {
				t.Errorf("the editor's token after another registration's deletion: %d", st)
			}
		})
	}
}
