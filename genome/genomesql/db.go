// Package genomesql runs database/sql statements through a compiled
// genome: [DB] wraps an *sql.DB so that each Exec and Query goes through
// the policy — its rate limit, bulkhead, timeouts and circuit breaker for
// every statement, and its retry only where running a statement again is
// safe. It is the production edge of the policy a RAFAEL test evolved.
//
// Retrying a statement is safe when it was never sent — the connection
// could not be made (a dial refused, a server not there) — or when the
// caller marked it idempotent with [Idempotent] (a SELECT, an UPSERT keyed
// by the request). Any other failure is returned at once (genome.NoRetry),
// though a circuit breaker counts it: an INSERT that timed out may have
// run. Errors of the statement itself (a syntax error, a constraint
// violation: SQLSTATE classes 22, 23, 42 and 44, as PostgreSQL and
// MySQL drivers report them) are the caller's, not the database's: they
// are never retried and never counted (genome.Permanent).
//
// It imports only the standard library and package genome.
package genomesql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/rafaelabs/rafael/genome"
)

// Policy is what runs each statement: a compiled *genome.Policy, or a
// *genome.Live that follows the adopted genome file.
type Policy interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

// DB is an *sql.DB whose statements run through Policy: Exec, Query and
// QueryRow, with a context or without. Its other methods are the
// *sql.DB's own and do not: transactions (Begin), prepared statements
// (Prepare), Ping, Close, Stats.
type DB struct {
	*sql.DB
	Policy Policy
}

// Wrap returns db with its statements run through p.
func Wrap(db *sql.DB, p Policy) *DB { return &DB{DB: db, Policy: p} }

type idempotentKey struct{}

// Idempotent marks the statements run with the returned context as safe
// to run again: a retry repeats them after any failure but the
// statement's own errors.
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// Exec is ExecContext with context.Background.
func (db *DB) Exec(query string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), query, args...)
}

// Query is QueryContext with context.Background.
func (db *DB) Query(query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext with context.Background.
func (db *DB) QueryRow(query string, args ...any) *Row {
	return db.QueryRowContext(context.Background(), query, args...)
}

// ExecContext runs an Exec through the policy.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.Policy.Do(ctx, func(ctx context.Context) error {
		r, err := db.DB.ExecContext(ctx, query, args...)
		if err != nil {
			return classify(ctx, err)
		}
		res = r
		return nil
	})
	return res, err
}

// QueryContext runs a Query through the policy. The policy covers sending
// the query and getting its rows, not reading them: the rows live with
// ctx, as from *sql.DB, and an error while iterating is the caller's
// (Rows.Err). A timeout gene bounds the query, not the reading.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	err := db.Policy.Do(ctx, func(actx context.Context) error {
		// The attempt's context ends when Do returns; database/sql would
		// close rows bound to it. So the query runs with a context of the
		// caller's that the attempt's end cancels only while the query is
		// on its way.
		qctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(actx, cancel)
		r, err := db.DB.QueryContext(qctx, query, args...)
		if !stop() { // the attempt ended first: its deadline, or a hedge won
			if err == nil {
				r.Close()
			}
			return cmpErr(actx.Err(), err)
		}
		if err != nil {
			cancel()
			return classify(actx, err)
		}
		rows = r
		return nil
	})
	return rows, err
}

// cmpErr is a if it is set, else b.
func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Row is the result of [DB.QueryRowContext], as *sql.Row is of
// *sql.DB.QueryRowContext: the query runs when Scan is called.
type Row struct {
	db    *DB
	ctx   context.Context
	query string
	args  []any
}

// QueryRowContext returns the query expected to return at most one row;
// Scan runs it through the policy, reading the row inside it, so a
// connection lost while reading is retried like one lost while sending.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	return &Row{db: db, ctx: ctx, query: query, args: args}
}

// Scan runs the query and copies the first row's columns into dest, as
// *sql.Row.Scan does; sql.ErrNoRows when there is none.
func (r *Row) Scan(dest ...any) error {
	err := r.db.Policy.Do(r.ctx, func(ctx context.Context) error {
		rows, err := r.db.DB.QueryContext(ctx, r.query, r.args...)
		if err != nil {
			return classify(ctx, err)
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return classify(ctx, err)
			}
			return genome.Permanent(sql.ErrNoRows)
		}
		if err := rows.Scan(dest...); err != nil {
			return genome.Permanent(err) // the caller's destinations
		}
		return classify(ctx, rows.Close())
	})
	if errors.Is(err, sql.ErrNoRows) {
		return sql.ErrNoRows // as *sql.Row says it: callers compare with ==
	}
	return err
}

// classify decides what the policy may do with a failed statement: retry
// it (not sent, or idempotent), stop and count it (it may have run), or
// stop without counting it (the statement's own error).
func classify(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ownError(err):
		return genome.Permanent(err)
	case notSent(err), ctx.Value(idempotentKey{}) != nil:
		return err
	}
	return genome.NoRetry(err)
}

// notSent reports whether err says the statement never reached the
// server: the connection could not be made, or the driver said the
// connection was bad before it sent anything (driver.ErrBadConn, which
// database/sql has already retried on fresh connections).
func notSent(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// ownError reports whether err is the statement's own fault, by its
// SQLSTATE (pgx's *pgconn.PgError and lib/pq's *pq.Error have SQLState;
// go-sql-driver/mysql's *MySQLError has SQLState as a field, read through
// its message): a data exception (22), an integrity constraint violation
// (23), a syntax error or access rule violation (42), a WITH CHECK OPTION
// violation (44).
func ownError(err error) bool {
	var s interface{ SQLState() string }
	state := ""
	if errors.As(err, &s) {
		state = s.SQLState()
	} else if i := strings.Index(err.Error(), " ("); strings.HasPrefix(err.Error(), "Error ") && i > 0 {
		// MySQL: "Error 1062 (23000): Duplicate entry …"
		if j := strings.Index(err.Error()[i:], ")"); j > 2 {
			state = err.Error()[i+2 : i+j]
		}
	}
	if len(state) != 5 {
		return false
	}
	switch state[:2] {
	case "22", "23", "42", "44":
		return true
	}
	return false
}
