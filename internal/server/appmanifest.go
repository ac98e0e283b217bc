package server

import (
	"net/http"
	"time"

	"github.com/micromdm/plist"

	"steward/internal/apps"
	"steward/internal/httpapi"
	"steward/internal/mdm"
)

// appManifestRoutes serves in-house iOS apps to devices: the manifest plist that an INSTALL_APPLICATION
// names and the .ipa it points at. iOS fetches both without credentials, so the path's token is the
// credential: sealed by the server, naming one app, one device and one tenant, expiring after
// apps.ManifestTTL. The access log records the route's pattern in place of the path, so never the
// token; the token gives access to that one app's binary only, for a week, and only while the device is
// active.
func (s *Server) appManifestRoutes(plain func(string, http.HandlerFunc)) {
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		if code := mdm.ErrorCode(err); code == mdm.Internal || code == mdm.Unavailable {
			s.writeError(w, r, err)
			return
		}
		http.NotFound(w, r)
	}
	plain("GET "+apps.ManifestPrefix+"{token}/manifest.plist", func(w http.ResponseWriter, r *http.Request) {
		token := r.PathValue("token")
		a, err := s.apps.ManifestApp(r.Context(), token)
		if err != nil {
			fail(w, r, err)
			return
		}
		b, err := plist.MarshalIndent(apps.Manifest(a, s.apps.IPAURL(token)), "\t")
		if err != nil {
			fail(w, r, mdm.Wrap(mdm.Internal, err, "manifest"))
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	})
	plain("GET "+apps.ManifestPrefix+"{token}/app.ipa", func(w http.ResponseWriter, r *http.Request) {
		_, f, _, err := s.apps.ManifestFile(r.Context(), r.PathValue("token"))
		if err != nil {
			fail(w, r, err)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, "app.ipa", time.Time{}, f)
	})
	s.api.AddOperational(
		httpapi.Route{Method: "GET", Path: apps.ManifestPrefix + "{token}/manifest.plist", Tag: "Apple MDM", File: true,
			Summary: "Manifest of an in-house iOS app queued for a device (XML plist)",
			Description: "No authentication: the token in the path, issued in the device's InstallApplication command, " +
				"names the app, the device and the tenant and expires after 7 days. 404 for a token that is not valid " +
				"or has expired, an app that is gone or changed, or a device that is no longer active."},
		httpapi.Route{Method: "GET", Path: apps.ManifestPrefix + "{token}/app.ipa", Tag: "Apple MDM", File: true,
			Summary:     "The .ipa of an in-house iOS app queued for a device (application/octet-stream, Range supported)",
			Description: "The URL its manifest names; the same token and the same 404s."},
	)
}
