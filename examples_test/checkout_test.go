package examples

// The checkout walkthrough: a service that writes each order to PostgreSQL
// through pgx, starting from the vault's pgx-outage-retry pattern (and, in
// process, from its own genome file testdata/rafael/checkout.genome.json).
// The same service logic runs twice:
//
//   - on the wire tier, through an embedded Toxiproxy in front of the real
//     PostgreSQL on 127.0.0.1:5432, which RAFAEL takes down for two seconds
//     and then slows by 300ms;
//   - on the simulated tier, against an in-process store behind a fault
//     hook, where the same threats pass in virtual time and a seed replays
//     a trial exactly.

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/vaultdata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Store is where the checkout service keeps orders.
type Store interface {
	Insert(ctx context.Context, id int64, cents int) error
}

// Checkout is the service under test: it places an order through the policy
// compiled from its genome. The insert is idempotent (on conflict do
// nothing), so retrying it is safe.
type Checkout struct {
	Store Store
	ids   atomic.Int64
}

// Place places one order.
func (c *Checkout) Place(ctx context.Context, p *genome.Policy) error {
	id := c.ids.Add(1)
	return p.Do(ctx, func(ctx context.Context) error { return c.Store.Insert(ctx, id, 4200) })
}

// pgStore keeps orders in a PostgreSQL table of its own.
type pgStore struct {
	pool  *pgxpool.Pool
	table string
}

func (s *pgStore) Insert(ctx context.Context, id int64, cents int) error {
	_, err := s.pool.Exec(ctx, "insert into "+s.table+"(id, cents) values ($1, $2) on conflict (id) do nothing", id, cents)
	return err
}

// memStore keeps orders in memory; every call goes through a fault hook and
// takes a millisecond, as a round trip to a database would.
type memStore struct {
	hook *faults.Hook
	mu   sync.Mutex
	rows map[int64]int
}

func (s *memStore) Insert(ctx context.Context, id int64, cents int) error {
	if err := s.hook.Before(ctx); err != nil {
		return err
	}
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[id] = cents
	return nil
}

const postgres = "127.0.0.1:5432"

// needPostgres skips the test, in one line, only when PostgreSQL cannot be
// reached at all (make test starts it when it is installed but down).
func needPostgres(t *testing.T) {
	c, err := net.DialTimeout("tcp", postgres, time.Second)
	if err != nil {
		t.Skipf("PostgreSQL is not reachable on %s (run make services): %v", postgres, err)
	}
	c.Close()
}

// openStore connects a pool to PostgreSQL at addr (the proxy) and creates a
// table for this test, dropped at its end.
func openStore(t *testing.T, addr string) *pgStore {
	cfg, err := pgxpool.ParseConfig(fmt.Sprintf("postgres://postgres@%s/test?sslmode=disable&connect_timeout=2", addr))
	require.NoError(t, err)
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s := &pgStore{pool: pool, table: fmt.Sprintf("rafael_orders_%d_%d", os.Getpid(), time.Now().UnixNano())}
	_, err = pool.Exec(t.Context(), "create table "+s.table+" (id bigint primary key, cents int not null)")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "drop table if exists "+s.table)
	})
	return s
}

func TestCheckoutOnPostgresSurvivesOutageAndLatency(t *testing.T) {
	needPostgres(t)
	start := vaultdata.MustGenome(t, "pgx-outage-retry") // a proven starting point from the vault

	db := toxiproxy.Start(t, "postgres", postgres) // a real Toxiproxy in front of the real server
	store := openStore(t, db.Addr())
	svc := &Checkout{Store: store}

	rep := harness.Run(t, harness.Spec{
		Module: "checkout",
		Genome: start,
		Threats: []scenarios.Threat{
			scenarios.DBOutage(db, 2*time.Second, scenarios.Steady(500*time.Millisecond), scenarios.RecoverFor(time.Second)),
			scenarios.Latency(db, 300*time.Millisecond, scenarios.Jitter(50*time.Millisecond),
				scenarios.Steady(500*time.Millisecond), scenarios.InjectFor(2*time.Second), scenarios.RecoverFor(time.Second)),
		},
		Workload: svc.Place,
		SLO:      harness.SLO{SuccessRate: 0.99, P99: 3 * time.Second, RecoverWithin: time.Second},
		Requests: 50,
	})

	assert.Equal(t, "wire", rep.Tier, "a threat on a network proxy runs on the wire tier")
	for _, row := range rep.Threats {
		assert.NotEqual(t, report.Broken, row.Status, "%s: %+v", row.Threat, row.Trials)
	}
	// Every order the service reported placed is in the table.
	var rows int
	require.NoError(t, store.pool.QueryRow(t.Context(), "select count(*) from "+store.table).Scan(&rows))
	placed := 0
	for _, row := range rep.Threats {
		for _, tr := range row.Trials {
			placed += tr.Metrics.Succeeded
		}
	}
	assert.Equal(t, placed, rows, "each placed order was written once")
}

