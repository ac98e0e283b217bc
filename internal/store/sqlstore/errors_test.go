package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"steward/internal/mdm"
)

func TestDBErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want mdm.Code
	}{
		{&pgconn.PgError{Code: "40P01"}, mdm.Unavailable},
		{fmt.Errorf("commit: %w", &pgconn.PgError{Code: "40001"}), mdm.Unavailable},
		{&pgconn.PgError{Code: "22021"}, mdm.Invalid},
		{context.Canceled, mdm.Unavailable},
		{&pgconn.PgError{Code: "42P01"}, mdm.Internal},
		// The database unreachable or going away: the request may succeed later.
		{&pgconn.PgError{Code: "57P01"}, mdm.Unavailable},
		{&pgconn.PgError{Code: "08006"}, mdm.Unavailable},
		{fmt.Errorf("query: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), mdm.Unavailable},
		{fmt.Errorf("scan: %w", io.ErrUnexpectedEOF), mdm.Unavailable},
		{driver.ErrBadConn, mdm.Unavailable},
		{pgconn.ErrConnClosed, mdm.Unavailable},
		{fmt.Errorf("something else"), mdm.Internal},
	} {
		if got := mdm.ErrorCode(dbError(tc.err)); got != tc.want {
			t.Errorf("dbError(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
