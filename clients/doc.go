// Package clients holds RAFAEL's tests against real clients, as users use
// them: a pgx pool and database/sql (pgx's stdlib driver) on PostgreSQL,
// database/sql with go-sql-driver/mysql on MariaDB, an http.Client with
// keep-alive against an httptest server, go-redis on Redis, nats.go on NATS
// and a gRPC client of a real gRPC server (a func hook declared Remote in a
// unary interceptor, injecting gRPC statuses). Each test opens its client,
// closes it in t.Cleanup and calls harness.Run with no LeakOptions, through
// a toxiproxy.Proxy (package faults/toxiproxy) in front of the real server
// or a fault hook around the real client. The network faults themselves
// are tested here with pgx and go-redis, through the embedded proxy and
// through a toxiproxy-server on 127.0.0.2.
//
// It is a nested module (github.com/rafaelabs/rafael/clients, with a replace
// of the root module) so that drivers the library does not need do not raise
// the minimum versions of the library's users. The servers are the
// project's services on 127.0.0.1 (make services starts them); a test skips,
// saying so in one line, only when its server cannot be reached.
package clients
