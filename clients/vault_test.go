package clients_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/nats-io/nats.go"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/vaultdata/vaulttest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestVaultProofs proves every shipped pattern whose server runs here on
// the wire, with the client the pattern names: its genome under its own
// threats (a Toxiproxy in front of the real server, named as the
// pattern's dependency, for outages and latency; a hook of the same name
// around the client's calls for an error rate, which no proxy can inject),
// held to its SLO and its declared score. The Kafka and S3 patterns are
// proven on their simulated model only (vaulttest.TestModelProofs): no
// Kafka or S3 server runs on these machines. `rafael vault verify` runs
// each subtest; RAFAEL_VAULT_UPDATE=<dir> writes each proof back:
//
//	RAFAEL_VAULT_UPDATE=$PWD/../vaultdata/patterns go test -run TestVaultProofs .
func TestVaultProofs(t *testing.T) {
	for _, c := range []struct {
		id    string
		prove func(t *testing.T, id string)
	}{
		{"pgx-outage-retry", provePgx},
		{"pgx-pool-bulkhead", provePgx},
		{"sql-postgres-composite", proveSQLPostgres},
		{"mysql-breaker-outage", proveMySQL},
		{"mysql-query-timeout", proveMySQL},
		{"redis-cache-fallback", proveRedis},
		{"redis-timeout-retry", proveRedis},
		{"nats-publish-retry", proveNATS},
		{"http-client-retry", proveHTTP},
		{"http-hedged-get", proveHTTP},
		{"grpc-deadline-retry", proveGRPC},
		{"grpc-breaker-cascade", proveGRPC},
	} {
		t.Run(c.id, func(t *testing.T) { c.prove(t, c.id) })
	}
}

// version returns the version of the module path the module requires
// (go.mod: a test binary's build information lists no dependencies).
func version(path string) string {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		return "(unknown version)"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == path {
			return f[1]
		}
	}
	return "(unknown version)"
}

// prove proves the pattern id on the wire against targets, with a hook of
// each target's name around the client's calls (the workload gets them by
// name) for what no proxy can inject.
func prove(t *testing.T, id, where string, targets []faults.Target, w harness.Workload) {
	t.Helper()
	p := vaulttest.Pattern(t, id)
	vaulttest.Prove(t, p, vaulttest.Wire{Where: where, Targets: targets, Workload: w})
}

// postgres returns a Toxiproxy named "postgres" in front of the real
// server, the connection settings through it, and the server's version.
func postgres(t *testing.T) (*toxiproxy.Proxy, *pgxpool.Config, string) {
	need(t, "PostgreSQL", postgresAddr)
	proxy := toxiproxy.Start(t, "postgres", postgresAddr)
	cfg, err := pgxpool.ParseConfig("postgres://postgres@" + proxy.Addr() + "/test?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	var server string
	require.NoError(t, pgxConnect(t, cfg).QueryRow(t.Context(), "show server_version").Scan(&server))
	return proxy, cfg, strings.Fields(server)[0]
}

// pgxConnect opens a pool on cfg, closed when the test ends.
func pgxConnect(t *testing.T, cfg *pgxpool.Config) *pgxpool.Pool {
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func provePgx(t *testing.T, id string) {
	proxy, cfg, server := postgres(t)
	cfg.MaxConns = 16
	pool := pgxConnect(t, cfg)
	where := fmt.Sprintf("wire: pgx %s on PostgreSQL %s", version("github.com/jackc/pgx/v5"), server)
	prove(t, id, where, []faults.Target{proxy}, func(ctx context.Context, p *genome.Policy) error {
		return p.Do(ctx, func(ctx context.Context) error {
			var n int
			return pool.QueryRow(ctx, "select $1::int", 7).Scan(&n)
		})
	})
}

func proveSQLPostgres(t *testing.T, id string) {
	proxy, cfg, server := postgres(t)
	db := stdlib.OpenDB(*cfg.ConnConfig)
	db.SetMaxOpenConns(32) // the bulkhead's maxConcurrent
	t.Cleanup(func() { db.Close() })
	where := fmt.Sprintf("wire: database/sql with pgx %s on PostgreSQL %s", version("github.com/jackc/pgx/v5"), server)
	prove(t, id, where, []faults.Target{proxy}, func(ctx context.Context, p *genome.Policy) error {
		return p.Do(ctx, func(ctx context.Context) error {
			var n int
			return db.QueryRowContext(ctx, "select $1::int", 7).Scan(&n)
		})
	})
}

func proveMySQL(t *testing.T, id string) {
	need(t, "MariaDB", mariadbAddr)
	proxy := toxiproxy.Start(t, "mysql", mariadbAddr)
	hook := faults.NewHook("mysql", 1).Remote()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", proxy.Addr(), "test"
	cfg.Timeout = 2 * time.Second
	connector, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(32)
	t.Cleanup(func() { db.Close() })
	var server string
	require.NoError(t, db.QueryRowContext(t.Context(), "select version()").Scan(&server))
	where := fmt.Sprintf("wire: database/sql with go-sql-driver/mysql %s on MariaDB %s", version("github.com/go-sql-driver/mysql"), strings.SplitN(server, "-", 2)[0])
	prove(t, id, where, []faults.Target{proxy, hook}, func(ctx context.Context, p *genome.Policy) error {
		return p.Do(ctx, faults.FuncErr(hook, func(ctx context.Context) error {
			var n int
			return db.QueryRowContext(ctx, "select 7").Scan(&n) // no argument: one round trip (an argument prepares a statement first)
		}))
	})
}

func proveRedis(t *testing.T, id string) {
	need(t, "Redis", redisAddr)
	proxy := toxiproxy.Start(t, "redis", redisAddr)
	hook := faults.NewHook("redis", 1).Remote()
	client := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ReadTimeout: -1, WriteTimeout: -1}) // deadlines come from the policy
	t.Cleanup(func() { client.Close() })
	key := fmt.Sprintf("rafael:vault:%s:%d", id, os.Getpid())
	require.NoError(t, client.Set(t.Context(), key, "cached", time.Minute).Err())
	t.Cleanup(func() { redis.NewClient(&redis.Options{Addr: redisAddr}).Del(context.Background(), key) })
	server := client.Info(t.Context(), "server").Val()
	ver := "(unknown)"
	for _, line := range strings.Split(server, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			ver = v
		}
	}
	where := fmt.Sprintf("wire: go-redis %s on Redis %s", version("github.com/redis/go-redis/v9"), ver)
	prove(t, id, where, []faults.Target{proxy, hook}, func(ctx context.Context, p *genome.Policy) error {
		_, err := genome.Get(ctx, p, faults.Func(hook, func(ctx context.Context) (string, error) {
			return client.Get(ctx, key).Result()
		}))
		return err
	})
}

