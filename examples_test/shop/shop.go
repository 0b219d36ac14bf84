// Package shop is the production code of the loop walkthrough: a small
// HTTP service that prices an item from PostgreSQL and asks a tax service
// over HTTP, with every call on its edges — the statement, the outbound
// request, the inbound load — through the genome its RAFAEL test evolved
// and the guardian adopted. Its test (../shop_test.go) drives this same
// code; its main (see [Example]) runs it from the adopted genome file
// with genome.Live, which reloads a newly adopted genome while it serves.
package shop

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rafaelabs/rafael/genome/genomehttp"
	"github.com/rafaelabs/rafael/genome/genomesql"
)

// Policy runs the service's calls: a *genome.Live in production, the
// harness's candidate in the test.
type Policy interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

// Service answers GET /price?id=N with the item's price and its tax.
type Service struct {
	db     *genomesql.DB
	tax    *http.Client
	taxURL string
}

// New returns the service: its statements go to db and its tax requests
// to taxURL over taxTransport (nil: http.DefaultTransport), both through p.
func New(p Policy, db *sql.DB, taxTransport http.RoundTripper, taxURL string) *Service {
	return &Service{db: genomesql.Wrap(db, p), tax: genomehttp.NewClient(p, taxTransport), taxURL: taxURL}
}

// Quote is the service's answer.
type Quote struct {
	ID    int64 `json:"id"`
	Price int64 `json:"price"` // cents
	Tax   int64 `json:"tax"`   // cents
}

// ServeHTTP implements http.Handler.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64)
	if r.URL.Path != "/price" || err != nil {
		http.Error(w, "want GET /price?id=N", http.StatusBadRequest)
		return
	}
	q, err := s.quote(r.Context(), id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(q)
}

func (s *Service) quote(ctx context.Context, id int64) (Quote, error) {
	q := Quote{ID: id}
	// A read: safe to run again after any failure.
	if err := s.db.QueryRowContext(genomesql.Idempotent(ctx), "select price from shop_items where id = $1", id).Scan(&q.Price); err != nil {
		return q, fmt.Errorf("price of %d: %w", id, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.taxURL+"?cents="+strconv.FormatInt(q.Price, 10), nil)
	if err != nil {
		return q, err
	}
	res, err := s.tax.Do(req)
	if err != nil {
		return q, fmt.Errorf("tax of %d: %w", id, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return q, fmt.Errorf("tax of %d: the tax service answered %s", id, res.Status)
	}
	var t struct {
		Tax int64 `json:"tax"`
	}
	if err := json.NewDecoder(res.Body).Decode(&t); err != nil {
		return q, fmt.Errorf("tax of %d: %w", id, err)
	}
	q.Tax = t.Tax
	return q, nil
}
