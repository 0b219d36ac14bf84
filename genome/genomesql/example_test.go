package genomesql_test

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomesql"
)

// A service runs its statements through the genome its RAFAEL test
// evolved. (The driver is the service's own: pgx's stdlib, lib/pq,
// go-sql-driver/mysql; clients/genomesql_test.go runs this against a real
// PostgreSQL and MariaDB.)
func Example() {
	raw, err := sql.Open("pgx", "postgres://app@127.0.0.1:5432/orders")
	if err != nil {
		fmt.Println(err) // no pgx driver registered in this example
		return
	}
	p, err := genome.Compile(&genome.Genome{Module: "orders",
		Retry:   &genome.Retry{MaxAttempts: 3, BaseDelay: 20 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2},
		Timeout: &genome.Timeout{PerAttempt: 500 * time.Millisecond, Overall: 2 * time.Second}})
	if err != nil {
		panic(err)
	}
	db := genomesql.Wrap(raw, p)
	ctx := context.Background()

	// Sent once, whatever happens after it reached the server: retried only
	// if it never did.
	_, _ = db.ExecContext(ctx, "insert into orders (id, item) values ($1, $2)", 7, "book")

	// Safe to run again: retried after any failure but its own.
	var n int
	_ = db.QueryRowContext(genomesql.Idempotent(ctx), "select count(*) from orders").Scan(&n)
	// Output: sql: unknown driver "pgx" (forgotten import?)
}
