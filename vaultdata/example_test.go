package vaultdata_test

import (
	"fmt"
	"strings"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/vaultdata"
)

// Search by stack: "postgres" matches every PostgreSQL driver.
func ExampleVault_Search_stack() {
	for _, p := range vaultdata.Default().Search(vaultdata.Query{Stack: "postgres"}) {
		fmt.Println(p.ID, p.Stack, p.Category)
	}
	// Output:
	// pgx-pool-bulkhead postgres/pgx bulkhead
	// sql-postgres-composite postgres/database-sql composite
	// pgx-outage-retry postgres/pgx retry
}

// Search by category, best score first.
func ExampleVault_Search_category() {
	for _, p := range vaultdata.Default().Search(vaultdata.Query{Category: vaultdata.Hedging}) {
		fmt.Println(p.ID, p.Score)
	}
	// Output:
	// s3-hedged-get 97
	// http-hedged-get 91
}

// Search by minimum reliability score and tag.
func ExampleVault_Search_minScore() {
	for _, p := range vaultdata.Default().Search(vaultdata.Query{MinScore: 92, Tags: []string{"idempotent"}}) {
		fmt.Println(p.ID, p.Score)
	}
	// Output:
	// http-client-retry 92
}

func ExampleVault_Genome() {
	g, err := vaultdata.Default().Genome("pgx-outage-retyr")
	fmt.Println(g, err)
	g, _ = vaultdata.Default().Genome("pgx-outage-retry")
	fmt.Println(g.Genes())
	// Output:
	// <nil> vaultdata: no such pattern "pgx-outage-retyr" in a vault of 15; did you mean "pgx-outage-retry" or "pgx-pool-bulkhead"?
	// [timeout retry]
}

// Read a large vault lazily: Open checks at once only what a search needs,
// and each pattern's genome, threats and the rest when first used. Check
// checks every file before the vault is trusted.
func ExampleLazy() {
	v, err := vaultdata.Open("patterns", vaultdata.Lazy())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := v.Check(); err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range v.Search(vaultdata.Query{Stack: "redis"}) {
		fmt.Println(p.ID, p.Genome.Genes())
	}
	// Output:
	// redis-cache-fallback [fallback timeout]
	// redis-timeout-retry [timeout retry]
}

// A pattern's threats, built against the targets a test has: a proxy in
// front of the real NATS can take it down, but no proxy can make a call
// fail with an error; that threat is named with what it needs, not dropped
// in silence.
func ExamplePattern_Scenarios() {
	p, err := vaultdata.Default().Pattern("nats-publish-retry")
	if err != nil {
		panic(err)
	}
	threats, skipped, err := p.Scenarios(proxyOnly{"nats"})
	if err != nil {
		panic(err)
	}
	for _, th := range threats {
		fmt.Println("built:", th)
	}
	for _, un := range skipped {
		fmt.Println("not built:", un.Decl.Kind, "needs", strings.SplitN(un.Need, ":", 2)[0])
	}
	// Output:
	// built: db-outage(outage=1s) [high]
	// not built: error-rate needs an in-process hook around the client's calls (faults.NewHook with faults.FuncErr, Connector or RoundTripper)
}

// proxyOnly stands for a network proxy (faults/toxiproxy): every fault but
// an error.
type proxyOnly struct{ name string }

func (p proxyOnly) Name() string                       { return p.name }
func (p proxyOnly) Supports(k faults.Kind) bool        { return k != faults.KindError }
func (p proxyOnly) Apply(faults.Fault) (func(), error) { return func() {}, nil }
