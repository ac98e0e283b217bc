package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSeedCommand(t *testing.T) {
	parse(t, "admin", "seed", "--devices", "1000000", "--tenant", "t1", "--users", "10", "--apps-per-device", "3", "--groups", "2", "--seed", "9")
	dir := t.TempDir()
	var out bytes.Buffer
	c := &seedCmd{storeFlags: storeFlags{DataDir: dir}, Devices: 30, Seed: 4}
	if err := c.Run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "users=15 devices=30 apps=150") || !strings.Contains(s, "rows/s") {
		t.Errorf("output %q", s)
	}
	// The same seed again would make the same tenant: refused, with what to do instead.
	if err := c.Run(t.Context(), &out); err == nil || !strings.Contains(err.Error(), "--seed") {
		t.Errorf("second run: %v", err)
	}
}
