package server

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSweepScale sweeps many devices on each database: the first sweep changes the devices whose
// facts violate a policy, the second changes none. With STEWARD_SWEEP_DEVICES set (e.g. 100000) it is
// the measurement of the sweep's time, which it logs and never asserts; by default it runs 500 devices.
//
//	STEWARD_SWEEP_DEVICES=100000 go test ./internal/server -run TestSweepScale -v
func TestSweepScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STEWARD_SWEEP_DEVICES"))
	if n <= 0 {
		n = 500
	}
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), func(c *Config) { c.ComplianceSweep = 24 * time.Hour })
			_, ta := e.createTenant("Acme")
			e.enrolled(ta, "dee@acme.example.com", "SER0")
			sqlDB := e.srv.Store().DB()
			rows, err := sqlDB.Query(`SELECT * FROM devices WHERE 1=0`)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			rows.Close()
			cred := "randomblob(32)"
			if e.srv.Store().Dialect() == "postgres" {
				cred = "decode(md5(n.i::text) || md5((n.i + 7)::text), 'hex')"
			}
			var ins, sel []string
			for _, c := range cols {
				switch c {
				case "id":
					continue
				case "guid":
					sel = append(sel, "''")
				case "credential_hash":
					sel = append(sel, cred)
				case "jailbroken":
					sel = append(sel, "(n.i % 10 = 0)")
				default:
					sel = append(sel, "d."+c)
				}
				ins = append(ins, c)
			}
			start := time.Now()
			q := fmt.Sprintf(`INSERT INTO devices (%s) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
				SELECT %s FROM n, devices d`, strings.Join(ins, ", "), n-1, strings.Join(sel, ", "))
			if _, err := sqlDB.Exec(q); err != nil {
				t.Fatal(err)
			}
			if _, err := sqlDB.Exec(`ANALYZE`); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: seeded %d devices in %v", name, n, time.Since(start).Round(time.Millisecond))
			for _, p := range []string{
				`{"name":"Rooted","type":"COMPROMISED","enabled":true,"actions":[{"kind":"MONITOR"}]}`,
				`{"name":"Encrypted","type":"ENCRYPTION_OFF","enabled":true,"actions":[{"kind":"MONITOR"}]}`,
				`{"name":"Old OS","type":"OS_VERSION_BELOW","params":{"version":"10"},"enabled":true,"actions":[{"kind":"MONITOR"}]}`,
				`{"name":"Gone","type":"OUT_OF_CONTACT","params":{"duration":"30d"},"enabled":true,"actions":[{"kind":"MONITOR"}]}`,
			} {
				e.call("POST", "/api/v1/policies", ta, p).must(t, 200, nil)
			}
			for i, round := range []string{"first sweep (records violations)", "second sweep (steady state)", "third sweep (steady state)"} {
				start := time.Now()
				st, err := e.srv.Compliance().Sweep(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %s: %d devices, %d changed, %v", name, round, st.Devices, st.Changed, time.Since(start).Round(time.Millisecond))
				switch {
				case st.Devices < n:
					t.Errorf("%s: swept %d devices of %d", round, st.Devices, n)
				case i == 0 && st.Changed < (n-1)/10: // the seeded devices 1..n-1, every tenth rooted
					t.Errorf("%s: %d devices changed, want at least the %d rooted ones", round, st.Changed, (n-1)/10)
				case i > 0 && st.Changed != 0:
					t.Errorf("%s: %d devices changed again", round, st.Changed)
				}
				if i == 0 {
					checkSweepRows(t, sqlDB)
				}
			}
		})
	}
}

// checkSweepRows checks that what a sweep wrote agrees with itself: each device's violation count and
// compliance state match its violation rows, and each violation has its audit record and its MONITOR
// action recorded as done.
func checkSweepRows(t *testing.T, db *sql.DB) {
	t.Helper()
	for what, q := range map[string]string{
		"devices whose compliance fields disagree with their violations": `SELECT COUNT(*) FROM devices d
			WHERE d.policy_violation_count <> (SELECT COUNT(*) FROM policy_violations v WHERE v.tenant_id=d.tenant_id AND v.device_id=d.id)
			OR d.compliance_state <> (d.policy_violation_count = 0)`,
		"violations without their audit record": `SELECT (SELECT COUNT(*) FROM policy_violations) -
			(SELECT COUNT(*) FROM audit_log WHERE action='compliance.violation')`,
		"violations whose MONITOR action is not done": `SELECT COUNT(*) FROM policy_violations WHERE done <> '[0]'`,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d", what, n)
		}
	}
}
