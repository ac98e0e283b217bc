package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"steward/internal/apps"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// appFields are the app forms' inputs, named as the service names its field errors.
var appFields = []string{"platformType", "bundleId", "name", "description", "iconUrl", "itunesStoreId", "file", "categories", "targets"}

// maxTargetsShown bounds the groups offered in an app's distribution form.
const maxTargetsShown = 500

var appDone = map[string]string{
	"created": "App added.", "updated": "App saved.", "distributed": "Distribution saved: required apps are being installed.",
	"categorized": "Categories saved.", "deleted": "App deleted: it is being removed from the devices it was installed on.",
}

func appFlash(q url.Values) *flash {
	if t, ok := appDone[q.Get("done")]; ok {
		return &flash{Kind: "success", Text: t}
	}
	return nil
}

func (c *console) appRoutes() {
	c.signedIn("GET /console/apps", c.appsPage)
	c.signedIn("POST /console/apps", c.createApp)
	c.signedIn("POST /console/apps/inhouse", c.uploadApp)
	c.signedIn("GET /console/apps/{id}", c.appPage)
	c.signedIn("POST /console/apps/{id}", c.updateApp)
	c.signedIn("POST /console/apps/{id}/distribution", c.distributeApp)
	c.signedIn("POST /console/apps/{id}/categories", c.categorizeApp)
	c.signedIn("GET /console/apps/{id}/delete", c.deleteAppPage)
	c.signedIn("POST /console/apps/{id}/delete", c.deleteApp)
	c.signedIn("GET /console/appcatalog", c.appCatalogPage)
	c.signedIn("GET /console/appinventory", c.appInventoryPage)
	c.signedIn("GET /console/appinventory/devices", c.appInventoryDevicesPage)
	c.portal("GET /go/apps", c.portalApps)
}

type appsView struct {
	Items    []apps.View
	Pager    pager
	Platform string
	Manage   bool
	New      form
	Upload   form
	MaxMiB   int64
}

func (c *console) renderApps(w http.ResponseWriter, r *http.Request, status int, nf, up *form) error {
	start, q := listRequest(r.URL.Query())
	opts := mdm.ListOptions{Start: start, Rows: pageRows, Query: q, Sort: []mdm.SortField{{Field: "name"}}}
	platform, _ := apps.Platform(r.URL.Query().Get("platformType"))
	if platform == mdm.PlatformIOS || platform == mdm.PlatformAndroid {
		opts.Filter = mdm.Compare{Field: "platformType", Op: mdm.Eq, Value: platform}
	} else {
		platform = ""
	}
	pg, err := c.Apps.List(r.Context(), opts)
	if err != nil {
		return err
	}
	params := url.Values{}
	if platform != "" {
		params.Set("platformType", platform)
	}
	v := appsView{Items: pg.Items, Platform: platform, Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.AppManage)),
		Pager: pager{Path: "/console/apps", Query: q, Start: start, Rows: pageRows, Total: pg.TotalCount, Shown: len(pg.Items), Params: params},
		New:   newForm(), Upload: newForm(), MaxMiB: c.Apps.MaxFile() >> 20}
	v.New.Values["platformType"] = mdm.PlatformIOS
	if nf != nil {
		v.New = *nf
	}
	if up != nil {
		v.Upload = *up
	}
	return render(w, r, status, "apps", page{Title: "Apps", Nav: "apps", Flash: appFlash(r.URL.Query()), Data: v})
}

// appsPage lists the apps with the add forms (public store app, in-house upload).
func (c *console) appsPage(w http.ResponseWriter, r *http.Request) error {
	return c.renderApps(w, r, http.StatusOK, nil, nil)
}

func appPath(id mdm.AppID) string { return "/console/apps/" + strconv.FormatInt(int64(id), 10) }

