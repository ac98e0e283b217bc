package sim

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestLuhn(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"490154203237518", true}, // the IMEI of the GSMA's own example
		{"490154203237517", false},
		{"356938035643809", true},
		{"79927398713", true},
		{"79927398710", false},
		{"4901542032375a8", false},
	}
	for _, tt := range tests {
		if got := luhnValid(tt.s); got != tt.want {
			t.Errorf("luhnValid(%s) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestGeneratedFactsLookReal(t *testing.T) {
	mac := regexp.MustCompile(`^([0-9a-f]{2}:){5}[0-9a-f]{2}$`)
	kinds := map[string]int{}
	for seed := uint64(0); seed < 500; seed++ {
		s := NewDevice(nil, seed, DeviceOptions{}).State()
		f := s.Facts
		kinds[f.FormFactor]++
		if f.IMEI != "" && (len(f.IMEI) != 15 || !luhnValid(f.IMEI)) {
			t.Fatalf("%s: IMEI %q is not 15 digits with a valid Luhn digit", f.Model, f.IMEI)
		}
		if !mac.MatchString(f.WifiMAC) {
			t.Fatalf("%s: Wi-Fi MAC %q", f.Model, f.WifiMAC)
		}
		if f.SerialNumber == "" || f.Model == "" || f.Manufacturer == "" || f.OSVersion == "" || len(s.Apps) < 10 {
			t.Fatalf("incomplete facts: %+v (%d apps)", f, len(s.Apps))
		}
		if f.AvailableCapMB <= 0 || f.AvailableCapMB >= f.TotalCapacityMB {
			t.Fatalf("%s: available %d of %d MB", f.Model, f.AvailableCapMB, f.TotalCapacityMB)
		}
	}
	if kinds["phone"] == 0 || kinds["tablet"] == 0 {
		t.Errorf("form factors %v: want both phones and tablets", kinds)
	}
}

func TestDriftChangesInventorySometimes(t *testing.T) {
	d := NewDevice(nil, 7, DeviceOptions{})
	before := d.State()
	capChanged, appsChanged := 0, 0
	for range 2000 {
		prev := d.State()
		d.drift()
		now := d.State()
		if now.Facts.AvailableCapMB != prev.Facts.AvailableCapMB {
			capChanged++
		}
		if !slices.Equal(now.Apps, prev.Apps) {
			appsChanged++
		}
		if now.Facts.AvailableCapMB < now.Facts.TotalCapacityMB/20 || now.Facts.AvailableCapMB > now.Facts.TotalCapacityMB {
			t.Fatalf("available capacity drifted out of range: %d of %d", now.Facts.AvailableCapMB, now.Facts.TotalCapacityMB)
		}
	}
	if capChanged == 0 || capChanged == 2000 || appsChanged == 0 {
		t.Errorf("over 2000 check-ins capacity changed %d times, apps %d: want some, not all", capChanged, appsChanged)
	}
	if before.Facts.SerialNumber != d.State().Facts.SerialNumber {
		t.Error("the serial number drifted")
	}
}

func TestPercentiles(t *testing.T) {
	s := NewStats()
	for i := 1; i <= 100; i++ {
		s.Request("checkin", time.Duration(i)*time.Millisecond, nil)
	}
	snap := s.Snapshot()
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}} {
		got := snap.Percentile(tt.p)
		if got < tt.want || float64(got) > float64(tt.want)*1.06 {
			t.Errorf("p%v = %v, want %v within 5%%", tt.p, got, tt.want)
		}
	}
	if snap.Checkins != 100 {
		t.Errorf("checkins %d", snap.Checkins)
	}
}
