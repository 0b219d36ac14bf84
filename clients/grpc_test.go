package clients_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/vaultdata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// healthServer serves gRPC's health service on a loopback port until the
// test ends.
func healthServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return lis.Addr().String()
}

// hookedClient dials addr with a unary interceptor that routes every call
// through hook — the way a service's tests put a func hook in front of a
// real gRPC client, with no gRPC in package faults.
func hookedClient(t *testing.T, addr string, hook *faults.Hook) healthpb.HealthClient {
	t.Helper()
	intercept := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return faults.FuncErr(hook, func(ctx context.Context) error { return invoke(ctx, method, req, reply, cc, opts...) })(ctx)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUnaryInterceptor(intercept))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

// A func hook injects a gRPC status — an error of the caller's, built with
// status.Error — into a real gRPC client's calls to a real server over
// loopback: the first N calls, or every N-th.
func TestGRPCStatusFromAFuncHook(t *testing.T) {
	hook := faults.NewHook("health", 1).Remote()
	client := hookedClient(t, healthServer(t), hook)
	check := func() (codes.Code, healthpb.HealthCheckResponse_ServingStatus) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		return status.Code(err), resp.GetStatus()
	}
	code, serving := check()
	require.Equal(t, codes.OK, code)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, serving)

	unavailable := status.Error(codes.Unavailable, "inventory is down (injected)")
	remove, err := hook.Apply(faults.Error{Err: unavailable, First: 2})
	require.NoError(t, err)
	var got []codes.Code
	for range 4 {
		code, _ := check()
		got = append(got, code)
	}
	remove()
	assert.Equal(t, []codes.Code{codes.Unavailable, codes.Unavailable, codes.OK, codes.OK}, got, "the first 2 calls fail with the status, then the server answers")

	remove, err = hook.Apply(faults.Error{Err: status.Error(codes.ResourceExhausted, "slow down (injected)"), Every: 3})
	require.NoError(t, err)
	got = got[:0]
	for range 6 {
		code, _ := check()
		got = append(got, code)
	}
	remove()
	assert.Equal(t, []codes.Code{codes.OK, codes.OK, codes.ResourceExhausted, codes.OK, codes.OK, codes.ResourceExhausted}, got, "every 3rd call fails")
	n, unit := hook.Touched(faults.KindError)
	assert.Equal(t, "calls", unit)
	assert.EqualValues(t, 4, n, "the faults acted on 4 calls")
}

// The same hook in a harness run: a hook declared Remote runs on the wire
// tier, and the vault's gRPC retry genome rides out every other call
// failing with UNAVAILABLE.
func TestGRPCClientRidesOutUnavailable(t *testing.T) {
	hook := faults.NewHook("health", 1).Remote()
	client := hookedClient(t, healthServer(t), hook)
	unavailable := faults.Error{Err: status.Error(codes.Unavailable, "backend restarting (injected)"), Every: 2}
	rep := harness.Run(t, harness.Spec{
		Module:  "grpc-health",
		Genome:  vaultdata.MustGenome(t, "grpc-deadline-retry"),
		Threats: []scenarios.Threat{scenarios.Compose("unavailable", scenarios.High, 2*time.Second, scenarios.Step{Target: hook, Fault: unavailable})},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error {
				_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
				return err
			})
		},
		SLO:       harness.SLO{SuccessRate: 0.99},
		TimeScale: 0.5,
		Requests:  40,
	})
	m := ran(t, rep, "wire", 0.99)
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "calls failed with UNAVAILABLE and were retried")
}
