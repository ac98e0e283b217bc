package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"steward/internal/apps"
	"steward/internal/authz"
	"steward/internal/form"
	"steward/internal/mdm"
)

const appsTag = "Apps"

type appItemJSON struct {
	ID            mdm.AppID      `json:"id"`
	TenantID      mdm.TenantID   `json:"tenantId"`
	Platform      string         `json:"platformType"`
	Source        string         `json:"source"`
	BundleID      string         `json:"bundleId"`
	Name          string         `json:"name"`
	Version       string         `json:"version"`
	BuildNumber   string         `json:"buildNumber"`
	IconURL       string         `json:"iconUrl"`
	Description   string         `json:"description"`
	StoreID       string         `json:"itunesStoreId"`
	FileName      string         `json:"fileName"`
	FileSize      int64          `json:"fileSize"`
	FileSHA256    string         `json:"fileSha256"`
	CreatedBy     string         `json:"createdBy"`
	CreatedAt     int64          `json:"createdAt"`
	ModifiedAt    int64          `json:"modifiedAt"`
	Categories    []categoryJSON `json:"categories"`
	Targets       []targetJSON   `json:"targets"`
	RequiredCount int            `json:"requiredTargets"`
}

func appOut(v apps.View) appItemJSON {
	a := v.App
	out := appItemJSON{ID: a.ID, TenantID: a.TenantID, Platform: a.Platform, Source: a.Source, BundleID: a.BundleID, Name: a.Name,
		Version: a.Version, BuildNumber: a.BuildNumber, IconURL: a.IconURL, Description: a.Description, StoreID: a.StoreID,
		FileName: a.FileName, FileSize: a.FileSize, FileSHA256: a.FileSHA256, CreatedBy: a.CreatedBy,
		CreatedAt: millis(a.CreatedAt), ModifiedAt: millis(a.ModifiedAt), Categories: categoriesOut(v.Categories),
		Targets: distributionOut(v.Targets).Targets}
	for _, t := range v.Targets {
		if t.Required {
			out.RequiredCount++
		}
	}
	return out
}

// catalogAppJSON is one app of a catalog.
type catalogAppJSON struct {
	ID          mdm.AppID      `json:"id"`
	Platform    string         `json:"platformType"`
	Source      string         `json:"source"`
	BundleID    string         `json:"bundleId"`
	Name        string         `json:"name"`
	Version     string         `json:"version"`
	IconURL     string         `json:"iconUrl"`
	Description string         `json:"description"`
	StoreID     string         `json:"itunesStoreId"`
	Required    bool           `json:"required"`
	Categories  []categoryJSON `json:"categories"`
	// DownloadURL is where an agent fetches an in-house Android app (with its device credential); "" otherwise.
	DownloadURL string `json:"downloadUrl,omitempty"`
}

type catalogJSON struct {
	Apps       []catalogAppJSON `json:"apps"`
	Categories []categoryJSON   `json:"categories"`
}

func catalogOut(c *apps.Catalog, agent bool) catalogJSON {
	out := catalogJSON{Apps: make([]catalogAppJSON, 0, len(c.Apps)), Categories: categoriesOut(c.Categories)}
	for _, e := range c.Apps {
		a := e.App
		j := catalogAppJSON{ID: a.ID, Platform: a.Platform, Source: a.Source, BundleID: a.BundleID, Name: a.Name, Version: a.Version,
			IconURL: a.IconURL, Description: a.Description, StoreID: a.StoreID, Required: e.Required, Categories: categoriesOut(e.Categories)}
		if agent && a.Source == mdm.AppInHouse && a.Platform == mdm.PlatformAndroid {
			j.DownloadURL = "/api/agent/v1/apps/" + strconv.FormatInt(int64(a.ID), 10) + "/file"
		}
		out.Apps = append(out.Apps, j)
	}
	return out
}

type versionJSON struct {
	Version     string `json:"version"`
	DeviceCount int    `json:"deviceCount"`
}

type inventoryAppJSON struct {
	Platform     string        `json:"platformType"`
	BundleID     string        `json:"bundleId"`
	Name         string        `json:"name"`
	DeviceCount  int           `json:"deviceCount"`
	Versions     []versionJSON `json:"versions"`
	Managed      bool          `json:"managed"`
	ManagedAppID mdm.AppID     `json:"managedAppId,omitempty"`
}

func inventoryAppOut(a mdm.InventoryApp) inventoryAppJSON {
	out := inventoryAppJSON{Platform: a.Platform, BundleID: a.AppID, Name: a.Name, DeviceCount: a.DeviceCount,
		Versions: make([]versionJSON, 0, len(a.Versions)), Managed: a.ManagedID != 0, ManagedAppID: a.ManagedID}
	for _, v := range a.Versions {
		out.Versions = append(out.Versions, versionJSON(v))
	}
	return out
}