func proveNATS(t *testing.T, id string) {
	need(t, "NATS", natsAddr)
	subject := fmt.Sprintf("rafael.vault.%s.%d", id, os.Getpid())
	responder, err := nats.Connect("nats://"+natsAddr, nats.Name("rafael-vault-responder"))
	require.NoError(t, err)
	t.Cleanup(responder.Close)
	_, err = responder.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond(m.Data) })
	require.NoError(t, err)
	require.NoError(t, responder.Flush())
	proxy := toxiproxy.Start(t, "nats", natsAddr)
	hook := faults.NewHook("nats", 1).Remote()
	client, err := nats.Connect("nats://"+proxy.Addr(), nats.Name("rafael-vault-client"),
		nats.IgnoreDiscoveredServers(), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond), nats.ReconnectJitter(10*time.Millisecond, 0))
	require.NoError(t, err)
	t.Cleanup(client.Close)
	where := fmt.Sprintf("wire: nats.go %s on NATS %s", version("github.com/nats-io/nats.go"), client.ConnectedServerVersion())
	prove(t, id, where, []faults.Target{proxy, hook}, func(ctx context.Context, p *genome.Policy) error {
		return p.Do(ctx, faults.FuncErr(hook, func(ctx context.Context) error {
			msg, err := client.RequestWithContext(ctx, subject, []byte("order"))
			if err == nil && string(msg.Data) != "order" {
				err = fmt.Errorf("reply %q", msg.Data)
			}
			return err
		}))
	})
}

func proveHTTP(t *testing.T, id string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	proxy := toxiproxy.Start(t, "upstream", srv.Listener.Addr().String())
	hook := faults.NewHook("upstream", 1).Remote()
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport}
	url := "http://" + proxy.Addr() + "/"
	prove(t, id, "wire: net/http "+strings.Fields(runtimeVersion())[0]+" on an httptest server", []faults.Target{proxy, hook}, func(ctx context.Context, p *genome.Policy) error {
		return p.Do(ctx, faults.FuncErr(hook, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil && (resp.StatusCode != http.StatusOK || string(body) != "ok") {
				err = fmt.Errorf("status %d, body %q", resp.StatusCode, body)
			}
			return err
		}))
	})
}

// runtimeVersion is the Go release net/http comes with.
func runtimeVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "go"
}

// proveGRPC proves a gRPC pattern against one gRPC health server per
// dependency of the pattern's model, each behind a proxy and a hook of its
// name: a request calls each in turn, as the model's requests do.
func proveGRPC(t *testing.T, id string) {
	p := vaulttest.Pattern(t, id)
	var targets []faults.Target
	var calls []func(context.Context) error
	for _, dep := range p.Model.Dependencies {
		proxy := toxiproxy.Start(t, dep.Name, healthServer(t))
		hook := faults.NewHook(dep.Name, 1).Remote()
		conn, err := grpc.NewClient(proxy.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		client := healthpb.NewHealthClient(conn)
		targets = append(targets, proxy, hook)
		calls = append(calls, faults.FuncErr(hook, func(ctx context.Context) error {
			_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		}))
	}
	where := fmt.Sprintf("wire: grpc-go %s on a gRPC health server", version("google.golang.org/grpc"))
	prove(t, id, where, targets, func(ctx context.Context, pol *genome.Policy) error {
		return pol.Do(ctx, func(ctx context.Context) error {
			for _, call := range calls {
				if err := call(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
