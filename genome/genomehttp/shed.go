package genomehttp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/rafaelabs/rafael/genome"
)

// Shed returns middleware that sheds load on the server side with g's
// bulkhead and rate limit genes: a request beyond them gets 503 Service
// Unavailable with a Retry-After header (how long until the rate limit
// admits a request again, at least a second) instead of being served late
// or queued without bound. Only those two genes apply: a handler cannot be
// retried, and its timeouts are the server's. A genome with neither is an
// error, as a middleware that never sheds would be a silent no-op.
func Shed(g *genome.Genome, opts ...genome.Option) (func(http.Handler) http.Handler, error) {
	if g == nil || g.Bulkhead == nil && g.RateLimit == nil {
		return nil, errors.New("genomehttp: Shed needs a genome with a bulkhead or a rate limit gene: add one (see genome.Bulkhead, genome.RateLimit)")
	}
	only := &genome.Genome{Module: g.Module, Bulkhead: g.Bulkhead, RateLimit: g.RateLimit}
	p, err := genome.Compile(only, opts...)
	if err != nil {
		return nil, fmt.Errorf("genomehttp: Shed: %w", err)
	}
	wait := "1"
	if rl := g.RateLimit; rl != nil && rl.Rate > 0 {
		wait = strconv.Itoa(int(max(1, math.Ceil(1/rl.Rate))))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served := false
			err := p.Do(r.Context(), func(ctx context.Context) error {
				served = true
				next.ServeHTTP(w, r)
				return nil
			})
			if served || err == nil {
				return
			}
			if errors.Is(err, genome.ErrBulkheadFull) || errors.Is(err, genome.ErrRateLimited) {
				w.Header().Set("Retry-After", wait)
				http.Error(w, "503 service unavailable: shedding load ("+err.Error()+")", http.StatusServiceUnavailable)
				return
			}
			// The client went away while waiting for a slot: nobody reads
			// an answer.
		})
	}, nil
}
