package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

func TestDeviceOutShape(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000)
	d := mdm.Device{ID: 7, GUID: "g", AccountID: 3, Platform: mdm.PlatformAndroid, Kind: mdm.KindAndroidPhone,
		RegistrationState: mdm.StateActive, PushToken: "secret-push-token", FactsHash: []byte("fh"), AppsHash: []byte("ah"),
		Facts:      mdm.DeviceFacts{Model: "Pixel 8", Jailbroken: true, TotalCapacityMB: 131072, AvailableCapMB: 1536},
		OwnerEmail: "ann@example.com", OwnerUsername: "ann@example.com", OwnerFirstName: "Ann", OwnerLastName: "Lee",
		CustomAttributes: map[string]string{"k": "v"}, RegisteredAt: at, CreatedAt: at, ModifiedAt: at}
	raw, err := json.Marshal(deviceOut(d, 42))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(raw, &got)
	for field, want := range map[string]any{
		"id": 7.0, "ownerId": 3.0, "lastCheckin": nil, "jailbroken": true, "totalCapacity": 128.0, "availableCapacity": 1.5,
		"displayName": "Ann Lee", "dmPartitionId": 42.0, "customAttributes": map[string]any{"attrs": map[string]any{"k": "v"}},
		"violatedPolicies": []any{}, "lastRegistrationTime": 1_700_000_000_000.0, "platformType": "ANDROID",
	} {
		if !cmp.Equal(got[field], want) {
			t.Errorf("%s = %#v, want %#v", field, got[field], want)
		}
	}
	for _, secret := range []string{"secret-push-token", "pushToken", "Hash"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("device JSON shows %q: %s", secret, raw)
		}
	}
	d.AccountID, d.LastCheckin = 0, at
	out := deviceOut(d, 42)
	if out.OwnerID != nil || out.LastCheckin == nil || *out.LastCheckin != at.UnixMilli() {
		t.Errorf("ownerless, checked-in device: ownerId %v lastCheckin %v", out.OwnerID, out.LastCheckin)
	}
}

func TestAttrValue(t *testing.T) {
	for in, want := range map[string]string{`"a"`: "a", `["b","c"]`: "b", `[]`: ""} {
		var v attrValue
		if err := json.Unmarshal([]byte(in), &v); err != nil || string(v) != want {
			t.Errorf("%s: %q %v, want %q", in, v, err, want)
		}
	}
	var v attrValue
	if err := json.Unmarshal([]byte(`5`), &v); err == nil {
		t.Error("a number was accepted")
	}
}
