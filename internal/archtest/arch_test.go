// Package archtest checks that dependencies point inward, as DESIGN.md's layout says.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "steward/"

// rules: a package (prefix match) may import only the project packages listed. Third-party and
// standard-library imports are checked separately below.
var rules = map[string][]string{
	"internal/mdm":      {},
	"internal/authz":    {"internal/mdm"},
	"internal/fq":       {"internal/mdm"},
	"internal/policy":   {"internal/mdm"},
	"internal/odata":    {"internal/mdm"},
	"internal/form":     {"internal/mdm"},
	"internal/secret":   {},
	"internal/blob":     {},
	"internal/lease":    {"internal/mdm"},
	"internal/audit":    {"internal/mdm", "internal/authz"},
	"internal/mail":     {"internal/mdm", "internal/authz", "internal/audit", "internal/secret"}, // audit: the template editor
	"internal/accounts": {"internal/mdm", "internal/authz", "internal/audit", "internal/fq", "internal/mail", "internal/secret"},
	"internal/tenants":  {"internal/mdm", "internal/authz", "internal/audit", "internal/mail", "internal/secret"},
	"internal/devices":  {"internal/mdm", "internal/authz", "internal/audit", "internal/mail", "internal/secret", "internal/lease"},
	"internal/appreg":   {"internal/mdm", "internal/authz", "internal/audit", "internal/secret"},
	"internal/patch":    {"internal/mdm", "internal/authz", "internal/audit", "internal/fq"},
	"internal/oauth":    {"internal/mdm", "internal/authz", "internal/appreg", "internal/httpx", "internal/secret"},
	"internal/loadgen":  {},
	"internal/seed":     {"internal/mdm", "internal/store/sqlstore"},                                              // a generator: writes through the bulk loader
	"internal/assign":   {"internal/mdm", "internal/authz", "internal/audit", "internal/fq", "internal/accounts"}, // accounts: user group membership
	"internal/content":  {"internal/mdm", "internal/authz", "internal/audit", "internal/assign", "internal/blob"},
	"internal/apps":     {"internal/mdm", "internal/authz", "internal/audit", "internal/assign", "internal/secret", "internal/lease"}, // secret: in-house iOS app URL tokens
	"internal/android":  {"internal/mdm", "internal/httpx", "internal/devices"},
	// configurations: devices for the waker's types only, assign for the resolver and distribution helpers.
	"internal/configurations": {"internal/mdm", "internal/authz", "internal/audit", "internal/secret", "internal/devices",
		"internal/assign", "internal/accounts", "internal/fq", "internal/mail"},
	"internal/compliance":     {"internal/mdm", "internal/authz", "internal/audit", "internal/mail", "internal/policy", "internal/assign", "internal/lease"},
	"internal/apple":          {"internal/mdm"},
	"internal/sim":            {"internal/android"}, // the agent protocol's wire types only: a simulator is a client
	"internal/apple/apns":     {"internal/mdm", "internal/devices"},
	"internal/apple/enroll":   {"internal/mdm", "internal/secret"},
	"internal/apple/identity": {"internal/mdm"},
	"internal/applemdm": {"internal/mdm", "internal/authz", "internal/audit", "internal/httpx", "internal/secret",
		"internal/devices", "internal/apple", "internal/apple/enroll", "internal/apple/identity", "internal/apple/apns", "internal/lease"},
	"internal/sim/ios":        {"internal/apple", "internal/apple/enroll", "internal/apple/identity"}, // a client: message types and profile reading only
	"internal/store/sqlstore": {"internal/mdm"},
	"internal/store/pgtest":   {"internal/store/sqlstore"}, // tests' fresh PostgreSQL databases
	"internal/httpx":          {"internal/mdm"},
	"internal/httpapi": {"internal/mdm", "internal/authz", "internal/fq", "internal/odata", "internal/form", "internal/httpx",
		"internal/audit", "internal/mail", "internal/tenants", "internal/accounts", "internal/devices", "internal/android", "internal/applemdm",
		"internal/appreg", "internal/patch", "internal/assign", "internal/content", "internal/apps", "internal/configurations", "internal/compliance", "internal/policy"},
	"internal/web": {"internal/mdm", "internal/authz", "internal/fq", "internal/form", "internal/httpx",
		"internal/httpapi", "internal/audit", "internal/mail", "internal/tenants", "internal/accounts", "internal/devices",
		"internal/applemdm", "internal/appreg", "internal/assign", "internal/content", "internal/apps", "internal/configurations", "internal/compliance", "internal/policy"},
}

// stdlibOnly packages may import nothing outside the standard library (besides allowed project packages).
var stdlibOnly = []string{"internal/blob", "internal/mdm", "internal/authz", "internal/fq", "internal/policy", "internal/odata", "internal/form", "internal/httpx"}

func TestDependenciesPointInward(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "steward/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		allowed, ok := rules[pkg]
		if !ok {
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			switch {
			case strings.HasPrefix(imp, mod):
				if !contains(allowed, strings.TrimPrefix(imp, mod)) {
					t.Errorf("%s imports %s, which the layering does not allow", pkg, imp)
				}
			case isStdlib(imp):
			case contains(stdlibOnly, pkg):
				t.Errorf("%s must use the standard library only, but imports %s", pkg, imp)
			}
		}
	}
	if checked < len(rules)-1 {
		t.Errorf("checked only %d of %d ruled packages: has the layout changed?", checked, len(rules))
	}
}

func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
