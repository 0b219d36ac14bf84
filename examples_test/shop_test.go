package examples

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/examples_test/shop"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomehttp"
	"github.com/rafaelabs/rafael/genome/genomelog"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShopLoop walks the whole loop on a service's production code
// (package shop: PostgreSQL through genomesql, a tax service through
// genomehttp): its test evolves the genome on the wire tier against a tax
// service that fails a third of its requests, proposes the champion, the
// reviewers approve it, the next run adopts it; then the service, running
// from its genome file with genome.Live while it serves, reloads the
// adopted genome, and its live figures show the change under the same
// fault.
func TestShopLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("two wire-tier evolutions and the rafael command: skipped with -short")
	}
	reachable(t)
	db := shopDB(t)
	taxHook := faults.NewHook("tax", 7)
	tax := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cents, _ := strconv.ParseInt(r.URL.Query().Get("cents"), 10, 64)
		fmt.Fprintf(w, `{"tax": %d}`, cents/5)
	}))
	t.Cleanup(tax.Close)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	taxTransport := faults.RoundTripper(taxHook, transport) // the tax calls' faults, on the shop's side

	// The test drives the service's own code, its calls through the
	// harness's candidate genome of the moment.
	var candidate atomic.Pointer[genome.Policy]
	svc := shop.New(policyOf(func() shop.Policy { return candidate.Load() }), db, taxTransport, tax.URL)
	// Inbound, the service sheds load beyond 64 requests at once, as in
	// production (shop's Example).
	shed, err := genomehttp.Shed(&genome.Genome{Module: "shop-inbound", Bulkhead: &genome.Bulkhead{MaxConcurrent: 64}})
	require.NoError(t, err)
	front := httptest.NewServer(shed(svc))
	t.Cleanup(front.Close)
	client := front.Client()
	t.Cleanup(client.CloseIdleConnections)
	quote := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/price?id=7", nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(body)))
		}
		var q shop.Quote
		if err := json.Unmarshal(body, &q); err != nil || q.Price != 1000 || q.Tax != 200 {
			return fmt.Errorf("quote %s: %v", body, err)
		}
		return nil
	}
	flaky := scenarios.Compose("tax-flaky", scenarios.High, 2*time.Second,
		scenarios.Step{Target: taxHook, Fault: faults.Error{Rate: 0.35, Status: http.StatusServiceUnavailable}})
	spec := harness.Spec{
		Module:    "shop",
		Tier:      harness.Wire,
		Threats:   []scenarios.Threat{flaky},
		Workload:  func(ctx context.Context, p *genome.Policy) error { candidate.Store(p); return quote(ctx) },
		SLO:       harness.SLO{SuccessRate: 0.95},
		Requests:  40,
		Trials:    1,
		Seed:      3,
		TimeScale: 0.2, // the phases in a fifth of their time: 1s a trial
		Evolve:    &evolve.Options{Generations: 4, Population: 6, Genes: []genome.GeneKind{genome.GeneRetry, genome.GeneTimeout}},
	}

	// The guardian: two approvers, alice and bob; CI's key signs.
	rafael := buildRafael(t)
	keys, dir := t.TempDir(), filepath.Join(t.TempDir(), "rafael")
	for _, who := range []string{"ci", "alice", "bob"} {
		run(t, rafael, "keygen", "-o", filepath.Join(keys, who+".pem"))
	}
	run(t, rafael, "guardian", "init", "-dir", dir,
		"-approver", "alice="+filepath.Join(keys, "alice.pem.pub"), "-approver", "bob="+filepath.Join(keys, "bob.pem.pub"))
	requireApprovals(t, dir, 1) // one approval for a medium change; a high one needs both
	useGuardian(t, dir, keys)

	// Production, before: the service runs its genome file (the empty
	// genome: no resilience yet) through genome.Live.
	served := filepath.Join(t.TempDir(), "shop.genome.json")
	empty, err := (&genome.Genome{Module: "shop"}).MarshalJSON()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(served, empty, 0o644))
	tally := &genomelog.Tally{}
	live, err := genome.NewLive(served, genome.WithObserver(tally))
	require.NoError(t, err)

	// Propose, approve, run again: the approval counts when the next run
	// proposes the same change. On the wire tier a run measures in real
	// time, and a busy machine can make the next champion another change,
	// which is then proposed and approved in its turn — as a team would.
	rep := harness.Run(t, spec)
	for round := 1; ; round++ {
		require.NotNil(t, rep.Audit, "the run proposed its champion")
		if rep.Audit.Status == "adopted" {
			break
		}
		require.Equal(t, "pending", rep.Audit.Status)
		require.Less(t, round, 4, "three proposals approved and none adopted")
		digest := latestPending(t, run(t, rafael, "approve", "-dir", dir))
		for _, who := range []string{"alice", "bob"} {
			run(t, rafael, "approve", digest, "-dir", dir, "-key", filepath.Join(keys, who+".pem"), "-actor", who)
		}
		rep = harness.Run(t, spec)
	}
	adoptedPath := filepath.Join(dir, "shop.genome.json")
	adopted, err := genome.Load(adoptedPath)
	require.NoError(t, err, "the adoption wrote the genome file")
	require.True(t, adopted.Has(genome.GeneRetry), "the champion retries the tax service: %s", adopted.Digest())

	// Production, under the same fault, before and after the service
	// reloads the adopted genome while it serves.
	serve := func() genomelog.Figures {
		*tally = genomelog.Tally{}
		remove, err := taxHook.Apply(faults.Error{Rate: 0.35, Status: http.StatusServiceUnavailable})
		require.NoError(t, err)
		defer remove()
		for range 60 {
			candidate.Store(live.Policy())
			_ = quote(t.Context())
		}
		return tally.Figures()
	}
	before := serve()
	data, err := os.ReadFile(adoptedPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(served+".tmp", data, 0o644))
	require.NoError(t, os.Rename(served+".tmp", served)) // the deploy step: the adopted file, atomically
	swapped, err := live.Reload()
	require.NoError(t, err)
	require.True(t, swapped)
	assert.Equal(t, adopted.Digest(), live.Digest(), "the service runs the adopted genome")
	after := serve()
	t.Logf("rafael: the shop under a flaky tax service: success %.0f %% at %.2f attempts a call before, %.0f %% at %.2f after reloading %s",
		100*before.SuccessRate, before.AttemptsPerCall, 100*after.SuccessRate, after.AttemptsPerCall, adopted.Digest())
	assert.Greater(t, after.SuccessRate, before.SuccessRate, "the adopted genome does better under the fault it was evolved against")
	assert.Greater(t, after.AttemptsPerCall, 1.0, "by retrying")
}