type inventoryDeviceJSON struct {
	DeviceID   mdm.DeviceID `json:"id"`
	DeviceName string       `json:"deviceName"`
	Model      string       `json:"deviceModel"`
	Platform   string       `json:"platformType"`
	State      string       `json:"registrationState"`
	UID        string       `json:"uid"`
	Version    string       `json:"version"`
}

func inventoryDeviceOut(d mdm.InventoryDevice) inventoryDeviceJSON {
	return inventoryDeviceJSON{DeviceID: d.DeviceID, DeviceName: d.DeviceName, Model: d.Model, Platform: d.Platform,
		State: d.State, UID: d.OwnerUsername, Version: d.Version}
}

// platformParam reads an optional platformType query parameter (IOS or ANDROID, any case).
func platformParam(r *http.Request) (string, error) {
	s := r.URL.Query().Get("platformType")
	if s == "" {
		return "", nil
	}
	p, ok := apps.Platform(s)
	if !ok {
		return "", mdm.FieldErrors(mdm.FieldError{Code: "Enum", Field: "platformType", Message: "must be IOS or ANDROID"})
	}
	return p, nil
}

// idParam reads an optional positive integer query parameter (0 when absent).
func idParam(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: name, Message: "must be a positive whole number"})
	}
	return n, nil
}

var catalogParams = []Param{
	{"platformType", "string", "IOS or ANDROID: only that platform's apps (default: both)"},
	{"categoryId", "integer", "only apps of this app category"},
}