// createApp adds a public store app.
func (c *console) createApp(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	for _, name := range appFields[:6] {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	v, err := c.Apps.Create(r.Context(), apps.AppInput{Platform: ptr(f.Values["platformType"]), BundleID: ptr(f.Values["bundleId"]),
		Name: ptr(f.Values["name"]), Description: ptr(f.Values["description"]), IconURL: ptr(f.Values["iconUrl"]),
		StoreID: ptr(f.Values["itunesStoreId"])})
	if err != nil {
		status, ok := f.setError(err, appFields...)
		if !ok {
			return err
		}
		return c.renderApps(w, r, status, &f, nil)
	}
	http.Redirect(w, r, appPath(v.App.ID)+"?done=created", http.StatusSeeOther)
	return nil
}

// uploadApp adds an in-house app from an uploaded .ipa or .apk.
func (c *console) uploadApp(w http.ResponseWriter, r *http.Request) error {
	f := newForm()
	r.Body = http.MaxBytesReader(w, r.Body, c.Apps.MaxFile()+maxFormBytes)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			f.Errors["file"] = "The file is larger than the largest accepted."
		} else {
			f.Errors["file"] = "Choose an .ipa or .apk file."
		}
		return c.renderApps(w, r, http.StatusBadRequest, nil, &f)
	}
	defer r.MultipartForm.RemoveAll()
	f.Values["name"] = strings.TrimSpace(r.FormValue("name"))
	f.Values["description"] = r.FormValue("description")
	in := apps.AppInput{Description: ptr(f.Values["description"])}
	if f.Values["name"] != "" {
		in.Name = ptr(f.Values["name"])
	}
	up := apps.Upload{}
	if files := r.MultipartForm.File["file"]; len(files) == 1 {
		file, err := files[0].Open()
		if err != nil {
			return mdm.Wrap(mdm.Invalid, err, "the upload could not be read")
		}
		defer file.Close()
		up = apps.Upload{FileName: files[0].Filename, Body: file}
	}
	v, err := c.Apps.CreateInHouse(r.Context(), in, up)
	if err != nil {
		status, ok := f.setError(err, appFields...)
		if !ok {
			return err
		}
		if len(f.Errors) > 0 && f.Errors["file"] == "" && f.Errors["name"] == "" && f.Errors["description"] == "" {
			// bundleId or platformType: the binary's own id clashes; show it on the file.
			for _, k := range []string{"bundleId", "platformType"} {
				if msg := f.Errors[k]; msg != "" {
					f.Errors["file"] = msg
				}
			}
		}
		return c.renderApps(w, r, status, nil, &f)
	}
	http.Redirect(w, r, appPath(v.App.ID)+"?done=created", http.StatusSeeOther)
	return nil
}

func appIDOf(r *http.Request) (mdm.AppID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.AppID(id), err
}

// targetRow is one possible target of the distribution form with its current setting: "" (not
// distributed), "optional" or "required".
type targetRow struct {
	Key     string // the form field: all, ug-<id>, dg-<id>
	Name    string
	Kind    string
	Setting string
}

type appView struct {
	App        apps.View
	Edit       form
	Manage     bool
	Targets    []targetRow
	Categories []categoryChoice
	Delivery   bool
}

type categoryChoice struct {
	ID      mdm.CategoryID
	Name    string
	Checked bool
}

