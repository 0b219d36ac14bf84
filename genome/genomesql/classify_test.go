package genomesql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/rafaelabs/rafael/genome"
)

// pgError has the SQLState method of pgx's *pgconn.PgError and lib/pq's
// *pq.Error.
type pgError struct{ state string }

func (e *pgError) Error() string    { return "ERROR: (SQLSTATE " + e.state + ")" }
func (e *pgError) SQLState() string { return e.state }

// The classification the real-server tests in clients/ rely on, case by
// case: what is retried, what is stopped and counted, what is the
// caller's.
func TestClassify(t *testing.T) {
	ctx := context.Background()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	read := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	for _, c := range []struct {
		name       string
		err        error
		idempotent bool
		want       string // "retry", "stop", "caller's"
	}{
		{"a dial refused", fmt.Errorf("failed to connect: %w", dial), false, "retry"},
		{"a bad connection before sending", driver.ErrBadConn, false, "retry"},
		{"a name that does not resolve", &net.DNSError{Err: "no such host", Name: "db"}, false, "retry"},
		{"a connection reset while reading", read, false, "stop"},
		{"the same, idempotent", read, true, "retry"},
		{"a timeout after sending", context.DeadlineExceeded, false, "stop"},
		{"a PostgreSQL syntax error", &pgError{"42601"}, true, "caller's"},
		{"a unique violation", &pgError{"23505"}, true, "caller's"},
		{"a serialization failure", &pgError{"40001"}, true, "retry"},
		{"a serialization failure, not marked", &pgError{"40001"}, false, "stop"},
		{"MySQL's duplicate entry", errors.New("Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'"), true, "caller's"},
		{"MySQL's lock wait timeout", errors.New("Error 1205 (HY000): Lock wait timeout exceeded"), false, "stop"},
	} {
		cctx := ctx
		if c.idempotent {
			cctx = Idempotent(ctx)
		}
		got := classify(cctx, c.err)
		var kind string
		switch {
		case genome.IsPermanent(got):
			kind = "caller's"
		case got != c.err:
			kind = "stop"
		default:
			kind = "retry"
		}
		if kind != c.want || !errors.Is(got, c.err) {
			t.Errorf("%s: %s (%v), want %s", c.name, kind, got, c.want)
		}
	}
	if classify(ctx, nil) != nil {
		t.Error("no error is no error")
	}
}
