// Package genomegrpc runs gRPC client calls through a compiled genome:
// [UnaryClientInterceptor] and [StreamClientInterceptor] send each call
// through the policy — its rate limit, bulkhead, timeouts and circuit
// breaker, and its retry where repeating the call is safe. It is a nested
// module, so that RAFAEL's root module never requires grpc.
//
// Status codes are classified as gRPC's own retry policy does:
// Unavailable and ResourceExhausted are retried (the server did not
// process the call, or asked to be left alone; grpc-retry-pushback-ms is
// honoured); DeadlineExceeded, Aborted, Internal, Unknown and DataLoss may
// have been processed, so they are retried only for methods marked
// idempotent ([Idempotent], or the interceptor's idempotent methods), and
// otherwise returned at once while the breaker counts them; the caller's
// own errors (InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
// Unauthenticated, FailedPrecondition, OutOfRange, Unimplemented,
// Canceled) are never retried and never counted.
package genomegrpc

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Policy is what runs each call: a compiled *genome.Policy, or a
// *genome.Live that follows the adopted genome file.
type Policy interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

type idempotentKey struct{}

// Idempotent marks the calls made with the returned context as safe to
// repeat.
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// UnaryClientInterceptor returns an interceptor that sends each unary
// call through p. idempotent names the full methods ("/pkg.Service/Get")
// safe to repeat after any failure but the caller's own.
func UnaryClientInterceptor(p Policy, idempotent ...string) grpc.UnaryClientInterceptor {
	safe := set(idempotent)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return p.Do(ctx, func(ctx context.Context) error {
			var trailer metadata.MD // each attempt its own: attempts may run at once (a hedge gene)
			o := append(opts[:len(opts):len(opts)], grpc.Trailer(&trailer))
			return classify(ctx, method, safe, invoker(ctx, method, req, reply, cc, o...), trailer)
		})
	}
}

// StreamClientInterceptor returns an interceptor that opens each stream
// through p: the policy's rate limit, bulkhead and breaker apply to it,
// and a failure to open it (no connection) is retried as a unary call's
// is. The messages on it are not: gRPC opens a stream before the server
// answers, so the server's failure shows at the first Recv, outside the
// policy. The stream lives with the caller's context, not the attempt's.
func StreamClientInterceptor(p Policy, idempotent ...string) grpc.StreamClientInterceptor {
	safe := set(idempotent)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		var (
			mu sync.Mutex // attempts may run at once (a hedge gene)
			cs grpc.ClientStream
		)
		err := p.Do(ctx, func(actx context.Context) error {
			// The attempt's context ends when Do returns; the stream must
			// not. It ends with the caller's, or with the attempt's while
			// the stream is being opened.
			sctx, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(actx, cancel)
			s, err := streamer(sctx, desc, cc, method, opts...)
			if !stop() { // the attempt ended first: its deadline, or a hedge won
				cancel()
				return actx.Err()
			}
			if err != nil {
				cancel()
				return classify(actx, method, safe, err, nil)
			}
			mu.Lock()
			defer mu.Unlock()
			if cs != nil { // a hedge already won
				cancel()
				return nil
			}
			cs = s
			return nil
		})
		mu.Lock()
		defer mu.Unlock()
		return cs, err
	}
}

func set(methods []string) map[string]bool {
	m := make(map[string]bool, len(methods))
	for _, s := range methods {
		m[s] = true
	}
	return m
}

// classify decides what the policy may do with a failed call.
func classify(ctx context.Context, method string, safe map[string]bool, err error, trailer metadata.MD) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return err // not from gRPC: a policy's own error, a dial failure
	}
	switch s.Code() {
	case codes.Unavailable, codes.ResourceExhausted:
		if d, ok := pushback(trailer); ok {
			if d < 0 { // the server asked not to retry
				return genome.NoRetry(err)
			}
			return genome.RetryAfter(err, d)
		}
		return err
	case codes.DeadlineExceeded, codes.Aborted, codes.Internal, codes.Unknown, codes.DataLoss:
		if safe[method] || ctx.Value(idempotentKey{}) != nil {
			return err
		}
		return genome.NoRetry(err)
	}
	return genome.Permanent(err) // the caller's: InvalidArgument, NotFound, Canceled…
}

// pushback reads grpc-retry-pushback-ms: a wait in milliseconds, or a
// negative or unreadable value, which asks the client not to retry.
func pushback(md metadata.MD) (time.Duration, bool) {
	v := md.Get("grpc-retry-pushback-ms")
	if len(v) == 0 {
		return 0, false
	}
	ms, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || ms < 0 {
		return -1, true
	}
	return time.Duration(ms) * time.Millisecond, true
}
