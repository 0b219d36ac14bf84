package faults

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A minimal fake database driver (a test double): its connections implement
// ExecerContext but not QueryerContext, so queries go through Prepare and a
// legacy driver.Stmt, the fallback path of the wrapper.
type hookFakeDB struct {
	connects, execs, queries atomic.Int64
}

func (d *hookFakeDB) Open(string) (driver.Conn, error) { return d.Connect(context.Background()) }
func (d *hookFakeDB) Driver() driver.Driver            { return d }
func (d *hookFakeDB) Connect(context.Context) (driver.Conn, error) {
	d.connects.Add(1)
	return &hookFakeConn{db: d}, nil
}

type hookFakeConn struct{ db *hookFakeDB }

func (c *hookFakeConn) Prepare(string) (driver.Stmt, error) { return &hookFakeStmt{db: c.db}, nil }
func (c *hookFakeConn) Close() error                        { return nil }
func (c *hookFakeConn) Begin() (driver.Tx, error)           { return hookFakeTx{}, nil }
func (c *hookFakeConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	c.db.execs.Add(1)
	return driver.RowsAffected(1), nil
}

type hookFakeTx struct{}

func (hookFakeTx) Commit() error   { return nil }
func (hookFakeTx) Rollback() error { return nil }

type hookFakeStmt struct{ db *hookFakeDB }

func (s *hookFakeStmt) Close() error  { return nil }
func (s *hookFakeStmt) NumInput() int { return -1 }
func (s *hookFakeStmt) Exec([]driver.Value) (driver.Result, error) {
	s.db.execs.Add(1)
	return driver.RowsAffected(1), nil
}
func (s *hookFakeStmt) Query([]driver.Value) (driver.Rows, error) {
	s.db.queries.Add(1)
	return &hookFakeRows{}, nil
}

// hookFakeRows is one row of one column, v = 7.
type hookFakeRows struct{ done bool }

func (r *hookFakeRows) Columns() []string { return []string{"v"} }
func (r *hookFakeRows) Close() error      { return nil }
func (r *hookFakeRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = int64(7)
	return nil
}

func hookOpenDB(t *testing.T, h *Hook) (*sql.DB, *hookFakeDB) {
	fake := &hookFakeDB{}
	db := sql.OpenDB(Connector(h, fake))
	t.Cleanup(func() { db.Close() })
	return db, fake
}

func TestConnectorFaults(t *testing.T) {
	h := NewHook("postgres", 1)
	db, fake := hookOpenDB(t, h)
	ctx := t.Context()

	_, err := db.ExecContext(ctx, "UPDATE t SET v = 1")
	require.NoError(t, err)
	var v int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM t").Scan(&v))
	assert.Equal(t, 7, v)

	remove, _ := h.Apply(Down{})
	_, err = db.ExecContext(ctx, "UPDATE t SET v = 1")
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorIs(t, db.PingContext(ctx), ErrRefused)
	remove()
	_, err = db.ExecContext(ctx, "UPDATE t SET v = 1")
	require.NoError(t, err, "removal restores")
	assert.Equal(t, int64(2), fake.connects.Load(), "the refused connection was dropped from the pool")

	boom := errors.New("boom")
	remove, _ = h.Apply(Error{Err: boom})
	_, err = db.ExecContext(ctx, "UPDATE t SET v = 1")
	require.ErrorIs(t, err, boom)
	err = db.QueryRowContext(ctx, "SELECT v FROM t").Scan(&v)
	require.ErrorIs(t, err, boom)
	_, err = db.BeginTx(ctx, nil)
	require.ErrorIs(t, err, boom)
	remove()

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	_, err = db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	require.Error(t, err, "the fake driver has no ConnBeginTx")

	assert.Equal(t, int64(2), fake.execs.Load(), "failed calls never reach the driver")
	assert.Equal(t, int64(1), fake.queries.Load())
}

// TestConnectorLatency checks that each statement consults the hook exactly
// once, whether the driver executes it directly or through Prepare.
func TestConnectorLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("postgres", 1)
		db, _ := hookOpenDB(t, h)
		defer db.Close()
		_, err := h.Apply(Latency{Delay: 100 * time.Millisecond})
		require.NoError(t, err)

		start := time.Now()
		_, err = db.ExecContext(t.Context(), "UPDATE t SET v = 1")
		require.NoError(t, err)
		assert.Equal(t, 200*time.Millisecond, time.Since(start), "connect, then exec")

		start = time.Now()
		_, err = db.ExecContext(t.Context(), "UPDATE t SET v = 1")
		require.NoError(t, err)
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "a pooled connection: exec only")

		start = time.Now()
		var v int
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT v FROM t").Scan(&v))
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "prepare and query: one consultation")
	})
}

func TestConnectorHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("postgres", 1)
		db, _ := hookOpenDB(t, h)
		defer db.Close()
		_, _ = h.Apply(Hang{})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := db.ExecContext(ctx, "UPDATE t SET v = 1")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 5*time.Second, time.Since(start))
	})
}
