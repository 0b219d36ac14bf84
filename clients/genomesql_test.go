package clients_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomesql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counted compiles g with an observer that counts attempts.
func counted(t *testing.T, g *genome.Genome) (*genome.Policy, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	p, err := genome.Compile(g, genome.WithObserver(genome.ObserverFunc(func(e genome.Event) {
		if e.Kind == genome.EventAttempt {
			n.Add(1)
		}
	})))
	require.NoError(t, err)
	return p, &n
}

func sqlGenome(perAttempt time.Duration) *genome.Genome {
	g := &genome.Genome{Module: "orders",
		Retry:          &genome.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 2},
		CircuitBreaker: &genome.CircuitBreaker{Mode: genome.BreakerConsecutive, Threshold: 3, OpenDuration: time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 10}}
	if perAttempt > 0 {
		g.Timeout = &genome.Timeout{PerAttempt: perAttempt}
	}
	return g
}

// pgxAt opens database/sql through pgx's stdlib driver at addr.
func pgxAt(t *testing.T, addr string) *sql.DB {
	cfg, err := pgx.ParseConfig("postgres://postgres@" + addr + "/test?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	t.Cleanup(func() { db.Close() })
	return db
}

// A statement that never reached the server — the connection was refused
// — is retried, even an INSERT.
func TestGenomeSQLRetriesWhatWasNotSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	l.Close() // nothing listens there now
	p, attempts := counted(t, sqlGenome(0))
	db := genomesql.Wrap(pgxAt(t, closed), p)
	_, err = db.ExecContext(t.Context(), "insert into orders values (1)")
	require.Error(t, err)
	assert.ErrorIs(t, err, genome.ErrRetriesExhausted)
	assert.EqualValues(t, 3, attempts.Load(), "not sent: retried to the retry gene's limit")
}

// A statement that reached the server and timed out may have run: it is
// not repeated, unless marked idempotent.
func TestGenomeSQLDoesNotRepeatAStatementThatWasSent(t *testing.T) {
	need(t, "PostgreSQL", postgresAddr)
	p, attempts := counted(t, sqlGenome(100*time.Millisecond))
	db := genomesql.Wrap(pgxAt(t, postgresAddr), p)
	_, err := db.ExecContext(t.Context(), "select pg_sleep(2)")
	require.Error(t, err)
	assert.ErrorIs(t, err, genome.ErrTimeout)
	assert.EqualValues(t, 1, attempts.Load(), "sent, then timed out: it may have run, so it is not repeated")

	// A fresh policy: the breaker (three failures in a row) counted the
	// one above, and would stop the third attempt below.
	p, attempts = counted(t, sqlGenome(100*time.Millisecond))
	db = genomesql.Wrap(db.DB, p)
	_, err = db.ExecContext(genomesql.Idempotent(t.Context()), "select pg_sleep(2)")
	require.Error(t, err)
	assert.EqualValues(t, 3, attempts.Load(), "marked idempotent: repeated")
	assert.Equal(t, genome.Open, p.BreakerState(), "timeouts count against the database")
}

// The statement's own errors are the caller's: not retried, and not held
// against the database by the breaker.
func TestGenomeSQLLeavesTheStatementsOwnErrorsToTheCaller(t *testing.T) {
	need(t, "PostgreSQL", postgresAddr)
	p, attempts := counted(t, sqlGenome(0))
	db := genomesql.Wrap(pgxAt(t, postgresAddr), p)
	for range 5 {
		_, err := db.ExecContext(genomesql.Idempotent(t.Context()), "selec 1")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "syntax error")
	}
	assert.EqualValues(t, 5, attempts.Load(), "one attempt each")
	assert.Equal(t, genome.Closed, p.BreakerState(), "a syntax error is no failure of the database")
}

// Rows outlive the policy's attempt, whose deadline would otherwise close
// them; QueryRowContext scans inside the attempt.
func TestGenomeSQLRowsOutliveTheAttempt(t *testing.T) {
	need(t, "PostgreSQL", postgresAddr)
	p, _ := counted(t, sqlGenome(2*time.Second))
	db := genomesql.Wrap(pgxAt(t, postgresAddr), p)
	rows, err := db.QueryContext(t.Context(), "select generate_series(1, 2000)")
	require.NoError(t, err)
	sum := 0
	for rows.Next() {
		var n int
		require.NoError(t, rows.Scan(&n))
		sum += n
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	assert.Equal(t, 2000*2001/2, sum, "every row read after Do returned")

	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), "select $1::int + 1", 41).Scan(&n))
	assert.Equal(t, 42, n)
	err = db.QueryRowContext(t.Context(), "select 1 where false").Scan(&n)
	assert.True(t, err == sql.ErrNoRows, "sql.ErrNoRows itself, as *sql.Row returns it: %v", err)
}

// MySQL's duplicate key (SQLSTATE 23000) is the statement's own error too.
func TestGenomeSQLOnMySQLKnowsAConstraintViolation(t *testing.T) {
	need(t, "MariaDB", mariadbAddr)
	raw, err := sql.Open("mysql", "root@tcp("+mariadbAddr+")/?timeout=2s")
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	p, attempts := counted(t, sqlGenome(0))
	db := genomesql.Wrap(raw, p)
	ctx := genomesql.Idempotent(t.Context())
	table := fmt.Sprintf("test.genomesql_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "create database if not exists test"); err != nil {
		t.Skipf("MariaDB refuses to create the test database: %v", err)
	}
	_, err = db.ExecContext(ctx, "create table "+table+" (id int primary key)")
	require.NoError(t, err)
	t.Cleanup(func() { raw.Exec("drop table " + table) })
	_, err = db.ExecContext(ctx, "insert into "+table+" values (1)")
	require.NoError(t, err)
	attempts.Store(0)
	_, err = db.ExecContext(ctx, "insert into "+table+" values (1)")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Duplicate entry")
	assert.EqualValues(t, 1, attempts.Load(), "a duplicate key is not retried, even idempotent")
	assert.False(t, errors.Is(err, genome.ErrRetriesExhausted))
}

// Statements through a Live policy follow its file.
func TestGenomeSQLThroughALivePolicy(t *testing.T) {
	need(t, "PostgreSQL", postgresAddr)
	data, err := sqlGenome(0).MarshalJSON()
	require.NoError(t, err)
	path := t.TempDir() + "/orders.genome.json"
	require.NoError(t, os.WriteFile(path, data, 0o644))
	live, err := genome.NewLive(path)
	require.NoError(t, err)
	db := genomesql.Wrap(pgxAt(t, postgresAddr), live)
	var n int
	require.NoError(t, db.QueryRowContext(context.Background(), "select 7").Scan(&n))
	assert.Equal(t, 7, n)
}

// The methods without a context go through the policy too: none of them
// reaches the database past an open breaker.
func TestGenomeSQLContextFreeMethodsGoThroughThePolicy(t *testing.T) {
	need(t, "PostgreSQL", postgresAddr)
	p, attempts := counted(t, sqlGenome(0))
	db := genomesql.Wrap(pgxAt(t, postgresAddr), p)
	_, err := db.Exec("select 1")
	require.NoError(t, err)
	rows, err := db.Query("select 1")
	require.NoError(t, err)
	require.NoError(t, rows.Close())
	var n int
	require.NoError(t, db.QueryRow("select 2").Scan(&n))
	assert.Equal(t, 2, n)
	assert.EqualValues(t, 3, attempts.Load(), "each one an attempt of the policy")
}