func (a *API) appRoutes() {
	a.add(Route{Method: "GET", Path: "/api/v1/apps", Tag: appsTag, Needs: authz.AppRead,
		Summary:     "List apps",
		Description: "The tenant's app list with each app's categories and targets. Filter and sort fields: " + fieldList(mdm.AppFields) + "; q matches name, bundle id and description.",
		Query:       listParams, Result: appItemJSON{}, List: true},
		listHandler(mdm.AppFields, nil, a.apps.List, appOut))

	a.add(Route{Method: "POST", Path: "/api/v1/apps", Tag: appsTag, Needs: authz.AppManage,
		Summary: "Add a public store app",
		Description: "platformType (IOS or ANDROID), bundleId (bundle id or package name, unique per platform) and name " +
			"are required; iconUrl, description, itunesStoreId (iOS: needed to install it by command), categories (app " +
			"category ids) and targets (as PUT …/distribution takes them: required apps are installed automatically on " +
			"the devices reached) are optional. Creating a required app queues INSTALL_APPLICATION to the devices it reaches.",
		Body: apps.AppInput{}, Result: appItemJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in apps.AppInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			v, err := a.apps.Create(r.Context(), in)
			if err != nil {
				return err
			}
			return ok(w, appOut(*v))
		})

	a.add(Route{Method: "POST", Path: "/api/v1/apps/inhouse", Tag: appsTag, Needs: authz.AppManage, Multipart: true,
		Summary: "Add an in-house app by uploading its .ipa or .apk",
		Description: "multipart/form-data with the binary in the part named file and, optionally, the fields of POST " +
			"/api/v1/apps (indexed names for targets: targets[0].type). The platform, bundle id or package name and the " +
			"version are read from the binary (an .ipa's Payload/*.app/Info.plist, an .apk's binary AndroidManifest.xml); " +
			"platformType and bundleId, when given, must agree with it. The name defaults to the binary's display name. " +
			"The file may be at most " + strconv.FormatInt(a.apps.MaxFile()>>20, 10) + " MiB.",
		Body: apps.AppInput{}, Result: appItemJSON{}},
		a.createInHouse)

	a.add(Route{Method: "GET", Path: "/api/v1/apps/{id}", Tag: appsTag, Needs: authz.AppRead,
		Summary: "Get an app", Result: appItemJSON{}},
		getHandler("app", a.apps.Get, appOut))

	a.add(Route{Method: "PUT", Path: "/api/v1/apps/{id}", Tag: appsTag, Needs: authz.AppManage,
		Summary:     "Change an app",
		Description: "name, description, iconUrl, itunesStoreId, categories and targets, each when given. platformType and bundleId cannot change.",
		Body:        apps.AppInput{}, Result: appItemJSON{}},
		updateHandler("app", a.apps.Update, appOut))

	a.add(Route{Method: "DELETE", Path: "/api/v1/apps/{id}", Tag: appsTag, Needs: authz.AppManage,
		Summary:     "Delete an app",
		Description: "Removes the app, its distribution, categories and binary, and queues REMOVE_APPLICATION to the devices Steward installed it on."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.AppID](r, "app")
			if err != nil {
				return err
			}
			if err := a.apps.Delete(r.Context(), id); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/apps/{id}/distribution", Tag: appsTag, Needs: authz.AppRead,
		Summary: "Get who an app is distributed to", Result: distributionJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.AppID](r, "app")
			if err != nil {
				return err
			}
			v, err := a.apps.Get(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, distributionOut(v.Targets))
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/apps/{id}/distribution", Tag: appsTag, Needs: authz.AppManage,
		Summary: "Set who an app is distributed to",
		Description: "The complete list of targets (ALL_USERS, USER_GROUP with id, DEVICE_GROUP with id), each required " +
			"(installed automatically) or optional (shown in the App Catalog); an empty list distributes the app to nobody. " +
			"Devices newly reached by a required target get INSTALL_APPLICATION (once: not while one is open, not when the " +
			"app is installed); devices Steward installed the app on that no target reaches any more get REMOVE_APPLICATION.",
		Body: distributionInput{}, Result: distributionJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.AppID](r, "app")
			if err != nil {
				return err
			}
			if _, err := a.apps.Get(r.Context(), id); err != nil { // 404 before judging the body
				return err
			}
			ds, err := a.decodeDistribution(w, r, mdm.ItemApp)
			if err != nil {
				return err
			}
			v, err := a.apps.SetDistribution(r.Context(), id, ds)
			if err != nil {
				return err
			}
			return ok(w, distributionOut(v.Targets))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/apps/{id}/file", Tag: appsTag, Needs: authz.AppRead,
		Summary:     "Download an in-house app's binary",
		Description: "The uploaded .ipa or .apk (application/octet-stream); 404 for a public app."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.AppID](r, "app")
			if err != nil {
				return err
			}
			app, f, size, err := a.apps.Binary(r.Context(), id)
			if err != nil {
				return err
			}
			defer f.Close()
			serveBinary(w, r, app, f, size)
			return nil
		})

	a.add(Route{Method: "GET", Path: "/api/v1/appcatalog", Tag: "App Catalog", Needs: authz.AppRead,
		Summary: "The App Catalog of a user (catalog as user X)",
		Description: "The apps distributed to the user (accountId, required): to All Users or to a user group the user is " +
			"in, optional and required, with their categories (for browsing). Device group targets reach devices, not " +
			"users: a device's catalog (the agent's GET /api/agent/v1/catalog) adds them.",
		Query:  append([]Param{{"accountId", "integer", "the user (required)"}}, catalogParams...),
		Result: catalogJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			f, err := catalogFilter(r)
			if err != nil {
				return err
			}
			id, err := idParam(r, "accountId")
			if err != nil {
				return err
			}
			if id == 0 {
				return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "accountId", Message: "is required"})
			}
			c, err := a.apps.CatalogFor(r.Context(), mdm.AccountID(id), f)
			if err != nil {
				return err
			}
			return ok(w, catalogOut(c, false))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/appinventory", Tag: "App Inventory", Needs: authz.AppRead,
		Summary: "The App Inventory: every app installed on the tenant's active devices",
		Description: "One row per platform and bundle id, by device count (most installed first): the name devices report, " +
			"the number of devices, each version with its device count, and whether the app is managed (in the app list, " +
			"managedAppId). q matches bundle id or name.",
		Query: []Param{listParams[0], listParams[1], listParams[4],
			{"platformType", "string", "IOS or ANDROID"}, {"managed", "boolean", "true: only managed apps; false: only unmanaged"}},
		Result: inventoryAppJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			opts, err := listOptions(r, mdm.FieldSet{})
			if err != nil {
				return err
			}
			q := mdm.InventoryQuery{Query: opts.Query, Start: opts.Start, Rows: opts.Rows}
			if q.Platform, err = platformParam(r); err != nil {
				return err
			}
			if s := r.URL.Query().Get("managed"); s != "" {
				b, err := boolParam(r, "managed")
				if err != nil {
					return err
				}
				q.Managed = &b
			}
			return listHandler(mdm.FieldSet{}, nil, func(ctx context.Context, _ mdm.ListOptions) (mdm.Page[mdm.InventoryApp], error) {
				return a.apps.Inventory(ctx, q)
			}, inventoryAppOut)(w, r)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/appinventory/devices", Tag: "App Inventory", Needs: authz.AppRead,
		Summary: "The devices that have an app installed (App Inventory drill-down)",
		Description: "bundleId (required) and platformType name the app. Paged, sorted and filtered over " +
			fieldList(apps.InventoryDeviceFields) + "; q matches device name, model and owner.",
		Query: append([]Param{{"bundleId", "string", "the app's bundle id or package name (required)"},
			{"platformType", "string", "IOS or ANDROID"}}, listParams...),
		Result: inventoryDeviceJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			platform, err := platformParam(r)
			if err != nil {
				return err
			}
			bundle := r.URL.Query().Get("bundleId")
			if bundle == "" || len(bundle) > 256 {
				return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "bundleId", Message: "is required (at most 256 characters)"})
			}
			return listHandler(apps.InventoryDeviceFields, nil, func(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.InventoryDevice], error) {
				return a.apps.InventoryDevices(ctx, platform, bundle, opts)
			}, inventoryDeviceOut)(w, r)
		})

	if a.agent == nil {
		return
	}
	a.add(Route{Method: "GET", Path: "/api/agent/v1/catalog", Tag: "Android agent", DeviceAuth: true,
		Summary: "The device's App Catalog",
		Description: agentAuth + "The Android apps distributed to the device's owner (All Users, user groups) or to its " +
			"device groups, required or optional, with their categories; categoryId narrows it to one category. An " +
			"in-house app carries downloadUrl (fetch it with the same credential).",
		Query: []Param{{"categoryId", "integer", "only apps of this app category"}}, Result: catalogJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			d, err := a.agent.Device(w, r)
			if err != nil {
				return err
			}
			cat, err := idParam(r, "categoryId")
			if err != nil {
				return err
			}
			c, err := a.apps.DeviceCatalog(r.Context(), d, mdm.CategoryID(cat))
			if err != nil {
				return err
			}
			return ok(w, catalogOut(c, true))
		})

	a.add(Route{Method: "GET", Path: "/api/agent/v1/apps/{id}/file", Tag: "Android agent", DeviceAuth: true,
		Summary:     "Download an in-house app of the device's catalog",
		Description: agentAuth + "The .apk (application/octet-stream). 404 for an app not in the device's catalog or without a file."},
		func(w http.ResponseWriter, r *http.Request) error {
			d, err := a.agent.Device(w, r)
			if err != nil {
				return err
			}
			id, err := pathID[mdm.AppID](r, "app")
			if err != nil {
				return err
			}
			app, f, size, err := a.apps.DeviceFile(r.Context(), d, id)
			if err != nil {
				return err
			}
			defer f.Close()
			serveBinary(w, r, app, f, size)
			return nil
		})
}