// latestPending is the newest pending proposal rafael approve lists: each
// proposal's block starts with its digest, unindented, oldest first.
func latestPending(t *testing.T, list string) string {
	t.Helper()
	last := ""
	for _, l := range strings.Split(list, "\n") {
		if strings.HasPrefix(l, "sha256:") {
			last = strings.TrimSpace(l)
		}
	}
	require.NotEmpty(t, last, "rafael approve lists no proposal:\n%s", list)
	return last
}

// policyOf is a shop.Policy that runs each call through whatever current
// returns at the time.
type policyOf func() shop.Policy

func (f policyOf) Do(ctx context.Context, fn func(context.Context) error) error {
	return f().Do(ctx, fn)
}

// reachable skips t when PostgreSQL is not there.
func reachable(t *testing.T) {
	t.Helper()
	cfg, err := pgx.ParseConfig("postgres://postgres@" + postgres + "/test?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	c, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Skipf("PostgreSQL is not reachable on %s (run make services): %v", postgres, err)
	}
	c.Close(t.Context())
}

// shopDB opens the shop's database through pgx's database/sql driver with
// its one item, id 7 at 1000 cents.
func shopDB(t *testing.T) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig("postgres://postgres@" + postgres + "/test?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(t.Context(), "create table if not exists shop_items (id bigint primary key, price bigint not null)")
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), "insert into shop_items values (7, 1000) on conflict (id) do update set price = excluded.price")
	require.NoError(t, err)
	return db
}
