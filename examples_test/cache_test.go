package examples

// The cache walkthrough: a cache-aside read path. Product names are read
// from Redis through go-redis; on a miss or a cache failure the service
// reads the database (slower) and fills the cache. The cache slows down by
// 300ms, and its connections are dropped and then reset. The service's
// objective is latency: answers within 150ms at the 99th percentile, which
// only a short timeout on the cache call can keep. The same service logic
// runs twice:
//
//   - on the simulated tier against an in-memory cache behind a fault hook,
//     where evolution starts from a genome without a timeout;
//   - on the wire tier against the real Redis on 127.0.0.1:6379 behind an
//     embedded Toxiproxy, with the champion.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errMiss is a cache miss.
var errMiss = errors.New("cache miss")

// Cache is the cache's interface: Redis, or an in-memory stand-in.
type Cache interface {
	Get(ctx context.Context, key string) (string, error) // errMiss on a miss
	Set(ctx context.Context, key, value string) error
}

// Products is the service under test.
type Products struct {
	Cache  Cache
	Prefix string
	n      int
	mu     sync.Mutex
}

// Name reads one product's name: from the cache through the policy, or, if
// the cache misses or fails, from the database (20ms), filling the cache.
func (s *Products) Name(ctx context.Context, p *genome.Policy) error {
	s.mu.Lock()
	s.n++
	key := fmt.Sprintf("%s:product:%d", s.Prefix, s.n%50)
	s.mu.Unlock()
	err := p.Do(ctx, func(ctx context.Context) error {
		_, err := s.Cache.Get(ctx, key)
		if errors.Is(err, errMiss) {
			return genome.Permanent(err) // a miss is an answer, not a failure to retry
		}
		return err
	})
	if err == nil {
		return nil
	}
	if err := work(ctx, 20*time.Millisecond); err != nil { // the database
		return err
	}
	if errors.Is(err, errMiss) {
		_ = s.Cache.Set(ctx, key, "name of "+key)
	}
	return nil
}

// work takes d, or returns ctx's error if ctx ends first.
func work(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// memCache is an in-memory cache whose calls go through a hook and take
// half a millisecond.
type memCache struct {
	hook *faults.Hook
	mu   sync.Mutex
	m    map[string]string
}

func (c *memCache) Get(ctx context.Context, key string) (string, error) {
	if err := c.hook.Before(ctx); err != nil {
		return "", err
	}
	if err := work(ctx, 500*time.Microsecond); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if !ok {
		return "", errMiss
	}
	return v, nil
}

func (c *memCache) Set(ctx context.Context, key, value string) error {
	if err := c.hook.Before(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
	return nil
}

// redisCache is the real thing.
type redisCache struct{ c *redis.Client }

func (r redisCache) Get(ctx context.Context, key string) (string, error) {
	v, err := r.c.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", errMiss
	}
	return v, err
}

func (r redisCache) Set(ctx context.Context, key, value string) error {
	return r.c.Set(ctx, key, value, time.Minute).Err()
}

// cacheThreats: 300ms of latency; then the connections dropped (100ms
// down) and every new one reset for the rest of two seconds.
func cacheThreats(cache faults.Target) []scenarios.Threat {
	return []scenarios.Threat{
		scenarios.Latency(cache, 300*time.Millisecond, scenarios.InjectFor(2*time.Second)),
		scenarios.Compose("cache-reset", scenarios.High, 2*time.Second,
			scenarios.Step{Target: cache, Fault: faults.Down{}, For: 100 * time.Millisecond},
			scenarios.Step{Target: cache, Fault: faults.Reset{}, At: 100 * time.Millisecond, For: 1900 * time.Millisecond}),
	}
}

var cacheSLO = harness.SLO{SuccessRate: 0.99, P99: 150 * time.Millisecond, RecoverWithin: time.Second}

func TestProductsEvolvesAgainstCacheLatencyAndResets(t *testing.T) { evolveProducts(t) }

// evolveProducts evolves the products service on the simulated tier and
// returns its champion.
func evolveProducts(t *testing.T) *genome.Genome {
	hook := faults.NewHook("redis", 1)
	svc := &Products{Cache: &memCache{hook: hook, m: map[string]string{}}, Prefix: "sim"}
	rep := harness.Run(t, harness.Spec{
		Module:   "products",
		Genome:   &genome.Genome{Retry: &genome.Retry{MaxAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2}}, // no timeout
		Threats:  cacheThreats(hook),
		Workload: svc.Name,
		SLO:      cacheSLO,
		Evolve:   &evolve.Options{Generations: 10, Population: 10},
		Seed:     1, // the same champion wherever this runs
	})
	require.NotNil(t, rep.Evolved)
	assert.Equal(t, report.Broken, rep.Threats[0].Status, "without a timeout, 300ms of cache latency breaks the 150ms p99")
	for _, row := range rep.Threats {
		assert.NotEqual(t, report.Broken, row.EvolvedStatus, "%s: %s", row.Threat, row.Verdict)
	}
	noDeadGene(t, rep)
	champion, err := genome.Parse(rep.ChampionGenome)
	require.NoError(t, err)
	return keepChampion(t, "products", champion)
}

const redisAddr = "127.0.0.1:6379"

func TestProductsChampionHoldsOnRealRedis(t *testing.T) {
	g := champion(t, "products", evolveProducts)
	if c, err := net.DialTimeout("tcp", redisAddr, time.Second); err != nil {
		t.Skipf("Redis is not reachable on %s (run make services): %v", redisAddr, err)
	} else {
		c.Close()
	}
	proxy := toxiproxy.Start(t, "redis", redisAddr)
	// RESP2 lets a reset through as ECONNRESET; one dial attempt keeps
	// go-redis from starting its background re-dialer; the policy retries,
	// not the client.
	client := redis.NewClient(&redis.Options{Addr: proxy.Addr(), Protocol: 2, DisableIdentity: true, MaxRetries: -1,
		PoolSize: 8, DialerRetries: 1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	prefix := fmt.Sprintf("rafael-%d", os.Getpid())
	t.Cleanup(func() {
		keys, _ := client.Keys(context.Background(), prefix+":*").Result()
		if len(keys) > 0 {
			_ = client.Del(context.Background(), keys...).Err()
		}
	})
	svc := &Products{Cache: redisCache{client}, Prefix: prefix}

	rep := harness.Run(t, harness.Spec{
		Module:    "products",
		Genome:    g,
		Threats:   cacheThreats(proxy),
		Workload:  svc.Name,
		SLO:       cacheSLO,
		Requests:  60,
		TimeScale: 0.5,
	})
	assert.Equal(t, "wire", rep.Tier)
	for _, row := range rep.Threats {
		assert.NotEqual(t, report.Broken, row.Status, row.Threat)
	}
}
