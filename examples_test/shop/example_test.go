package shop_test

import (
	"context"
	"database/sql"
	"log"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/rafaelabs/rafael/examples_test/shop"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomehttp"
	"github.com/rafaelabs/rafael/genome/genomelog"
)

// The service's main: it runs the genome the guardian adopted, follows the
// file while it serves, sheds load with the genome's bulkhead and rate
// limit, and logs what the policy does.
func Example() {
	const adopted = "testdata/rafael/shop.genome.json"
	ctx := context.Background()
	obs := genomelog.Both(genomelog.Observer(slog.Default(), "shop"), &genomelog.Tally{})
	live, err := genome.NewLive(adopted, genome.WithObserver(obs))
	if err != nil {
		log.Fatal(err) // a service does not start without its policy
	}
	go live.Watch(ctx, 10*time.Second, func(r genome.Reloaded) { slog.Info(r.String()) })

	cfg, err := pgx.ParseConfig("postgres://app@127.0.0.1:5432/shop")
	if err != nil {
		log.Fatal(err)
	}
	var h http.Handler = shop.New(live, sql.OpenDB(stdlib.GetConnector(*cfg)), nil, "http://tax.internal/tax")
	if g, err := genome.Load(adopted); err == nil && (g.Bulkhead != nil || g.RateLimit != nil) {
		shed, err := genomehttp.Shed(g)
		if err != nil {
			log.Fatal(err)
		}
		h = shed(h)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}
