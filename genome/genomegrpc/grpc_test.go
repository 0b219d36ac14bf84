package genomegrpc

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const check = "/grpc.health.v1.Health/Check"

// server is a real gRPC server on loopback (the health service) whose
// first calls fail with the given codes, the later ones succeed.
func server(t *testing.T, fail ...codes.Code) (addr string, calls *atomic.Int64) {
	t.Helper()
	calls = new(atomic.Int64)
	failing := func(ctx context.Context) error {
		n := calls.Add(1)
		if int(n) <= len(fail) {
			if fail[n-1] == codes.ResourceExhausted {
				grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", "20"))
			}
			return status.Error(fail[n-1], "injected")
		}
		return nil
	}
	s := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := failing(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := failing(ss.Context()); err != nil {
				return err
			}
			return h(srv, ss)
		}))
	healthpb.RegisterHealthServer(s, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return l.Addr().String(), calls
}

func client(t *testing.T, addr string, p Policy, idempotent ...string) healthpb.HealthClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(UnaryClientInterceptor(p, idempotent...)),
		grpc.WithStreamInterceptor(StreamClientInterceptor(p, idempotent...)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return healthpb.NewHealthClient(cc)
}

func policy(t *testing.T) *genome.Policy {
	t.Helper()
	p, err := genome.Compile(&genome.Genome{Module: "grpc-client",
		Retry:          &genome.Retry{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: time.Second, Multiplier: 2},
		CircuitBreaker: &genome.CircuitBreaker{Mode: genome.BreakerConsecutive, Threshold: 10, OpenDuration: time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 20}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnaryCallsAreClassified(t *testing.T) {
	for _, c := range []struct {
		name       string
		fail       []codes.Code
		idempotent bool
		wantCalls  int64
		wantCode   codes.Code
	}{
		{"unavailable is retried", []codes.Code{codes.Unavailable, codes.Unavailable}, false, 3, codes.OK},
		{"resource exhausted waits its pushback", []codes.Code{codes.ResourceExhausted}, false, 2, codes.OK},
		{"a deadline may have been processed: not repeated", []codes.Code{codes.DeadlineExceeded}, false, 1, codes.DeadlineExceeded},
		{"unless idempotent", []codes.Code{codes.Internal, codes.Aborted}, true, 3, codes.OK},
		{"the caller's own error is not retried", []codes.Code{codes.InvalidArgument}, true, 1, codes.InvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, calls := server(t, c.fail...)
			var idem []string
			if c.idempotent {
				idem = []string{check}
			}
			p := policy(t)
			_, err := client(t, addr, p, idem...).Check(t.Context(), &healthpb.HealthCheckRequest{})
			if got := status.Code(err); got != c.wantCode {
				t.Fatalf("code %v (%v), want %v", got, err, c.wantCode)
			}
			if calls.Load() != c.wantCalls {
				t.Fatalf("%d calls reached the server, want %d", calls.Load(), c.wantCalls)
			}
		})
	}
}

// A caller's own errors do not open the breaker; the server's do.
func TestTheBreakerCountsOnlyTheServersFailures(t *testing.T) {
	addr, _ := server(t, codes.NotFound, codes.NotFound, codes.NotFound, codes.NotFound)
	p, err := genome.Compile(&genome.Genome{Module: "grpc-client",
		CircuitBreaker: &genome.CircuitBreaker{Mode: genome.BreakerConsecutive, Threshold: 2, OpenDuration: time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 10}})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, addr, p)
	for range 4 {
		_, _ = c.Check(t.Context(), &healthpb.HealthCheckRequest{})
	}
	if p.BreakerState() != genome.Closed {
		t.Fatal("NotFound opened the breaker: it is the caller's error")
	}
	addr, _ = server(t, codes.Unavailable, codes.Unavailable)
	c = client(t, addr, p)
	for range 2 {
		_, _ = c.Check(t.Context(), &healthpb.HealthCheckRequest{})
	}
	if p.BreakerState() != genome.Open {
		t.Fatal("two Unavailable in a row did not open the breaker")
	}
}

// A stream opened through the policy lives with the caller's context,
// past the attempt (whose per-attempt timeout would end it); a policy
// that refuses the call refuses the stream.
func TestAStreamIsOpenedThroughThePolicy(t *testing.T) {
	addr, _ := server(t)
	p, err := genome.Compile(&genome.Genome{Module: "grpc-client",
		Timeout:        &genome.Timeout{PerAttempt: 50 * time.Millisecond},
		CircuitBreaker: &genome.CircuitBreaker{Mode: genome.BreakerConsecutive, Threshold: 1, OpenDuration: time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 10}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := client(t, addr, p)
	w, err := c.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Do has returned: the attempt's context is cancelled already (its
	// timeout's cancel runs when the attempt ends), so a stream bound to it
	// would fail here.
	res, err := w.Recv()
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Recv after the attempt ended: %v, %v", res, err)
	}

	// Open the breaker with a unary failure, then the stream is refused.
	bad, _ := server(t, codes.Unavailable)
	_, _ = client(t, bad, p).Check(ctx, &healthpb.HealthCheckRequest{})
	if _, err := c.Watch(ctx, &healthpb.HealthCheckRequest{}); !errors.Is(err, genome.ErrCircuitOpen) {
		t.Fatalf("a stream through an open breaker: %v", err)
	}
}

func TestPushback(t *testing.T) {
	for v, want := range map[string]time.Duration{"20": 20 * time.Millisecond, "-1": -1, "x": -1} {
		got, ok := pushback(metadata.Pairs("grpc-retry-pushback-ms", v))
		if !ok || got != want {
			t.Errorf("%q: %v %v, want %v", v, got, ok, want)
		}
	}
	if _, ok := pushback(nil); ok {
		t.Error("no trailer, no pushback")
	}
}
