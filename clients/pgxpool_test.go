package clients_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/vaultdata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A pgx pool reaches PostgreSQL through a Toxiproxy that goes down for
// 500 ms (a 2 s outage at TimeScale 0.25): the live connections are cut and
// new ones refused, and the vault's pgx genome retries through it.
func TestPgxPoolRidesOutAnOutage(t *testing.T) {
	need(t, "PostgreSQL", postgresAddr)
	db := toxiproxy.Start(t, "postgres", postgresAddr)
	cfg, err := pgxpool.ParseConfig("postgres://postgres@" + db.Addr() + "/test?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	rep := harness.Run(t, harness.Spec{
		Module:  "orders-pgxpool",
		Genome:  vaultdata.MustGenome(t, "pgx-outage-retry"),
		Threats: []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error {
				var n int
				return pool.QueryRow(ctx, "select $1::int", 7).Scan(&n)
			})
		},
		SLO:       harness.SLO{SuccessRate: 0.95, RecoverWithin: time.Second},
		TimeScale: 0.25,
		Requests:  40,
	})
	m := ran(t, rep, "wire", 0.95)
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "the outage cut and refused connections: requests were retried")
}
