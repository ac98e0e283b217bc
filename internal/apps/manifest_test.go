package apps_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"steward/internal/apps"
	"steward/internal/apps/appstest"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// TestManifestToken: a manifest token opens exactly the app, tenant and device it names while the
// device is active and the app unchanged, until it expires; a forged, tampered or foreign one opens nothing.
func TestManifestToken(t *testing.T) {
	f := setup(t)
	keys, err := secret.New(secret.RandomKey())
	f.must("keys", err)
	clock := now
	svc := apps.New(f.store, f.blobs, slog.New(slog.NewTextHandler(io.Discard, nil)), apps.WithClock(func() time.Time { return clock }),
		apps.WithBaseURL("https://mdm.example.com"), apps.WithKeys(keys))
	ann := f.account("t-1", "ann@a.example.com")
	iphone := f.device("t-1", ann, mdm.PlatformIOS)
	ipad := f.device("t-1", ann, mdm.PlatformIOS)
	android := f.device("t-1", ann, mdm.PlatformAndroid)
	stranger := f.device("t-2", nil, mdm.PlatformIOS)
	ipa := appstest.IPA("com.a.field", "Field", "2.0", "20")
	v, err := svc.CreateInHouse(f.admin("t-1"), apps.AppInput{}, apps.Upload{FileName: "field.ipa", Body: bytes.NewReader(ipa)})
	f.must("CreateInHouse", err)
	a := &v.App
	public, err := svc.Create(f.admin("t-1"), apps.AppInput{Platform: str("IOS"), BundleID: str("com.a.store"), Name: str("Store"), StoreID: str("1")})
	f.must("Create", err)

	refused := func(what, token string) {
		t.Helper()
		if _, err := svc.ManifestApp(f.ctx, token); mdm.ErrorCode(err) != mdm.NotFound {
			t.Errorf("%s: %v, want NotFound", what, err)
		}
		if _, _, _, err := svc.ManifestFile(f.ctx, token); mdm.ErrorCode(err) != mdm.NotFound {
			t.Errorf("%s: file %v, want NotFound", what, err)
		}
	}
	token := svc.ManifestToken("t-1", a, iphone.ID)
	got, err := svc.ManifestApp(f.ctx, token)
	if err != nil || got.ID != a.ID {
		t.Fatalf("ManifestApp = %v, %v", got, err)
	}
	_, blob, size, err := svc.ManifestFile(f.ctx, token)
	f.must("ManifestFile", err)
	b, _ := io.ReadAll(blob)
	blob.Close()
	if size != int64(len(ipa)) || !bytes.Equal(b, ipa) {
		t.Error("the file is not the uploaded .ipa")
	}
	if u := svc.ManifestURL("t-1", a, iphone.ID); !strings.HasPrefix(u, "https://mdm.example.com/mdm/apple/apps/") || !strings.HasSuffix(u, "/manifest.plist") {
		t.Errorf("manifest URL %s", u)
	}
	if strings.Contains(token, "t-1") || strings.Contains(token, "com.a.field") {
		t.Error("the token is readable")
	}

	// Forged and tampered.
	refused("empty", "")
	refused("garbage", "not-a-token")
	refused("long", strings.Repeat("A", 5000))
	tampered := []byte(token)
	tampered[len(tampered)/2] ^= 1
	refused("tampered", string(tampered))
	other, _ := secret.New(secret.RandomKey())
	forger := apps.New(f.store, f.blobs, nil, apps.WithClock(func() time.Time { return clock }), apps.WithKeys(other))
	refused("another server's key", forger.ManifestToken("t-1", a, iphone.ID))
	sealed := base64Seal(keys, map[string]any{"t": "t-1", "a": a.ID, "s": a.FileSHA256, "d": iphone.ID, "e": clock.Add(time.Hour).Unix()})
	refused("sealed without the purpose", sealed)

	// Another app, tenant or device.
	refused("public app", svc.ManifestToken("t-1", &public.App, iphone.ID))
	refused("other tenant", svc.ManifestToken("t-2", a, stranger.ID))
	refused("device of another tenant", svc.ManifestToken("t-1", a, stranger.ID))
	refused("android device", svc.ManifestToken("t-1", a, android.ID))
	refused("unknown device", svc.ManifestToken("t-1", a, 99999))
	changed := *a
	changed.FileSHA256 = strings.Repeat("0", 64)
	refused("another binary", svc.ManifestToken("t-1", &changed, iphone.ID))

	// Expired.
	clock = now.Add(apps.ManifestTTL + time.Second)
	refused("expired", token)
	clock = now.Add(apps.ManifestTTL - time.Second)
	if _, err := svc.ManifestApp(f.ctx, token); err != nil {
		t.Errorf("before expiry: %v", err)
	}

	// Retired device; deleted app.
	ipadToken := svc.ManifestToken("t-1", a, ipad.ID)
	_, err = f.store.Devices().SetState(f.ctx, "t-1", []mdm.DeviceID{iphone.ID}, []string{mdm.StateActive}, mdm.StateRetired, now)
	f.must("retire", err)
	refused("retired device", token)
	f.must("Delete", svc.Delete(f.admin("t-1"), a.ID))
	refused("deleted app", ipadToken)
}

