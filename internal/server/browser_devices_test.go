package server

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"steward/internal/accounts"
	"steward/internal/mdm"
	"steward/internal/sim"
)

// chromium starts headless Chromium for a test and returns a context to run actions in (90 s at most).
// The test is skipped when Chromium is not installed, except in CI.
func chromium(t *testing.T) context.Context {
	t.Helper()
	const path = "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not installed")
		}
		t.Skip("chromium not installed; apt-get install chromium")
	}
	profile := t.TempDir()
	t.Cleanup(func() { removeEventually(t, profile) })
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 900),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	if err := chromedp.Run(browserCtx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, 90*time.Second)
	// Cleanups run last in, first out: the profile is removed after Chromium has closed.
	t.Cleanup(func() {
		cancel()
		// Close Chromium gracefully and wait for it, so that it stops writing to its profile first.
		closeCtx, cancelClose := context.WithTimeout(browserCtx, 10*time.Second)
		defer cancelClose()
		if err := chromedp.Cancel(closeCtx); err != nil {
			t.Logf("close chromium: %v", err)
		}
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

// simDevice registers a simulated Android device (internal/sim, over the agent protocol) for a new half
// account email of admin's tenant with a registration PIN, as the default setting asks, and checks it in
// once.
func simDevice(t *testing.T, s *Server, ts *httptest.Server, admin *mdm.Principal, email string) *sim.Device {
	t.Helper()
	ctx := mdm.WithPrincipal(t.Context(), admin)
	created, err := s.accounts.CreateAccounts(ctx, []accounts.NewAccount{{EmailAddress: email}}, false)
	if err != nil {
		t.Fatal(err)
	}
	pin, err := s.accounts.IssueRegistrationPIN(ctx, created[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	d := sim.NewDevice(ts.Client(), 42, sim.DeviceOptions{Model: 1})
	if err := d.Register(t.Context(), ts.URL, email, pin.PIN); err != nil {
		t.Fatalf("register a device for %s: %v", email, err)
	}
	if err := d.CheckIn(t.Context()); err != nil {
		t.Fatalf("check in %s's device: %v", email, err)
	}
	return d
}

// TestDeviceLockInChromium: a Tenant Admin finds a registered simulated device in the Devices list,
// opens it, locks it, and watches the command history turn from pending to acknowledged when the
// device checks in, without reloading the page. Set STEWARD_SCREENSHOTS to a directory to keep
// screenshots.
func TestDeviceLockInChromium(t *testing.T) {
	ctx := chromium(t)
	s, ts := startConsole(t)
	_, hooli := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	dev := simDevice(t, s, ts, hooli, "ann@hooli.example.com")
	id, name := dev.State().DeviceID, dev.State().Facts.DeviceName
	devPath := "/console/devices/" + strconv.FormatInt(id, 10)

	settled := chromedp.Poll(`!!window.htmx && document.readyState === "complete" && `+
		`document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") === null`, nil,
		chromedp.WithPollingTimeout(10*time.Second))
	run := steps(t, ctx)

	row := `#device-list tr[data-device-id="` + strconv.FormatInt(id, 10) + `"]`
	var rowText string
	run("sign in as the Tenant Admin and open Devices",
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "gavin@hooli.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav a[href="/console/devices"]`, chromedp.ByQuery),
		chromedp.Click(`nav a[href="/console/devices"]`, chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		settled,
		chromedp.Text(row, &rowText, chromedp.ByQuery),
		screenshot("steward-devices.png"),
	)
	for _, want := range []string{name, "ann@hooli.example.com", "Active", "Android"} {
		if !strings.Contains(rowText, want) {
			t.Errorf("the device's row %q lacks %q", rowText, want)
		}
	}

	sortedByCheckin := `#device-list th[aria-sort="descending"] a[href*="sort=lastCheckin"]`
	run("the state filter swaps the list in place and keeps the sort",
		chromedp.Evaluate(`window.stewardMarker = "same page"`, nil),
		chromedp.Click(`#device-list th a[href*="sort=lastCheckin"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#device-list th[aria-sort="ascending"] a[href*="sort=-lastCheckin"]`, chromedp.ByQuery),
		settled,
		chromedp.Click(`#device-list th a[href*="sort=-lastCheckin"]`, chromedp.ByQuery),
		chromedp.WaitVisible(sortedByCheckin, chromedp.ByQuery),
		settled,
		chromedp.SetValue(`#filter-state`, "WIPED", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#filter-state").dispatchEvent(new Event("change", {bubbles: true}))`, nil),
		chromedp.WaitVisible(`#device-empty`, chromedp.ByQuery),
		chromedp.SetValue(`#filter-state`, "ACTIVE", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#filter-state").dispatchEvent(new Event("change", {bubbles: true}))`, nil),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.WaitVisible(sortedByCheckin, chromedp.ByQuery),
		settled,
	)
	var marker string
	run("read the marker", chromedp.Evaluate(`window.stewardMarker || ""`, &marker))
	if marker != "same page" {
		t.Errorf("filtering reloaded the page; want an htmx swap")
	}

	var flashText, heading string
	run("open the device and lock it",
		chromedp.Click(row+` a[href="`+devPath+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#device-lock`, chromedp.ByQuery),
		settled,
		chromedp.Text(`#device-name`, &heading, chromedp.ByQuery),
		chromedp.SendKeys(`#f-message`, "Please call IT", chromedp.ByQuery),
		chromedp.Click(`#action-lock`, chromedp.ByQuery),
		chromedp.WaitVisible(`#device-commands tr[data-type="LOCK"][data-status="PENDING"]`, chromedp.ByQuery),
		chromedp.Text(`#flash`, &flashText, chromedp.ByQuery),
		settled,
		screenshot("steward-device-pending.png"),
	)
	if !strings.Contains(heading, name) {
		t.Errorf("the device page's heading %q lacks %q", heading, name)
	}
	if want := "Lock queued for " + name + "."; !strings.Contains(flashText, want) {
		t.Errorf("flash %q, want %q", flashText, want)
	}

	// The device checks in: it fetches the lock, carries it out and answers. The page, which polls its
	// command history while a command waits, shows the answer without a reload.
	run("mark the page", chromedp.Evaluate(`window.stewardMarker = "device page"`, nil))
	if err := dev.CheckIn(t.Context()); err != nil {
		t.Fatalf("check in: %v", err)
	}
	if st := dev.State(); !st.Locked || st.LockMessage != "Please call IT" {
		t.Errorf("the simulated device is not locked with the message: locked %v, message %q", st.Locked, st.LockMessage)
	}
	var status string
	run("see the lock acknowledged",
		chromedp.WaitVisible(`#device-commands tr[data-type="LOCK"][data-status="ACKNOWLEDGED"]`, chromedp.ByQuery),
		chromedp.Text(`#device-commands tr[data-type="LOCK"] [data-status]`, &status, chromedp.ByQuery),
		chromedp.WaitNotPresent(`#device-commands[hx-trigger]`, chromedp.ByQuery),
		screenshot("steward-device-acknowledged.png"),
		chromedp.Evaluate(`window.stewardMarker || ""`, &marker),
	)
	if status != "Acknowledged" {
		t.Errorf("the LOCK command shows %q, want Acknowledged", status)
	}
	if marker != "device page" {
		t.Errorf("the page was reloaded; want the history to refresh itself")
	}

	run("the owner's user page lists the device",
		chromedp.Click(`#owner-link`, chromedp.ByQuery),
		chromedp.WaitVisible(`#user-devices tr[data-device-id="`+strconv.FormatInt(id, 10)+`"] a[href="`+devPath+`"]`, chromedp.ByQuery),
		screenshot("steward-user-devices.png"),
	)
}

// screenshot saves a full-page PNG named file under $STEWARD_SCREENSHOTS; nothing when it is unset.
func screenshot(file string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		dir := os.Getenv("STEWARD_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		var png []byte
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, file), png, 0o644)
	})
}

// steps returns a runner of named browser steps in ctx that fails t at the first that fails.
func steps(t *testing.T, ctx context.Context) func(step string, actions ...chromedp.Action) {
	return func(step string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
}
