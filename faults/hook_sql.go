package faults

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"sync/atomic"
)

// Connector returns c wrapped so that h's faults act on a database reached
// through any driver; open it with sql.OpenDB. Connect consults h before
// connecting, and each connection consults it before each statement it
// executes (Exec, Query, a prepared statement's Exec or Query), before
// beginning a transaction and before a Ping: [Down] refuses with an error
// matching [ErrRefused], [Error] fails with its error, [Reset] resets,
// [Hang] holds until the context is done and [Latency] delays. A connection
// that saw a refusal or a reset reports itself invalid, so that database/sql
// drops it from its pool.
//
// The connections pass driver.ConnBeginTx, ExecerContext, QueryerContext,
// ConnPrepareContext, Pinger, SessionResetter, Validator and
// NamedValueChecker through to the driver's connection when it implements
// them, and otherwise fall back as database/sql would (ErrSkip for Exec and
// Query, so that it prepares a statement).
//
// A driver reaches a database server, so h becomes [Networked] and a harness
// runs it in real time; for a fake driver in the process, declare the hook
// with [Hook.InProcess].
func Connector(h *Hook, c driver.Connector) driver.Connector {
	h.frontsRemote()
	return &hookConnector{h: h, c: c}
}

type hookConnector struct {
	h *Hook
	c driver.Connector
}

// Connect consults the hook, then connects with the wrapped connector.
func (c *hookConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := c.h.Before(ctx); err != nil {
		return nil, err
	}
	conn, err := c.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &hookSQLConn{h: c.h, c: conn}, nil
}

// Driver returns the wrapped connector's driver.
func (c *hookConnector) Driver() driver.Driver { return c.c.Driver() }

// Close closes the wrapped connector if it is an io.Closer; sql.DB.Close
// calls it.
func (c *hookConnector) Close() error {
	if cl, ok := c.c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

type hookSQLConn struct {
	h *Hook
	c driver.Conn
	// bad is set once the hook refused or reset a call on this conn.
	bad atomic.Bool
	// skipped is set when the driver's ExecContext or QueryContext returned
	// ErrSkip after the hook was consulted: database/sql then runs the same
	// statement through Prepare, which must not consult the hook again.
	skipped atomic.Bool
}

func (c *hookSQLConn) consult(ctx context.Context) error {
	if c.skipped.Swap(false) {
		return nil
	}
	err := c.h.Before(ctx)
	if errors.Is(err, ErrRefused) || errors.Is(err, ErrReset) {
		c.bad.Store(true)
	}
	return err
}

func (c *hookSQLConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *hookSQLConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if p, ok := c.c.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, query)
	} else {
		s, err = c.c.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &hookSQLStmt{c: c, s: s}, nil
}

func (c *hookSQLConn) Close() error { return c.c.Close() }

func (c *hookSQLConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *hookSQLConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.consult(ctx); err != nil {
		return nil, err
	}
	if b, ok := c.c.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	if opts.Isolation != 0 {
		return nil, errors.New("faults: driver does not support non-default isolation level")
	}
	if opts.ReadOnly {
		return nil, errors.New("faults: driver does not support read-only transactions")
	}
	return c.c.Begin() //lint:ignore SA1019 the fallback database/sql itself uses
}

func (c *hookSQLConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.c.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.consult(ctx); err != nil {
		return nil, err
	}
	r, err := e.ExecContext(ctx, query, args)
	c.skipped.Store(err == driver.ErrSkip)
	return r, err
}

func (c *hookSQLConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.c.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.consult(ctx); err != nil {
		return nil, err
	}
	r, err := q.QueryContext(ctx, query, args)
	c.skipped.Store(err == driver.ErrSkip)
	return r, err
}

func (c *hookSQLConn) Ping(ctx context.Context) error {
	if err := c.consult(ctx); err != nil {
		return err
	}
	if p, ok := c.c.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *hookSQLConn) ResetSession(ctx context.Context) error {
	if c.bad.Load() {
		return driver.ErrBadConn
	}
	if r, ok := c.c.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *hookSQLConn) IsValid() bool {
	if c.bad.Load() {
		return false
	}
	if v, ok := c.c.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *hookSQLConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.c.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// hookSQLStmt consults the hook before each execution of a prepared statement.
type hookSQLStmt struct {
	c *hookSQLConn
	s driver.Stmt
}

func (s *hookSQLStmt) Close() error  { return s.s.Close() }
func (s *hookSQLStmt) NumInput() int { return s.s.NumInput() }

func (s *hookSQLStmt) Exec(args []driver.Value) (driver.Result, error) {
	if err := s.c.consult(context.Background()); err != nil {
		return nil, err
	}
	return s.s.Exec(args) //lint:ignore SA1019 passing the driver's own method through
}

func (s *hookSQLStmt) Query(args []driver.Value) (driver.Rows, error) {
	if err := s.c.consult(context.Background()); err != nil {
		return nil, err
	}
	return s.s.Query(args) //lint:ignore SA1019 passing the driver's own method through
}

func (s *hookSQLStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.c.consult(ctx); err != nil {
		return nil, err
	}
	if e, ok := s.s.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vs, err := hookValues(args)
	if err != nil {
		return nil, err
	}
	return s.s.Exec(vs) //lint:ignore SA1019 the fallback database/sql itself uses
}

func (s *hookSQLStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.c.consult(ctx); err != nil {
		return nil, err
	}
	if q, ok := s.s.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vs, err := hookValues(args)
	if err != nil {
		return nil, err
	}
	return s.s.Query(vs) //lint:ignore SA1019 the fallback database/sql itself uses
}

func (s *hookSQLStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.s.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// values converts arguments for a driver without StmtExecContext or
// StmtQueryContext, refusing named ones as database/sql does.
func hookValues(args []driver.NamedValue) ([]driver.Value, error) {
	vs := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("faults: driver does not support the use of Named Parameters")
		}
		vs[i] = a.Value
	}
	return vs, nil
}
