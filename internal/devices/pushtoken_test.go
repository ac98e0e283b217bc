package devices_test

import (
	"testing"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// A push token the push service no longer knows is cleared only while it is still the stored one, and
// a device that reports the same token again afterwards gets it stored again, also when the token was
// cleared elsewhere (another replica) while this process had the device cached.
func TestDevicePushTokenDropIsConditionalAndLeavesNoStaleCache(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r := f.register(a, "P1") // push token "push-P1"
		id := r.Device.ID
		target := func(token string) devices.WakeTarget {
			return devices.WakeTarget{TenantID: "t-1", DeviceID: id, Platform: mdm.PlatformAndroid, PushToken: token}
		}
		token := func() string { return f.stored("t-1", id).PushToken }
		checkIn := func(tok string) {
			t.Helper()
			if _, err := f.svc.CheckIn(f.ctx, f.device(r.Credential), devices.CheckIn{PushToken: &tok}); err != nil {
				t.Fatalf("check-in: %v", err)
			}
		}

		f.device(r.Credential) // cached, carrying push-P1
		if err := f.svc.DropPushToken(f.ctx, target("push-old")); err != nil || token() != "push-P1" {
			t.Fatalf("dropping a token the device no longer has: %v; stored %q, want push-P1", err, token())
		}
		if err := f.svc.DropPushToken(f.ctx, target("push-P1")); err != nil || token() != "" {
			t.Fatalf("dropping the stored token: %v; stored %q, want none", err, token())
		}
		checkIn("push-P1")
		if token() != "push-P1" {
			t.Errorf("after the device reported its token again: stored %q, want push-P1", token())
		}

		// Another replica clears the token while this one has the device cached.
		f.device(r.Credential)
		if ok, err := f.store.Devices().ClearPushToken(f.ctx, "t-1", id, "push-P1", f.clock.now()); err != nil || !ok {
			t.Fatalf("ClearPushToken = %v, %v", ok, err)
		}
		if err := f.svc.DropPushToken(f.ctx, target("push-P1")); err != nil {
			t.Fatal(err)
		}
		checkIn("push-P1")
		if token() != "push-P1" {
			t.Errorf("after a token cleared elsewhere was reported again: stored %q, want push-P1", token())
		}

		// Another tenant's device of the same id keeps its token.
		b := f.user("t-2", "bo@globex.example.com", userPW)
		rb := f.register(b, "P2")
		if err := f.svc.DropPushToken(f.ctx, devices.WakeTarget{TenantID: "t-1", DeviceID: rb.Device.ID, PushToken: "push-P2"}); err != nil {
			t.Fatal(err)
		}
		if got := f.stored("t-2", rb.Device.ID).PushToken; got != "push-P2" {
			t.Errorf("dropping under the wrong tenant cleared t-2's token: %q", got)
		}
	})
}
