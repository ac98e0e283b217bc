package compliance

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "12h": 12 * time.Hour, "1d12h": 36 * time.Hour,
		"2w": 14 * 24 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7", "7x", "-1d", "99999999d"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q): no error", in)
		}
	}
}

func TestBuild(t *testing.T) {
	monitor := []ActionInput{{Kind: "monitor"}}
	tests := []struct {
		name  string
		in    Input
		field string // "" when valid
		rule  string
	}{
		{"compromised", Input{Name: "Rooted", Type: "COMPROMISED", Actions: monitor}, "", "jailbroken = true"},
		{"out of contact", Input{Name: "Gone", Type: "OUT_OF_CONTACT", Params: map[string]string{"duration": "7d"}, Actions: monitor}, "", ""},
		{"out of contact without duration", Input{Name: "Gone", Type: "OUT_OF_CONTACT", Actions: monitor}, "params.duration", ""},
		{"os below without version", Input{Name: "Old", Type: "OS_VERSION_BELOW", Actions: monitor}, "params", ""},
		{"custom", Input{Name: "C", Type: "CUSTOM", Rule: "roaming = true", Actions: monitor}, "", "roaming = true"},
		{"custom that does not parse", Input{Name: "C", Type: "CUSTOM", Rule: "roaming = ", Actions: monitor}, "rule", ""},
		{"unknown type", Input{Name: "X", Type: "NOPE", Actions: monitor}, "type", ""},
		{"no name", Input{Type: "ROAMING", Actions: monitor}, "name", ""},
		{"no actions", Input{Name: "X", Type: "ROAMING"}, "actions", ""},
		{"bad action", Input{Name: "X", Type: "ROAMING", Actions: []ActionInput{{Kind: "EXPLODE"}}}, "actions[0].kind", ""},
		{"message without channel", Input{Name: "X", Type: "ROAMING", Actions: []ActionInput{{Kind: "MESSAGE"}}}, "actions[0].email", ""},
		{"push without text", Input{Name: "X", Type: "ROAMING", Actions: []ActionInput{{Kind: "MESSAGE", Push: true}}}, "actions[0].message", ""},
		{"bad platform", Input{Name: "X", Type: "ROAMING", Platforms: []string{"WINDOWS"}, Actions: monitor}, "platforms", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := build(tc.in)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("build: %v", err)
				}
				if tc.rule != "" && p.Rule != tc.rule {
					t.Errorf("rule %q, want %q", p.Rule, tc.rule)
				}
				if p.Actions[0].Kind != mdm.ActionMonitor {
					t.Errorf("action kind %q", p.Actions[0].Kind)
				}
				return
			}
			e, ok := err.(*mdm.Error)
			if !ok || e.Code != mdm.Invalid || len(e.Fields) == 0 || e.Fields[0].Field != tc.field {
				t.Fatalf("build: %v (%+v), want invalid %s", err, e, tc.field)
			}
		})
	}
}
