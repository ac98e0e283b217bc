package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"steward/internal/mdm"
	"steward/internal/seed"
	"steward/internal/server"
)

type seedCmd struct {
	storeFlags
	Devices       int    `required:"" help:"Devices to generate."`
	Tenant        string `help:"Existing tenant (without devices) to fill; default: create the tenant \"Seed <seed>\"."`
	Users         int    `help:"Users who own the devices (default: one per two devices)."`
	AppsPerDevice int    `name:"apps-per-device" help:"Installed apps per device (default 5, at most 60; -1 for none)."`
	Groups        int    `help:"Static user groups and static device groups to create, each (default 10; -1 for none)."`
	Seed          uint64 `default:"1" help:"Random seed: the same seed generates the same fleet."`
}

func (c *seedCmd) Run(ctx context.Context, out io.Writer) error {
	s, err := server.OpenStore(ctx, server.Config{DataDir: c.DataDir, DatabaseURL: c.DatabaseURL})
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := seed.Run(ctx, s, seed.Options{TenantID: mdm.TenantID(c.Tenant), Devices: c.Devices, Users: c.Users,
		AppsPerDevice: c.AppsPerDevice, Groups: c.Groups, Seed: c.Seed})
	if err != nil {
		return err
	}
	secs := st.Elapsed.Seconds()
	fmt.Fprintf(out, "tenant=%s\nusers=%d devices=%d apps=%d group_members=%d user_groups=%d device_groups=%d\n",
		st.TenantID, st.Users, st.Devices, st.Apps, st.GroupMembers, len(st.UserGroups), len(st.DeviceGroups))
	fmt.Fprintf(out, "%d rows in %v (%.0f rows/s, %.0f devices/s) on %s\n", st.Rows(), st.Elapsed.Round(time.Millisecond),
		float64(st.Rows())/secs, float64(st.Devices)/secs, s.Dialect())
	return nil
}