func (c *console) renderApp(w http.ResponseWriter, r *http.Request, status int, id mdm.AppID, edit *form) error {
	v, err := c.Apps.Get(r.Context(), id)
	if err != nil {
		return err
	}
	view := appView{App: *v, Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.AppManage))}
	_, view.Delivery = c.Apps.InstallPayload(&v.App)
	if edit != nil {
		view.Edit = *edit
	} else {
		view.Edit = newForm()
		view.Edit.Values["name"], view.Edit.Values["description"] = v.App.Name, v.App.Description
		view.Edit.Values["iconUrl"], view.Edit.Values["itunesStoreId"] = v.App.IconURL, v.App.StoreID
	}
	setting := map[string]string{}
	for _, d := range v.Targets {
		s := "optional"
		if d.Required {
			s = "required"
		}
		setting[appTargetField(d.Target, d.TargetID)] = s
	}
	view.Targets = append(view.Targets, targetRow{Key: "all", Name: "All users", Kind: "Users", Setting: setting["all"]})
	if can(mdm.PrincipalFrom(r.Context()), string(authz.UserRead)) {
		ugs, err := c.Accounts.ListGroups(r.Context(), mdm.ListOptions{Rows: maxTargetsShown, Sort: []mdm.SortField{{Field: "name"}}})
		if err != nil {
			return err
		}
		for _, g := range ugs.Items {
			if g.Kind == mdm.AllUsersGroup {
				continue
			}
			k := appTargetField(mdm.TargetUserGroup, int64(g.ID))
			view.Targets = append(view.Targets, targetRow{Key: k, Name: g.Name, Kind: "User group", Setting: setting[k]})
		}
	}
	if can(mdm.PrincipalFrom(r.Context()), string(authz.DeviceRead)) {
		dgs, err := c.Assign.ListDeviceGroups(r.Context(), mdm.ListOptions{Rows: maxTargetsShown,
			Sort: []mdm.SortField{{Field: "builtIn", Desc: true}, {Field: "name"}}})
		if err != nil {
			return err
		}
		for _, g := range dgs.Items {
			k := appTargetField(mdm.TargetDeviceGroup, int64(g.ID))
			view.Targets = append(view.Targets, targetRow{Key: k, Name: g.Name, Kind: "Device group", Setting: setting[k]})
		}
	}
	cats, err := c.Apps.Categories(r.Context())
	if err != nil {
		return err
	}
	for _, cat := range cats {
		checked := false
		for _, have := range v.Categories {
			checked = checked || have.ID == cat.ID
		}
		view.Categories = append(view.Categories, categoryChoice{ID: cat.ID, Name: cat.Name, Checked: checked})
	}
	return render(w, r, status, "app", page{Title: v.App.Name, Nav: "apps", Flash: appFlash(r.URL.Query()), Data: view})
}

func appTargetField(kind mdm.TargetKind, id int64) string {
	switch kind {
	case mdm.TargetUserGroup:
		return "ug-" + strconv.FormatInt(id, 10)
	case mdm.TargetDeviceGroup:
		return "dg-" + strconv.FormatInt(id, 10)
	}
	return "all"
}

// appPage shows an app: details, edit, distribution, categories, delete.
func (c *console) appPage(w http.ResponseWriter, r *http.Request) error {
	id, err := appIDOf(r)
	if err != nil {
		return err
	}
	return c.renderApp(w, r, http.StatusOK, id, nil)
}

// updateApp saves the details form.
func (c *console) updateApp(w http.ResponseWriter, r *http.Request) error {
	id, err := appIDOf(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	for _, name := range []string{"name", "description", "iconUrl", "itunesStoreId"} {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	in := apps.AppInput{Name: ptr(f.Values["name"]), Description: ptr(f.Values["description"]), IconURL: ptr(f.Values["iconUrl"])}
	if _, present := r.PostForm["itunesStoreId"]; present {
		in.StoreID = ptr(f.Values["itunesStoreId"])
	}
	if _, err := c.Apps.Update(r.Context(), id, in); err != nil {
		status, ok := f.setError(err, appFields...)
		if !ok {
			return err
		}
		return c.renderApp(w, r, status, id, &f)
	}
	http.Redirect(w, r, appPath(id)+"?done=updated", http.StatusSeeOther)
	return nil
}

// distributeApp saves the distribution form: each target none, optional or required.
func (c *console) distributeApp(w http.ResponseWriter, r *http.Request) error {
	id, err := appIDOf(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	var ds []mdm.Distribution
	for key, vals := range r.PostForm {
		setting := vals[len(vals)-1]
		if setting != "optional" && setting != "required" {
			continue
		}
		d := mdm.Distribution{Required: setting == "required"}
		switch {
		case key == "t-all":
			d.Target = mdm.TargetAllUsers
		case strings.HasPrefix(key, "t-ug-"), strings.HasPrefix(key, "t-dg-"):
			n, err := strconv.ParseInt(key[5:], 10, 64)
			if err != nil || n <= 0 {
				continue
			}
			d.Target, d.TargetID = mdm.TargetUserGroup, n
			if strings.HasPrefix(key, "t-dg-") {
				d.Target = mdm.TargetDeviceGroup
			}
		default:
			continue
		}
		ds = append(ds, d)
	}
	if _, err := c.Apps.SetDistribution(r.Context(), id, ds); err != nil {
		return err
	}
	http.Redirect(w, r, appPath(id)+"?done=distributed", http.StatusSeeOther)
	return nil
}

// categorizeApp saves the categories checkboxes.
func (c *console) categorizeApp(w http.ResponseWriter, r *http.Request) error {
	id, err := appIDOf(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	ids := []int64{}
	for _, s := range r.PostForm["category"] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "categories", Message: "must be category ids"})
		}
		ids = append(ids, n)
	}
	if _, err := c.Apps.Update(r.Context(), id, apps.AppInput{Categories: &ids}); err != nil {
		return err
	}
	http.Redirect(w, r, appPath(id)+"?done=categorized", http.StatusSeeOther)
	return nil
}

