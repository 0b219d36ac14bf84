package clients_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
)

// go-redis with its default options reaches Redis through a Toxiproxy that
// goes down for 500 ms: live connections are cut, dials refused, and the
// client's pool starts its background re-dialer, which lives until Close
// (and up to a second after).
func TestGoRedisRidesOutAnOutage(t *testing.T) {
	need(t, "Redis", redisAddr)
	cache := toxiproxy.Start(t, "redis", redisAddr)
	client := redis.NewClient(&redis.Options{Addr: cache.Addr()})
	t.Cleanup(func() { client.Close() })
	key := fmt.Sprintf("rafael:clients:%d", os.Getpid())
	t.Cleanup(func() { redis.NewClient(&redis.Options{Addr: redisAddr}).Del(context.Background(), key) })

	rep := harness.Run(t, harness.Spec{
		Module: "cart-redis",
		Genome: &genome.Genome{
			Timeout: &genome.Timeout{PerAttempt: 250 * time.Millisecond, Overall: 3 * time.Second},
			Retry:   &genome.Retry{MaxAttempts: 12, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, Multiplier: 2, Jitter: 0.2},
		},
		Threats: []scenarios.Threat{scenarios.DBOutage(cache, 2*time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error {
				return client.Incr(ctx, key).Err()
			})
		},
		SLO:       harness.SLO{SuccessRate: 0.95, RecoverWithin: 1500 * time.Millisecond},
		TimeScale: 0.25,
		Requests:  40,
	})
	m := ran(t, rep, "wire", 0.95)
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "the outage cut and refused connections: requests were retried")
}