func base64Seal(k *secret.Keys, claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(k.Seal(b))
}

// TestDeliverInHouseIOS: a required in-house iOS app queues one install per device, each with its own
// manifest URL; without an https base URL it queues nothing.
func TestDeliverInHouseIOS(t *testing.T) {
	f := setup(t)
	keys, err := secret.New(secret.RandomKey())
	f.must("keys", err)
	ann := f.account("t-1", "ann@a.example.com")
	a1 := f.device("t-1", ann, mdm.PlatformIOS)
	a2 := f.device("t-1", ann, mdm.PlatformIOS)
	required := []apps.TargetInput{{Type: "ALL_USERS", Required: true}}
	plain := apps.New(f.store, f.blobs, nil, apps.WithClock(func() time.Time { return now }),
		apps.WithBaseURL("http://mdm.example.com"), apps.WithKeys(keys))
	v, err := plain.CreateInHouse(f.admin("t-1"), apps.AppInput{Targets: &required}, apps.Upload{FileName: "field.ipa",
		Body: bytes.NewReader(appstest.IPA("com.a.field", "Field", "2.0", "20"))})
	f.must("CreateInHouse", err)
	if n := len(f.open(mdm.CmdInstallApp)); n != 0 {
		t.Fatalf("%d installs queued with an http base URL", n)
	}
	svc := apps.New(f.store, f.blobs, nil, apps.WithClock(func() time.Time { return now }),
		apps.WithBaseURL("https://mdm.example.com"), apps.WithKeys(keys))
	ds, err := f.store.Distributions().ForItem(f.ctx, "t-1", mdm.ItemApp, int64(v.App.ID))
	f.must("ForItem", err)
	d, err := svc.Deliver(f.ctx, "t-1", &v.App, ds)
	f.must("Deliver", err)
	installs := f.open(mdm.CmdInstallApp)
	if d.Installs != 2 || len(installs) != 2 {
		t.Fatalf("delivery %+v, installs %v", d, installs)
	}
	urls := map[string]bool{}
	for _, id := range []mdm.DeviceID{a1.ID, a2.ID} {
		var p map[string]string
		f.must("payload", json.Unmarshal([]byte(installs[id]["payload"]), &p))
		u := p["manifestUrl"]
		token := strings.TrimSuffix(strings.TrimPrefix(u, "https://mdm.example.com"+apps.ManifestPrefix), "/manifest.plist")
		if p["identifier"] != "com.a.field" || token == u {
			t.Fatalf("payload %v", p)
		}
		if _, err := svc.ManifestApp(f.ctx, token); err != nil {
			t.Errorf("the queued token: %v", err)
		}
		urls[u] = true
	}
	if len(urls) != 2 {
		t.Error("two devices share a manifest URL")
	}
}