// deleteAppPage asks for confirmation before deleting an app.
func (c *console) deleteAppPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.AppManage); err != nil {
		return err
	}
	id, err := appIDOf(r)
	if err != nil {
		return err
	}
	v, err := c.Apps.Get(r.Context(), id)
	if err != nil {
		return err
	}
	path := appPath(id)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + v.App.Name, Nav: "apps", Data: confirmView{
		Heading: "Delete the app " + v.App.Name + "?",
		Text: "It leaves every catalog, and the devices Steward installed it on are told to remove it. " +
			"Devices where users installed it themselves keep it.",
		Action: path + "/delete", Button: "Delete app", Back: path}})
}

// deleteApp removes an app after confirmation.
func (c *console) deleteApp(w http.ResponseWriter, r *http.Request) error {
	id, err := appIDOf(r)
	if err != nil {
		return err
	}
	if err := c.Apps.Delete(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/apps?done=deleted", http.StatusSeeOther)
	return nil
}

type catalogView struct {
	Email    string
	Error    string
	User     *mdm.Account
	Catalog  *apps.Catalog
	Platform string
	Category mdm.CategoryID
}

// appCatalogPage previews the App Catalog as a chosen user sees it (by email address).
func (c *console) appCatalogPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.AppRead); err != nil {
		return err
	}
	q := r.URL.Query()
	v := catalogView{Email: strings.TrimSpace(q.Get("email"))}
	v.Platform, _ = apps.Platform(q.Get("platformType"))
	if v.Platform != mdm.PlatformIOS && v.Platform != mdm.PlatformAndroid {
		v.Platform = ""
	}
	if n, err := strconv.ParseInt(q.Get("categoryId"), 10, 64); err == nil && n > 0 {
		v.Category = mdm.CategoryID(n)
	}
	status := http.StatusOK
	if v.Email != "" {
		p, err := c.Accounts.ListAccounts(r.Context(), mdm.ListOptions{Rows: 1,
			Filter: mdm.Compare{Field: "emailAddress", Op: mdm.Eq, Value: strings.ReplaceAll(v.Email, "*", "")}})
		switch {
		case err != nil && mdm.IsCode(err, mdm.Forbidden):
			v.Error = "Choosing a user needs permission to read users."
			status = http.StatusForbidden
		case err != nil:
			return err
		case len(p.Items) == 0:
			v.Error = "No user has this email address."
			status = http.StatusNotFound
		default:
			v.User = &p.Items[0]
			if v.Catalog, err = c.Apps.CatalogFor(r.Context(), v.User.ID, apps.CatalogFilter{Platform: v.Platform, Category: v.Category}); err != nil {
				return err
			}
		}
	}
	return render(w, r, status, "appcatalog", page{Title: "App Catalog", Nav: "appcatalog", Data: v})
}

type inventoryView struct {
	Items    []mdm.InventoryApp
	Pager    pager
	Platform string
	Managed  string
}

