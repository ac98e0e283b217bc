package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/seed"
)

// TestSeedScale seeds a tenant with the generator behind `steward admin seed`, then reads it as a
// console or integration would: the device list (rows=100) with and without fq filters, over HTTP,
// and a compliance sweep over every device. By default it runs 2,000 devices and checks the answers;
// STEWARD_SEED_DEVICES (e.g. 1000000) makes it the measurement, which it logs and never asserts:
//
//	STEWARD_SEED_DEVICES=1000000 go test ./internal/server -run TestSeedScale -v -timeout 2h
//
// STEWARD_SEED_REQUESTS sets the requests per list (default 200; 20 at the default size).
func TestSeedScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STEWARD_SEED_DEVICES"))
	requests := 20
	if n > 0 {
		requests = 200
	} else {
		n = 2000
	}
	if r, _ := strconv.Atoi(os.Getenv("STEWARD_SEED_REQUESTS")); r > 0 {
		requests = r
	}
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), func(c *Config) { c.ComplianceSweep = 24 * time.Hour })
			tenant, ta := e.createTenant("Acme")
			tid := mdm.TenantID(tenant.ID)
			st, err := seed.Run(context.Background(), e.srv.Store(), seed.Options{TenantID: tid, Devices: n, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: seeded %d users, %d devices, %d apps, %d group members (%d rows) in %v: %.0f rows/s",
				name, st.Users, st.Devices, st.Apps, st.GroupMembers, st.Rows(), st.Elapsed.Round(time.Millisecond),
				float64(st.Rows())/st.Elapsed.Seconds())

			app := e.registerApp(tid, authz.AppTypeCustom)
			token := "Bearer " + e.clientToken(tenant.ID, app.Registration.ClientID, app.Secret, "").AccessToken
			user, pw, _ := strings.Cut(ta, ":")
			basic := (&http.Request{Header: http.Header{}})
			basic.SetBasicAuth(user, pw)

			owner := seed.UserEmail(tid, st.Users/3)
			lists := []struct {
				auth, fq string
				want     int // TotalCount at the default size; -1: not checked
			}{
				{token, "", n},
				{token, "platformType=IOS and platformVersion=18.5", -1},
				{token, "emailAddress=" + owner, 2},
				{token, "registrationState=ACTIVE and jailbroken=true", -1},
				{token, "deviceModel=SM-G991B and lastCheckin<" + fmt.Sprint(time.Now().Add(-7*24*time.Hour).UnixMilli()), -1},
				{basic.Header.Get("Authorization"), "emailAddress=" + owner, 2},
			}
			for _, l := range lists {
				path := "/api/v1/device?rows=100"
				if l.fq != "" {
					path += "&fq=" + url.QueryEscape(l.fq)
				}
				times := make([]time.Duration, 0, requests)
				var total int
				for range requests {
					start := time.Now()
					total = e.timedList(path, l.auth)
					times = append(times, time.Since(start))
				}
				slices.Sort(times)
				pct := func(p int) time.Duration { return times[(len(times)*p+99)/100-1].Round(10 * time.Microsecond) }
				how := "bearer"
				if strings.HasPrefix(l.auth, "Basic") {
					how = "basic"
				}
				t.Logf("%s: GET %s (%s, %d requests): total %d, p50 %v p95 %v p99 %v", name, path, how, requests, total,
					pct(50), pct(95), pct(99))
				if os.Getenv("STEWARD_SEED_DEVICES") == "" && l.want >= 0 && total != l.want {
					t.Errorf("%s: totalCount %d, want %d", l.fq, total, l.want)
				}
			}

			for _, p := range []string{
				`{"name":"Rooted","type":"COMPROMISED","enabled":true,"actions":[{"kind":"MONITOR"}]}`,
				`{"name":"Encrypted","type":"ENCRYPTION_OFF","enabled":true,"actions":[{"kind":"MONITOR"}]}`,
				`{"name":"Old OS","type":"OS_VERSION_BELOW","params":{"version":"12"},"enabled":true,"actions":[{"kind":"MONITOR"}]}`,
				`{"name":"Gone","type":"OUT_OF_CONTACT","params":{"duration":"30d"},"enabled":true,"actions":[{"kind":"MONITOR"}]}`,
			} {
				e.call("POST", "/api/v1/policies", ta, p).must(t, 200, nil)
			}
			for i, round := range []string{"first sweep (records violations)", "second sweep (steady state)"} {
				start := time.Now()
				sw, err := e.srv.Compliance().Sweep(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %s: %d devices, %d changed, %v", name, round, sw.Devices, sw.Changed, time.Since(start).Round(time.Millisecond))
				switch {
				case sw.Devices < n*95/100: // all but the retired and wiped
					t.Errorf("%s: swept %d devices of %d", round, sw.Devices, n)
				case i == 0 && sw.Changed == 0:
					t.Errorf("%s: no device changed", round)
				case i == 1 && sw.Changed != 0:
					t.Errorf("%s: %d devices changed again", round, sw.Changed)
				}
			}
		})
	}
}

// timedList gets a device list page and returns its totalCount; anything but a 200 fails the test.
func (e *apiEnv) timedList(path, auth string) int {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		e.t.Fatalf("GET %s: %d %s %v", path, res.StatusCode, body, err)
	}
	var page struct {
		Result struct {
			TotalCount int `json:"totalCount"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	return page.Result.TotalCount
}
