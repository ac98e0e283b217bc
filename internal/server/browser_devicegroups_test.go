package server

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDeviceGroupsInChromium: a Tenant Admin reaches Device groups and Categories from the top bar,
// creates a dynamic device group (the rule field appears with the choice) and an app category. Set
// STEWARD_SCREENSHOTS to a directory to keep screenshots of the pages.
func TestDeviceGroupsInChromium(t *testing.T) {
	ctx := chromium(t)
	s, ts := startConsole(t)
	consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	run := steps(t, ctx)
	run("sign in",
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "gavin@hooli.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav a[href="/console/devicegroups"]`, chromedp.ByQuery),
	)
	var ruleShown bool
	run("open Device groups and pick Dynamic",
		chromedp.Click(`nav a[href="/console/devicegroups"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#device-group-list tr[data-name="All Devices"][data-builtin]`, chromedp.ByQuery),
		chromedp.Evaluate(`getComputedStyle(document.querySelector(".rule-field")).display !== "none"`, &ruleShown),
	)
	if ruleShown {
		t.Error("the rule field shows for a static group")
	}
	run("create a dynamic group",
		chromedp.SendKeys(`#f-name`, "Tablets", chromedp.ByQuery),
		chromedp.Click(`#kind-dynamic`, chromedp.ByQuery),
		chromedp.WaitVisible(`#f-rule`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-rule`, "deviceKind=IPAD or deviceKind=ANDROID_TABLET", chromedp.ByQuery),
		screenshot("steward-devicegroups.png"),
		chromedp.Click(`#create-device-group`, chromedp.ByQuery),
		chromedp.WaitVisible(`#device-group-rule`, chromedp.ByQuery),
		screenshot("steward-devicegroup.png"),
	)
	var rule string
	run("read the rule", chromedp.Text(`#device-group-rule`, &rule, chromedp.ByQuery))
	if rule != "deviceKind=IPAD or deviceKind=ANDROID_TABLET" {
		t.Errorf("rule shown: %q", rule)
	}
	var names string
	run("add an app category",
		chromedp.Click(`nav a[href="/console/categories"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#category-create`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-name`, "Productivity", chromedp.ByQuery),
		chromedp.Click(`#create-category`, chromedp.ByQuery),
		chromedp.WaitVisible(`#app-category-list tr[data-name="Productivity"]`, chromedp.ByQuery),
		chromedp.Text(`#content-category-list`, &names, chromedp.ByQuery),
		screenshot("steward-categories.png"),
	)
	if strings.Contains(names, "Productivity") {
		t.Error("an app category shows among the content categories")
	}
}