// appInventoryPage shows the App Inventory: every installed app with its versions and device count.
func (c *console) appInventoryPage(w http.ResponseWriter, r *http.Request) error {
	start, q := listRequest(r.URL.Query())
	iq := mdm.InventoryQuery{Query: q, Start: start, Rows: pageRows}
	v := inventoryView{}
	iq.Platform, _ = apps.Platform(r.URL.Query().Get("platformType"))
	if iq.Platform != mdm.PlatformIOS && iq.Platform != mdm.PlatformAndroid {
		iq.Platform = ""
	}
	v.Platform = iq.Platform
	switch m := r.URL.Query().Get("managed"); m {
	case "true", "false":
		b := m == "true"
		iq.Managed, v.Managed = &b, m
	}
	pg, err := c.Apps.Inventory(r.Context(), iq)
	if err != nil {
		return err
	}
	params := url.Values{}
	if v.Platform != "" {
		params.Set("platformType", v.Platform)
	}
	if v.Managed != "" {
		params.Set("managed", v.Managed)
	}
	v.Items = pg.Items
	v.Pager = pager{Path: "/console/appinventory", Query: q, Start: start, Rows: pageRows, Total: pg.TotalCount, Shown: len(pg.Items), Params: params}
	return render(w, r, http.StatusOK, "appinventory", page{Title: "App Inventory", Nav: "appinventory", Data: v})
}

type inventoryDevicesView struct {
	BundleID string
	Platform string
	Items    []mdm.InventoryDevice
	Pager    pager
}

// appInventoryDevicesPage lists the devices that have one app installed.
func (c *console) appInventoryDevicesPage(w http.ResponseWriter, r *http.Request) error {
	start, q := listRequest(r.URL.Query())
	v := inventoryDevicesView{BundleID: r.URL.Query().Get("bundleId")}
	v.Platform, _ = apps.Platform(r.URL.Query().Get("platformType"))
	if v.Platform != mdm.PlatformIOS && v.Platform != mdm.PlatformAndroid {
		v.Platform = ""
	}
	if v.BundleID == "" || len(v.BundleID) > 256 {
		return mdm.Errorf(mdm.NotFound, "name an app by its bundle id")
	}
	pg, err := c.Apps.InventoryDevices(r.Context(), v.Platform, v.BundleID, mdm.ListOptions{Start: start, Rows: pageRows, Query: q})
	if err != nil {
		return err
	}
	params := url.Values{"bundleId": {v.BundleID}}
	if v.Platform != "" {
		params.Set("platformType", v.Platform)
	}
	v.Items = pg.Items
	v.Pager = pager{Path: "/console/appinventory/devices", Query: q, Start: start, Rows: pageRows, Total: pg.TotalCount, Shown: len(pg.Items), Params: params}
	return render(w, r, http.StatusOK, "appinventory_devices", page{Title: v.BundleID, Nav: "appinventory", Data: v})
}

type portalAppsView struct {
	Catalog     *apps.Catalog
	Category    mdm.CategoryID
	Quarantined []mdm.Device // the user's devices a compliance policy quarantined: they get no apps for now
}

// portalApps is the self-service App Catalog: the apps available to the signed-in user.
func (c *console) portalApps(w http.ResponseWriter, r *http.Request) error {
	v := portalAppsView{}
	if n, err := strconv.ParseInt(r.URL.Query().Get("categoryId"), 10, 64); err == nil && n > 0 {
		v.Category = mdm.CategoryID(n)
	}
	var err error
	if v.Catalog, err = c.Apps.MyCatalog(r.Context(), apps.CatalogFilter{Category: v.Category}); err != nil {
		return err
	}
	devices, err := c.Accounts.MyDevices(r.Context())
	if err != nil {
		return err
	}
	for _, d := range devices {
		if d.Quarantined {
			v.Quarantined = append(v.Quarantined, d)
		}
	}
	return renderPortal(w, http.StatusOK, "go_apps", page{Title: "Apps", Data: v})
}
