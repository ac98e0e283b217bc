package sim

import (
	"slices"

	"steward/internal/android"
)

// How often, per check-in, the inventory changes. Most check-ins report nothing new, as with real
// devices, so the server's "write inventory only when it changed" path is exercised both ways.
const (
	capacityDriftChance = 0.15
	appChangeChance     = 0.02
	osUpdateChance      = 0.002
	// newPasscodeChance: after an unlock cleared the passcode, the user sets a new one soon.
	newPasscodeChance = 0.2
)

// drift changes the device a little, as time passes between check-ins.
func (d *Device) drift() {
	if d.rng.Float64() < capacityDriftChance {
		d.driftCapacity()
	}
	if d.rng.Float64() < appChangeChance {
		d.changeApp()
	}
	if d.rng.Float64() < osUpdateChance {
		d.updateOS()
	}
	if d.passcodeCleared && d.rng.Float64() < newPasscodeChance {
		d.facts.PasscodeCompliant, d.passcodeCleared = true, false
	}
}

// driftCapacity moves the free storage by up to 512 MB either way, staying between 5% and 95% free.
func (d *Device) driftCapacity() {
	f := &d.facts
	if f.TotalCapacityMB == 0 {
		return
	}
	next := f.AvailableCapMB + int64(d.rng.IntN(1025)) - 512
	f.AvailableCapMB = min(max(next, f.TotalCapacityMB/20), f.TotalCapacityMB*19/20)
}

// changeApp installs, updates or removes one optional app.
func (d *Device) changeApp() {
	installed := func(id string) int {
		return slices.IndexFunc(d.apps, func(a android.App) bool { return a.AppID == id })
	}
	a := optionalApps[d.rng.IntN(len(optionalApps))]
	i := installed(a.ID)
	switch {
	case i < 0:
		d.apps = append(d.apps, android.App{AppID: a.ID, Name: a.Name, Version: a.Versions[len(a.Versions)-1]})
	case d.apps[i].Version != a.Versions[len(a.Versions)-1] && d.rng.IntN(2) == 0:
		d.apps[i].Version = a.Versions[slices.Index(a.Versions, d.apps[i].Version)+1]
	default:
		d.apps = slices.Delete(d.apps, i, i+1)
	}
}

// updateOS installs the next Android release, up to the newest.
func (d *Device) updateOS() {
	cur := 0
	for v, r := range releases {
		if r.Version == d.facts.OSVersion {
			cur = v
		}
	}
	if cur == 0 || cur >= newestOS {
		return
	}
	next := releases[cur+1]
	d.facts.OSVersion, d.facts.OSBuild = next.Version, next.Build
}
