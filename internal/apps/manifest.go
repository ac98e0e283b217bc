package apps

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// ManifestTTL is how long an in-house iOS app's manifest and .ipa URLs work after the install was queued.
const ManifestTTL = 7 * 24 * time.Hour

// ManifestPrefix is the path under which in-house iOS apps are served to devices:
// ManifestPrefix+<token>+"/manifest.plist" and ManifestPrefix+<token>+"/app.ipa".
const ManifestPrefix = "/mdm/apple/apps/"

// WithKeys sets the server keys that seal the tokens of in-house iOS app URLs; without them in-house
// iOS apps are not delivered.
func WithKeys(k *secret.Keys) Option { return func(s *Service) { s.keys = k } }

// WithPayloadSealer seals each device's manifest URL in its queued INSTALL_APPLICATION (the URL's token
// is a credential), so the command queue never holds it readable; the queue opens it for delivery.
func WithPayloadSealer(seal func(string) string) Option {
	return func(s *Service) { s.sealPayload = seal }
}

// manifestPurpose separates these tokens from anything else the same keys seal.
const manifestPurpose = "steward ios app v1"

// manifestClaims is what a token names: one app (at one binary) for one device of one tenant, until Exp.
type manifestClaims struct {
	Purpose string       `json:"p"`
	Tenant  mdm.TenantID `json:"t"`
	App     mdm.AppID    `json:"a"`
	SHA256  string       `json:"s"`
	Device  mdm.DeviceID `json:"d"`
	Exp     int64        `json:"e"`
}

// manifestDelivery reports whether a is an in-house iOS app this server can have installed: iOS fetches
// the manifest over https only.
func (s *Service) manifestDelivery(a *mdm.App) bool {
	return a.Platform == mdm.PlatformIOS && a.Source == mdm.AppInHouse && a.FileKey != "" && s.keys != nil &&
		strings.HasPrefix(s.baseURL, "https://")
}

// ManifestToken returns the token of a's URLs for device id of tenantID. It is sealed (encrypted and
// authenticated) with the server keys, so it can be neither forged nor read; the command queue keeps it
// only sealed (WithPayloadSealer).
func (s *Service) ManifestToken(tenantID mdm.TenantID, a *mdm.App, id mdm.DeviceID) string {
	b, _ := json.Marshal(manifestClaims{Purpose: manifestPurpose, Tenant: tenantID, App: a.ID, SHA256: a.FileSHA256,
		Device: id, Exp: s.now().Add(ManifestTTL).Unix()})
	return base64.RawURLEncoding.EncodeToString(s.keys.Seal(b))
}

// ManifestURL is the URL of a's manifest for device id.
func (s *Service) ManifestURL(tenantID mdm.TenantID, a *mdm.App, id mdm.DeviceID) string {
	return s.baseURL + ManifestPrefix + s.ManifestToken(tenantID, a, id) + "/manifest.plist"
}

// IPAURL is the URL of the .ipa the manifest of token points at.
func (s *Service) IPAURL(token string) string { return s.baseURL + ManifestPrefix + token + "/app.ipa" }

// ManifestApp checks token and returns the app it names: the token must be one this server sealed, not
// expired, and name an app that still exists in its tenant, is an in-house iOS app with the same binary,
// and a device of that tenant that is still ACTIVE. Anything else is NotFound; a quarantined device is
// refused (forbidden).
func (s *Service) ManifestApp(ctx context.Context, token string) (*mdm.App, error) {
	notFound := mdm.Errorf(mdm.NotFound, "app not found")
	if s.keys == nil || len(token) > 1024 {
		return nil, notFound
	}
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, notFound
	}
	plain, err := s.keys.Open(sealed)
	if err != nil {
		return nil, notFound
	}
	var c manifestClaims
	if json.Unmarshal(plain, &c) != nil || c.Purpose != manifestPurpose || c.Tenant == "" || !s.now().Before(time.Unix(c.Exp, 0)) {
		return nil, notFound
	}
	a, err := s.store.Apps().Get(ctx, c.Tenant, c.App)
	if mdm.ErrorCode(err) == mdm.NotFound {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if a.TenantID != c.Tenant || a.Platform != mdm.PlatformIOS || a.Source != mdm.AppInHouse || a.FileKey == "" || a.FileSHA256 != c.SHA256 {
		return nil, notFound
	}
	d, err := s.store.Devices().Get(ctx, c.Tenant, c.Device)
	if mdm.ErrorCode(err) == mdm.NotFound {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if d.TenantID != c.Tenant || d.RegistrationState != mdm.StateActive || d.Platform != mdm.PlatformIOS {
		return nil, notFound
	}
	if err := notQuarantined(d); err != nil {
		return nil, err
	}
	return a, nil
}

// ManifestFile checks token as ManifestApp does and opens the app's .ipa.
func (s *Service) ManifestFile(ctx context.Context, token string) (*mdm.App, Blob, int64, error) {
	a, err := s.ManifestApp(ctx, token)
	if err != nil {
		return nil, nil, 0, err
	}
	return s.open(ctx, a.TenantID, a.ID)
}

// Manifest is the manifest plist of an app: what iOS reads to install an in-house app from ipaURL.
func Manifest(a *mdm.App, ipaURL string) map[string]any {
	return map[string]any{"items": []any{map[string]any{
		"assets": []any{map[string]any{"kind": "software-package", "url": ipaURL}},
		"metadata": map[string]any{"bundle-identifier": a.BundleID, "bundle-version": a.Version, "kind": "software",
			"title": a.Name},
	}}}
}
