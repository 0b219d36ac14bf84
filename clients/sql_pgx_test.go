package clients_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/vaultdata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pgxStdlib opens database/sql on PostgreSQL through pgx's stdlib driver,
// with the real connector wrapped by a fault hook (README's first example,
// on a real driver), and closes it when the test ends.
func pgxStdlib(t *testing.T) (*faults.Hook, *sql.DB) {
	cfg, err := pgx.ParseConfig("postgres://postgres@" + postgresAddr + "/test?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	hook := faults.NewHook("postgres", 1)
	db := sql.OpenDB(faults.Connector(hook, stdlib.GetConnector(*cfg)))
	db.SetMaxOpenConns(8)
	t.Cleanup(func() { db.Close() })
	return hook, db
}

// selectOne is one request: a query through the policy.
func selectOne(db *sql.DB) harness.Workload {
	return func(ctx context.Context, p *genome.Policy) error {
		return p.Do(ctx, func(ctx context.Context) error {
			var n int
			return db.QueryRowContext(ctx, "select 1").Scan(&n)
		})
	}
}

// A hook around a real driver's connector fronts a real server: Tier Auto
// runs it on the wire tier, in real time, where the hook's outage refuses
// queries and the genome retries through it. (On the simulated tier the
// driver's timers would cross the synctest bubble, a fatal error that ends
// the test binary.)
func TestSQLOnPgxStdlibRunsOnTheWireTier(t *testing.T) {
	need(t, "PostgreSQL", postgresAddr)
	hook, db := pgxStdlib(t)
	rep := harness.Run(t, harness.Spec{
		Module:    "orders-sql-pgx",
		Genome:    vaultdata.MustGenome(t, "sql-postgres-composite"),
		Threats:   []scenarios.Threat{scenarios.DBOutage(hook, 2*time.Second)},
		Workload:  selectOne(db),
		SLO:       harness.SLO{SuccessRate: 0.95, RecoverWithin: time.Second},
		TimeScale: 0.25,
		Requests:  40,
	})
	m := ran(t, rep, "wire", 0.95)
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "the hook refused queries during the outage: requests were retried")
}

func TestHelperSQLOnPgxStdlibSimulated(t *testing.T) {
	helper(t)
	hook, db := pgxStdlib(t)
	harness.Run(t, harness.Spec{
		Module:   "orders-sql-pgx",
		Threats:  []scenarios.Threat{scenarios.DBOutage(hook, 2*time.Second)},
		Workload: selectOne(db),
		Tier:     harness.Simulated,
	})
}

// Forcing the simulated tier on a hook in front of a real driver fails the
// test before any trial, naming the threat, the target and the fix — instead
// of the fatal error that killed the test binary (issue 14).
func TestSQLOnPgxStdlibForcedSimulatedIsRefused(t *testing.T) {
	out := rerun(t, "TestHelperSQLOnPgxStdlibSimulated")
	refusedBeforeAnyTrial(t, out, "TestHelperSQLOnPgxStdlibSimulated", "postgres")
}

// refusedBeforeAnyTrial checks the output of a helper that forced the
// simulated tier on the hook named target.
func refusedBeforeAnyTrial(t *testing.T, out, test, target string) {
	t.Helper()
	assert.Contains(t, out, "--- FAIL: "+test+" ", out)
	assert.Contains(t, out, `Threats[0] "db-outage" step 0: target "`+target+`" is a hook in front of a real driver`)
	assert.Contains(t, out, "set Tier: harness.Wire, or leave Tier zero (auto picks wire for it)")
	assert.Contains(t, out, "InProcess()")
	assert.NotContains(t, out, "=== RUN   "+test+"/", "no trial ran")
	assert.NotContains(t, out, "fatal error:", "the binary did not die")
}
