package clients_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mysqlDB opens database/sql on MariaDB through go-sql-driver/mysql, with
// the real connector wrapped by a fault hook, and closes it when the test
// ends.
func mysqlDB(t *testing.T) (*faults.Hook, *sql.DB) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", mariadbAddr, "test"
	cfg.Timeout = 2 * time.Second
	connector, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	hook := faults.NewHook("mariadb", 1)
	db := sql.OpenDB(faults.Connector(hook, connector))
	db.SetMaxOpenConns(8)
	t.Cleanup(func() { db.Close() })
	return hook, db
}

// The same as TestSQLOnPgxStdlibRunsOnTheWireTier with MySQL's driver, whose
// connections each start a watcher goroutine: Auto picks the wire tier, and
// Run's leak check passes with the connections still pooled.
func TestSQLOnMySQLRunsOnTheWireTier(t *testing.T) {
	need(t, "MariaDB", mariadbAddr)
	hook, db := mysqlDB(t)
	rep := harness.Run(t, harness.Spec{
		Module: "orders-sql-mysql",
		Genome: &genome.Genome{
			Timeout: &genome.Timeout{PerAttempt: 500 * time.Millisecond, Overall: 4 * time.Second},
			Retry:   &genome.Retry{MaxAttempts: 10, BaseDelay: 25 * time.Millisecond, MaxDelay: 200 * time.Millisecond, Multiplier: 2, Jitter: 0.2},
		},
		Threats:   []scenarios.Threat{scenarios.DBOutage(hook, 2*time.Second)},
		Workload:  selectOne(db),
		SLO:       harness.SLO{SuccessRate: 0.95, RecoverWithin: time.Second},
		TimeScale: 0.25,
		Requests:  40,
	})
	m := ran(t, rep, "wire", 0.95)
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "the hook refused queries during the outage: requests were retried")
}

func TestHelperSQLOnMySQLSimulated(t *testing.T) {
	helper(t)
	hook, db := mysqlDB(t)
	harness.Run(t, harness.Spec{
		Module:   "orders-sql-mysql",
		Threats:  []scenarios.Threat{scenarios.DBOutage(hook, 2*time.Second)},
		Workload: selectOne(db),
		Tier:     harness.Simulated,
	})
}

func TestSQLOnMySQLForcedSimulatedIsRefused(t *testing.T) {
	out := rerun(t, "TestHelperSQLOnMySQLSimulated")
	refusedBeforeAnyTrial(t, out, "TestHelperSQLOnMySQLSimulated", "mariadb")
}
