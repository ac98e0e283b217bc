package events_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"steward/internal/events"
	"steward/internal/store/pgtest"
)

func TestLocal(t *testing.T) {
	b := events.NewLocal()
	var got []string
	b.Subscribe("devices", func(p string) { got = append(got, "1:"+p) })
	b.Subscribe("devices", func(p string) { got = append(got, "2:"+p) })
	b.Subscribe("mail", func(p string) { got = append(got, "mail:"+p) })
	if err := b.Publish(context.Background(), "devices", "t 1,2"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "1:t 1,2|2:t 1,2" {
		t.Errorf("delivered %q", got)
	}
}

// freshDatabase creates an empty database (notifications stay within one) and drops it afterwards.
func freshDatabase(t *testing.T) string { return pgtest.Database(t, "steward_events") }

// TestPostgres: an event published by one replica reaches both, the publisher's own included; one
// notified inside a transaction leaves only if it commits; a replica whose listening connection is
// cut reconnects, hears Resync (it may have missed events) and then hears events again.
func TestPostgres(t *testing.T) {
	dsn := freshDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var heard []chan string
	var buses []*events.Postgres
	for range 2 {
		b := events.NewPostgres(db, dsn, log)
		ch := make(chan string, 16)
		b.Subscribe("devices", func(p string) { ch <- p })
		b.Subscribe(events.Resync, func(string) { ch <- "resync" })
		go b.Run(ctx)
		<-b.Listening()
		heard, buses = append(heard, ch), append(buses, b)
	}
	next := func(i int) string {
		t.Helper()
		select {
		case p := <-heard[i]:
			return p
		case <-time.After(20 * time.Second):
			t.Fatalf("replica %d heard nothing", i)
			return ""
		}
	}
	if err := buses[0].Publish(ctx, "devices", "tenant-a 1,2"); err != nil {
		t.Fatal(err)
	}
	for i := range heard {
		if p := next(i); p != "tenant-a 1,2" {
			t.Errorf("replica %d heard %q", i, p)
		}
	}

	// Inside a transaction: nothing leaves on rollback, the event leaves on commit.
	for _, commit := range []bool{false, true} {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`SELECT pg_notify($1, $2)`, events.Channel, events.Encode("devices", "in-tx "+map[bool]string{false: "rolled back", true: "committed"}[commit])); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := next(1); p != "in-tx committed" {
		t.Errorf("heard %q, want only the committed event", p)
	}
	next(0)

	// Cut both listening connections (as a database restart would).
	if _, err := db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	for p := next(0); p != "resync"; p = next(0) {
	}
	for p := next(1); p != "resync"; p = next(1) {
	}
	for _, b := range buses {
		<-b.Listening()
	}
	if err := buses[1].Publish(ctx, "devices", "tenant-b 3"); err != nil {
		t.Fatal(err)
	}
	for i := range heard {
		if p := next(i); p != "tenant-b 3" {
			t.Errorf("after reconnecting, replica %d heard %q", i, p)
		}
	}
	if err := buses[0].Publish(ctx, "devices", strings.Repeat("x", events.MaxPayload)); err == nil {
		t.Error("an event too long for one notification was published")
	}
}
