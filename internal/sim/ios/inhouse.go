package ios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/micromdm/plist"
)

// Bounds of an in-house app install.
const (
	maxManifest    = 64 << 10
	maxIPA         = 512 << 20
	installTimeout = 2 * time.Minute
)

// installFromManifest installs an in-house app as iOS does: it fetches the manifest, reads the app's
// bundle id and version, downloads the .ipa the manifest names and adds the app to the installed list
// (replacing an older version), so that the next InstalledApplicationList reports it.
func (d *Device) installFromManifest(manifestURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	body, err := d.fetch(ctx, manifestURL, maxManifest, true)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	var m struct {
		Items []struct {
			Assets []struct {
				Kind string `plist:"kind"`
				URL  string `plist:"url"`
			} `plist:"assets"`
			Metadata struct {
				BundleID string `plist:"bundle-identifier"`
				Version  string `plist:"bundle-version"`
				Title    string `plist:"title"`
			} `plist:"metadata"`
		} `plist:"items"`
	}
	if err := plist.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if len(m.Items) == 0 || m.Items[0].Metadata.BundleID == "" {
		return errors.New("manifest: no app")
	}
	item := m.Items[0]
	ipa := ""
	for _, a := range item.Assets {
		if a.Kind == "software-package" {
			ipa = a.URL
		}
	}
	if ipa == "" {
		return errors.New("manifest: no software-package asset")
	}
	if _, err := d.fetch(ctx, ipa, maxIPA, false); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	app := App{Identifier: item.Metadata.BundleID, Name: item.Metadata.Title, ShortVersion: item.Metadata.Version,
		Version: item.Metadata.Version}
	d.apps = slices.DeleteFunc(d.apps, func(a App) bool { return a.Identifier == app.Identifier })
	d.apps = append(d.apps, app)
	return nil
}

// fetch GETs u with the device's client and returns its 200 answer (kept when keep, else only counted),
// refusing one of more than limit bytes.
func (d *Device) fetch(ctx context.Context, u string, limit int64, keep bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: status %d", res.StatusCode)
	}
	if res.ContentLength > limit {
		return nil, errors.New("too large")
	}
	var buf bytes.Buffer
	var w io.Writer = io.Discard
	if keep {
		w = &buf
	}
	n, err := io.Copy(w, io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errors.New("too large")
	}
	return buf.Bytes(), nil
}