func TestCheckoutInProcessSurvivesOutageAndLatency(t *testing.T) {
	start, err := genome.Load("testdata/rafael/checkout.genome.json")
	require.NoError(t, err)

	db := faults.NewHook("postgres", 1) // an in-process stand-in: virtual time, exact replay
	svc := &Checkout{Store: &memStore{hook: db, rows: map[int64]int{}}}

	rep := harness.Run(t, harness.Spec{
		Module: "checkout",
		Genome: start,
		Threats: []scenarios.Threat{
			scenarios.DBOutage(db, 2*time.Second),
			scenarios.Latency(db, 300*time.Millisecond, scenarios.Jitter(50*time.Millisecond)),
		},
		Workload: svc.Place,
		SLO:      harness.SLO{SuccessRate: 0.99, P99: 3 * time.Second, RecoverWithin: time.Second},
	})

	assert.Equal(t, "simulated", rep.Tier)
	for _, row := range rep.Threats {
		assert.NotEqual(t, report.Broken, row.Status, row.Threat)
		assert.Len(t, row.Trials, 3, "three seeds per threat on the simulated tier")
	}
	assert.Greater(t, rep.Baseline.Score, 80.0)

	// The run wrote the report as JSON, Markdown and HTML; the JSON is the
	// contract, so read it back.
	require.Len(t, rep.Files, 3)
	back, err := report.ReadFile(rep.Files[0])
	require.NoError(t, err)
	assert.Equal(t, rep.Baseline, back.Baseline)
	assert.Greater(t, back.Baseline.Score, 80.0)
	assert.Equal(t, "db-outage", back.Threats[0].Name)
	assert.FileExists(t, rep.Files[1]) // .md
	assert.FileExists(t, rep.Files[2]) // .html
}

// TestCheckoutEvolvesFromNothing starts the same service with no resilience
// at all: the outage breaks its SLO, and evolution finds the genes and
// numbers that survive it, proves them against smaller outages with rapid,
// and reports the delta.
func TestCheckoutEvolvesFromNothing(t *testing.T) {
	db := faults.NewHook("postgres", 1)
	svc := &Checkout{Store: &memStore{hook: db, rows: map[int64]int{}}}

	rep := harness.Run(t, harness.Spec{
		Module: "checkout",
		Genome: &genome.Genome{}, // no retry, no timeout, nothing
		Threats: []scenarios.Threat{
			scenarios.DBOutage(db, 2*time.Second),
			scenarios.Latency(db, 300*time.Millisecond, scenarios.Jitter(50*time.Millisecond)),
		},
		Workload: svc.Place,
		SLO:      harness.SLO{SuccessRate: 0.99, P99: 3 * time.Second, RecoverWithin: time.Second},
		Evolve:   &evolve.Options{Generations: 12, Population: 12},
	})

	require.Len(t, rep.Files, 3)
	back, err := report.ReadFile(rep.Files[0])
	require.NoError(t, err)
	require.NotNil(t, back.Evolved)
	assert.Equal(t, report.Mitigated, back.Threats[0].Verdict, "the outage no longer breaks the SLO")
	assert.Greater(t, back.Evolved.Score, back.Baseline.Score)
	assert.NotEmpty(t, back.GenomeDiff, "the report says what changed")
	assert.NotEmpty(t, back.History)
	noDeadGene(t, back)
}
