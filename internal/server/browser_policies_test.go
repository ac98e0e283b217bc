package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPoliciesInChromium: a Tenant Admin creates a Compromised device policy that quarantines in the
// console; a simulated device that turns rooted is quarantined at its check-in (the Policies page and
// the device's page say so), and released when it is fixed.
func TestPoliciesInChromium(t *testing.T) {
	ctx := chromium(t)
	s, ts := startConsole(t)
	_, hooli := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	dev := simDevice(t, s, ts, hooli, "ann@hooli.example.com")
	id := strconv.FormatInt(dev.State().DeviceID, 10)
	run := steps(t, ctx)
	run("sign in",
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "gavin@hooli.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav a[href="/console/policies"]`, chromedp.ByQuery),
	)
	var errText string
	run("a custom rule that does not parse is refused with its position",
		chromedp.Click(`nav a[href="/console/policies"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#policy-create`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-name`, "Broken", chromedp.ByQuery),
		chromedp.SetValue(`#f-type`, "CUSTOM", chromedp.ByQuery),
		chromedp.SendKeys(`#f-rule`, "jailbroken = ", chromedp.ByQuery),
		chromedp.Click(`#create-policy`, chromedp.ByQuery),
		chromedp.WaitVisible(`#f-rule-error`, chromedp.ByQuery),
		chromedp.Text(`#f-rule-error`, &errText, chromedp.ByQuery),
	)
	if !strings.Contains(strings.ToLower(errText), "at 13") {
		t.Errorf("rule error %q names no position", errText)
	}
	run("create a quarantining policy",
		chromedp.Navigate(ts.URL+"/console/policies"),
		chromedp.WaitVisible(`#policy-create`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-name`, "Rooted", chromedp.ByQuery),
		chromedp.SetValue(`#f-type`, "COMPROMISED", chromedp.ByQuery),
		chromedp.Click(`#f-quarantine`, chromedp.ByQuery),
		chromedp.Click(`#create-policy`, chromedp.ByQuery),
		chromedp.WaitVisible(`#policy-list tr[data-name="Rooted"]`, chromedp.ByQuery),
	)

	dev.SetRooted(true)
	if err := dev.CheckIn(t.Context()); err != nil {
		t.Fatal(err)
	}
	var violated string
	run("the rooted device is quarantined",
		chromedp.Navigate(ts.URL+"/console/policies"),
		chromedp.WaitVisible(`#quarantined-list tr[data-id="`+id+`"]`, chromedp.ByQuery),
		chromedp.Navigate(ts.URL+"/console/devices/"+id),
		chromedp.WaitVisible(`.tag`, chromedp.ByQuery),
		chromedp.Text(`main`, &violated, chromedp.ByQuery),
	)
	if !strings.Contains(violated, "Rooted") {
		t.Errorf("device page does not name the violated policy")
	}

	dev.SetRooted(false)
	if err := dev.CheckIn(t.Context()); err != nil {
		t.Fatal(err)
	}
	var empty string
	run("the fixed device is released",
		chromedp.Navigate(ts.URL+"/console/policies"),
		chromedp.WaitVisible(`#quarantined-list`, chromedp.ByQuery),
		chromedp.Text(`#quarantined-list tbody`, &empty, chromedp.ByQuery),
	)
	if !strings.Contains(empty, "No device is quarantined") {
		t.Errorf("quarantined list after the fix: %q", empty)
	}
}