func catalogFilter(r *http.Request) (apps.CatalogFilter, error) {
	var f apps.CatalogFilter
	var err error
	if f.Platform, err = platformParam(r); err != nil {
		return f, err
	}
	cat, err := idParam(r, "categoryId")
	f.Category = mdm.CategoryID(cat)
	return f, err
}

func serveBinary(w http.ResponseWriter, r *http.Request, app *mdm.App, f apps.Blob, size int64) {
	name := app.FileName
	if name == "" {
		name = "app"
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, io.NewSectionReader(f, 0, size))
	}
}

// createInHouse reads the multipart upload: the fields into AppInput (indexed names as in form bodies),
// the part named file streamed to the service.
func (a *API) createInHouse(w http.ResponseWriter, r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "file",
			Message: "send multipart/form-data with the .ipa or .apk in the part named file"})
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.apps.MaxFile()+form.MaxBody)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			e := mdm.FieldErrors(mdm.FieldError{Code: "Size", Field: "file",
				Message: "is larger than the largest file accepted (" + strconv.FormatInt(a.apps.MaxFile()>>20, 10) + " MiB)"})
			e.Err = tooBig // answered 413
			return e
		}
		return mdm.Wrap(mdm.Invalid, err, "malformed multipart body")
	}
	defer r.MultipartForm.RemoveAll()
	var in apps.AppInput
	values := r.MultipartForm.Value
	for k := range values {
		if strings.TrimSpace(k) == "" {
			delete(values, k)
		}
	}
	if err := form.Values(values, &in); err != nil {
		return err
	}
	files := r.MultipartForm.File["file"]
	if len(files) != 1 {
		return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "file", Message: "exactly one .ipa or .apk is required"})
	}
	f, err := files[0].Open()
	if err != nil {
		return mdm.Wrap(mdm.Invalid, err, "the upload could not be read")
	}
	defer f.Close()
	v, err := a.apps.CreateInHouse(r.Context(), in, apps.Upload{FileName: files[0].Filename, Body: f})
	if err != nil {
		return err
	}
	return ok(w, appOut(*v))
}
