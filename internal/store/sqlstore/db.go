// Package sqlstore is the one SQL implementation of every mdm store interface, for SQLite (the
// embedded default) and PostgreSQL (scale-out). Queries use $N placeholders, which both databases
// accept; the few places where the dialects differ ask s.pg.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"steward/internal/mdm"
)

//go:embed migrations
var migrations embed.FS

// Store is a database, opened on SQLite or PostgreSQL.
type Store struct {
	db       *sql.DB
	pg       bool
	migrator *goose.Provider
	stores
}

var _ mdm.Store = (*Store)(nil)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stores implements mdm.Stores over one querier (the pool, or one transaction).
type stores struct {
	q  querier
	pg bool
	// writers admits one SQLite transaction at a time (nil on PostgreSQL and inside a transaction).
	// Without it, transactions waiting for SQLite's write lock each hold a pooled connection, and the
	// one holding the lock, needing a connection for a read of its own (a mail template override, say),
	// waits for them: nothing moves until busy_timeout fails the waiters.
	writers chan struct{}
	// counts caches device list totals (shared by the pool and its transactions); changed collects,
	// inside a transaction, the tenants whose devices it changed, to drop their counts again once the
	// change is visible (a count taken between the write and the commit would otherwise be kept).
	counts  *countCache
	changed *[]mdm.TenantID
}

// devicesChanged drops tenant's cached device counts now and, in a transaction, again after commit.
func (s stores) devicesChanged(tenant mdm.TenantID) {
	s.counts.drop(tenant)
	if s.changed != nil {
		*s.changed = append(*s.changed, tenant)
	}
}

func (s stores) Tenants() mdm.TenantStore           { return tenantStore(s) }
func (s stores) Accounts() mdm.AccountStore         { return accountStore(s) }
func (s stores) SystemAdmins() mdm.SystemAdminStore { return systemAdminStore(s) }
func (s stores) Tokens() mdm.TokenStore             { return tokenStore(s) }
func (s stores) Sessions() mdm.SessionStore         { return sessionStore(s) }
func (s stores) Audit() mdm.AuditStore              { return auditStore(s) }
func (s stores) Outbox() mdm.OutboxStore            { return outboxStore(s) }
func (s stores) Groups() mdm.GroupStore             { return groupStore(s) }
func (s stores) Devices() mdm.DeviceStore           { return deviceStore(s) }
func (s stores) Commands() mdm.CommandStore         { return commandStore(s) }
func (s stores) Apple() mdm.AppleStore              { return appleStore(s) }
func (s stores) SupportAdmins() mdm.SupportAdminStore {
	return supportAdminStore(s)
}
func (s stores) EmailTemplates() mdm.EmailTemplateStore {
	return emailTemplateStore(s)
}
func (s stores) RegistrationSettings() mdm.RegistrationSettingsStore {
	return registrationStore(s)
}

// IsPostgres tells whether url names a PostgreSQL database rather than a SQLite file.
func IsPostgres(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}

// Open opens PostgreSQL when databaseURL is a postgres:// URL, else the SQLite file steward.db in dataDir.
// It does not migrate: call Migrate.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	if databaseURL != "" && !IsPostgres(databaseURL) {
		return nil, mdm.Errorf(mdm.Invalid, "database URL must start with postgres:// (leave it empty for SQLite)")
	}
	var (
		db      *sql.DB
		err     error
		pg      = databaseURL != ""
		dialect = goose.DialectSQLite3
		dir     = "migrations/sqlite"
		opts    []goose.ProviderOption
	)
	if pg {
		db, err = sql.Open("pgx", databaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		// Replicas starting together must not migrate at the same time.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	} else {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		db, err = sql.Open("sqlite", sqliteDSN(filepath.Join(dataDir, "steward.db")))
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, mdm.Wrap(mdm.Unavailable, err, "database unreachable")
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	migrator, err := goose.NewProvider(dialect, db, sub, opts...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	st := stores{q: db, pg: pg, counts: newCountCache()}
	if !pg {
		st.writers = make(chan struct{}, 1)
	}
	return &Store{db: db, pg: pg, migrator: migrator, stores: st}, nil
}

// sqliteDSN: WAL lets readers run beside the writer; immediate transactions take the write lock at
// BEGIN so that two writers wait on busy_timeout instead of failing at their first write.
func sqliteDSN(path string) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Set("_txlock", "immediate")
	return "file:" + path + "?" + v.Encode()
}

// Migrate applies every pending migration and returns how many it applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	res, err := s.migrator.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Ready reports whether the database answers and has no pending migration.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return mdm.Wrap(mdm.Unavailable, err, "database unreachable")
	}
	pending, err := s.migrator.HasPending(ctx)
	if err != nil {
		return mdm.Wrap(mdm.Unavailable, err, "cannot read migration state")
	}
	if pending {
		return mdm.Errorf(mdm.Unavailable, "migrations pending")
	}
	return nil
}

// DB exposes the pool for metrics.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string {
	if s.pg {
		return "postgres"
	}
	return "sqlite"
}

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// InTx runs fn in one transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx mdm.Stores) error) error {
	return s.stores.atomic(ctx, func(tx stores) error { return fn(tx) })
}

// atomic runs fn in s's transaction, or in a new one when s is the pool, so that a method that writes
// several statements never leaves half of them behind, whether or not its caller used InTx.
func (s stores) atomic(ctx context.Context, fn func(tx stores) error) error {
	db, ok := s.q.(*sql.DB)
	if !ok {
		return fn(s)
	}
	if s.writers != nil {
		release, err := s.admitWriter(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return mdm.Wrap(mdm.Unavailable, err, "database unavailable")
	}
	defer tx.Rollback() // a no-op once committed
	changed := []mdm.TenantID{}
	if err := fn(stores{q: tx, pg: s.pg, counts: s.counts, changed: &changed}); err != nil {
		return err
	}
	err = tx.Commit()
	for _, t := range changed {
		s.counts.drop(t)
	}
	if err != nil {
		return mdm.Wrap(mdm.Unavailable, err, "commit failed")
	}
	return nil
}

// writerWait bounds the wait for the SQLite write turn, as busy_timeout bounded it before.
const writerWait = 10 * time.Second

// admitWriter waits for the SQLite write turn and returns what gives it back.
func (s stores) admitWriter(ctx context.Context) (func(), error) {
	timer := time.NewTimer(writerWait)
	defer timer.Stop()
	select {
	case s.writers <- struct{}{}:
		return func() { <-s.writers }, nil
	case <-ctx.Done():
		return nil, mdm.Wrap(mdm.Unavailable, ctx.Err(), "request cancelled or timed out")
	case <-timer.C:
		return nil, mdm.Errorf(mdm.Unavailable, "the database is busy: try again")
	}
}

// ms and fromMS convert times to the epoch milliseconds every table stores.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// notFound turns sql.ErrNoRows into a not_found error naming what was missing.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return mdm.Errorf(mdm.NotFound, "%s not found", what)
	}
	return dbError(err)
}
