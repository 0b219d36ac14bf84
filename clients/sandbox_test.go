package clients_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/vaultdata"
	"github.com/stretchr/testify/assert"
)

// A pgx pool in a sandbox: its own network namespace, in which only
// PostgreSQL's port is handed in, and a memory limit. The test function
// runs again in the sandbox, so its Toxiproxy and pool live there, and the
// proxy's upstream, 127.0.0.1:5432, is this host's PostgreSQL through the
// hand. The vault's pgx genome rides out the outage in there as it does
// outside.
func TestASandboxedPgxPoolReachesPostgresThroughItsHand(t *testing.T) {
	need(t, "PostgreSQL", postgresAddr)
	if err := evolve.Sandbox.Available(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	db := toxiproxy.Start(t, "postgres", postgresAddr)
	cfg, err := pgxpool.ParseConfig("postgres://postgres@" + db.Addr() + "/test?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	rep := harness.Run(t, harness.Spec{
		Module:  "orders-sandboxed",
		Genome:  vaultdata.MustGenome(t, "pgx-outage-retry"),
		Threats: []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			if harness.InChild() {
				harness.Count(ctx, "in a sandbox", 1)
			}
			return p.Do(ctx, func(ctx context.Context) error {
				var n int
				return pool.QueryRow(ctx, "select $1::int", 7).Scan(&n)
			})
		},
		SLO:       harness.SLO{SuccessRate: 0.95, RecoverWithin: time.Second},
		TimeScale: 0.25,
		Requests:  40,
		Sandbox:   &harness.Sandbox{Memory: 256 << 20, Hand: []string{postgresAddr}},
	})
	m := ran(t, rep, "wire", 0.95)
	assert.Equal(t, float64(m.Requests), m.Counts["in a sandbox"], "every request ran in the sandbox")
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "the outage cut and refused connections: requests were retried")
}
