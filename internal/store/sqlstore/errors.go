package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"steward/internal/mdm"
)

// isUniqueViolation reports a unique or primary-key violation, the same way on both databases.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKeyViolation reports a reference to a missing row, the same way on both databases.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// dbError classifies an unexpected database error: cancellations stay recognisable, everything else
// is internal (the cause is logged, never shown).
func dbError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*mdm.Error); ok {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "22021" || pgErr.Code == "22P05") {
		// NUL or invalid UTF-8 in a text value: bad input, whichever layer let it through.
		return mdm.Wrap(mdm.Invalid, err, "text must be UTF-8 without NUL characters")
	}
	if errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
		// A deadlock or serialization failure: PostgreSQL rolled the transaction back and the same
		// request may succeed if sent again.
		return mdm.Wrap(mdm.Unavailable, err, "the database was busy with a conflicting change: try again")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return mdm.Wrap(mdm.Unavailable, err, "request cancelled or timed out")
	}
	if unreachable(err) {
		return mdm.Wrap(mdm.Unavailable, err, "database unavailable: try again")
	}
	return mdm.Wrap(mdm.Internal, err, "database error")
}

// unreachable reports an error that says nothing about the request, only that the database could
// not be reached or could not take it now: a lost or refused connection, a server shutting down or
// starting, SQLite's lock held too long. The same request may succeed later.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 57P01-03: shutdown, crash, starting up; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code() & 0xff // the primary result code
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

// conflictOr maps a unique violation to conflict with message, anything else through dbError.
func conflictOr(err error, message string) error {
	if isUniqueViolation(err) {
		return mdm.Wrap(mdm.Conflict, err, message)
	}
	return dbError(err)
}
