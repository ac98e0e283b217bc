package server

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConfigurationInChromium: a Tenant Admin creates a Wi-Fi configuration through its form (a
// refused password first), distributes it to All Devices, and sees a simulated Android device report
// it installed on the configuration's page, which refreshes itself; the list shows the count. Set
// STEWARD_SCREENSHOTS to a directory to keep screenshots.
func TestConfigurationInChromium(t *testing.T) {
	ctx := chromium(t)
	s, ts := startConsole(t)
	stop := s.Background()
	t.Cleanup(stop)
	_, hooli := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	dev := simDevice(t, s, ts, hooli, "ann@hooli.example.com")

	run := steps(t, ctx)
	var fieldError, flashText string
	run("sign in, open Configurations, start a Wi-Fi configuration and leave out the password",
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "gavin@hooli.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav a[href="/console/configurations"]`, chromedp.ByQuery),
		chromedp.Click(`nav a[href="/console/configurations"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-WIFI`, chromedp.ByQuery),
		chromedp.Click(`#new-WIFI`, chromedp.ByQuery),
		chromedp.WaitVisible(`[id="f-attributes.ssid"]`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-name`, "Office Wi-Fi", chromedp.ByQuery),
		chromedp.SendKeys(`[id="f-attributes.ssid"]`, "Hooli-Office", chromedp.ByQuery),
		chromedp.Click(`#save-configuration`, chromedp.ByQuery),
		chromedp.WaitVisible(`.field-error`, chromedp.ByQuery),
		chromedp.Text(`.field-error`, &fieldError, chromedp.ByQuery),
		screenshot("steward-configuration-refused.png"),
	)
	if !strings.Contains(fieldError, "required for WPA2") {
		t.Errorf("field error %q, want the password required", fieldError)
	}
	run("give the password and create it",
		chromedp.SendKeys(`[id="f-attributes.password"]`, "office-pw-123", chromedp.ByQuery),
		chromedp.Click(`#save-configuration`, chromedp.ByQuery),
		chromedp.WaitVisible(`#config-distribution`, chromedp.ByQuery),
		chromedp.Text(`#flash`, &flashText, chromedp.ByQuery),
	)
	if !strings.Contains(flashText, "created") {
		t.Errorf("flash %q", flashText)
	}
	var body string
	run("read the page", chromedp.OuterHTML(`body`, &body, chromedp.ByQuery))
	if strings.Contains(body, "office-pw-123") {
		t.Fatal("the page shows the saved password")
	}
	run("distribute it to All Devices",
		chromedp.Click(`input[name=target][data-label="All Devices"]`, chromedp.ByQuery),
		chromedp.Click(`#save-distribution`, chromedp.ByQuery),
		// Clicking sets the box's property, not its attribute: only the saved page has checked in its HTML.
		chromedp.WaitVisible(`input[name=target][data-label="All Devices"][checked]`, chromedp.ByQuery),
		chromedp.Evaluate(`window.stewardMarker = "config page"`, nil),
	)
	// The reconciler queues the configuration and wakes the device; this simulated device has no push
	// channel, so it checks in as it would on its own interval.
	deadline := time.Now().Add(20 * time.Second)
	for len(dev.State().Configurations) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the device never received the configuration")
		}
		if err := dev.CheckIn(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := dev.CheckIn(t.Context()); err != nil { // delivers the answer if the first round did not
		t.Fatal(err)
	}
	var status, marker, counts string
	run("see it installed without reloading",
		chromedp.WaitVisible(`#config-device-list tr[data-status="INSTALLED"]`, chromedp.ByQuery),
		chromedp.Text(`#config-device-list tr[data-status="INSTALLED"] [data-testid="delivery-status"]`, &status, chromedp.ByQuery),
		chromedp.Text(`#config-counts`, &counts, chromedp.ByQuery),
		chromedp.Evaluate(`window.stewardMarker || ""`, &marker),
		screenshot("steward-configuration-installed.png"),
	)
	if status != "Installed" || marker != "config page" || !strings.HasPrefix(counts, "1 installed") {
		t.Errorf("status %q, counts %q, marker %q", status, counts, marker)
	}
	run("the device's page lists the configuration as installed",
		chromedp.Click(`#config-device-list tr[data-status="INSTALLED"] a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#device-configurations tr[data-status="INSTALLED"]`, chromedp.ByQuery),
		screenshot("steward-device-configurations.png"),
	)
	var row string
	run("the list counts it",
		chromedp.Click(`nav a[href="/console/configurations"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#configuration-list tr[data-name="Office Wi-Fi"]`, chromedp.ByQuery),
		chromedp.Text(`#configuration-list tr[data-name="Office Wi-Fi"]`, &row, chromedp.ByQuery),
		screenshot("steward-configurations.png"),
	)
	if !strings.Contains(row, "1 of 1") || !strings.Contains(row, "Wi-Fi") {
		t.Errorf("list row %q", row)
	}
	var heading string
	run("delete it after confirming",
		chromedp.Click(`#configuration-list tr[data-name="Office Wi-Fi"] a.cell-title`, chromedp.ByQuery),
		chromedp.WaitVisible(`#delete-configuration`, chromedp.ByQuery),
		chromedp.Click(`#delete-configuration`, chromedp.ByQuery),
		chromedp.WaitVisible(`#confirm`, chromedp.ByQuery),
		chromedp.Text(`#confirm-heading`, &heading, chromedp.ByQuery),
		chromedp.Click(`#confirm`, chromedp.ByQuery),
		chromedp.WaitVisible(`#configuration-list`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`#configuration-list tr[data-name="Office Wi-Fi"]`, chromedp.ByQuery),
	)
	if !strings.Contains(heading, "Office Wi-Fi") {
		t.Errorf("confirmation %q", heading)
	}
}
