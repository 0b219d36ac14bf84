package bench

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomehttp"
)

// answer is a RoundTripper that answers every request at once with 200 and
// a short body, without a network: what the client's own layers add is
// then all there is to measure.
type answer struct{}

func (answer) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), ContentLength: 2, Request: req}, nil
}

// BenchmarkHTTPClient measures one successful GET through an *http.Client
// over an in-memory transport: bare, through genomehttp with retry + breaker,
// and through failsafe-go's failsafehttp with the same policies. The added
// cost of an adapter is its ns/op less bare's.
func BenchmarkHTTPClient(b *testing.B) {
	req, err := http.NewRequest(http.MethodGet, "http://service.test/items/7", nil)
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, c *http.Client) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := c.Do(req)
			if err != nil || res.StatusCode != 200 {
				b.Fatal(err, res)
			}
			res.Body.Close()
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, &http.Client{Transport: answer{}}) })
	b.Run("rafael", func(b *testing.B) {
		r, cb := rafaelGenes()
		run(b, genomehttp.NewClient(rafaelPolicy(b, &genome.Genome{Retry: r, CircuitBreaker: cb}), answer{}))
	})
	b.Run("failsafehttp", func(b *testing.B) {
		rp := failsafehttp.NewRetryPolicyBuilder().WithMaxAttempts(maxAttempts).WithBackoffFactor(baseDelay, maxDelay, multiplier).WithJitterFactor(jitter).Build()
		br := circuitbreaker.NewBuilder[*http.Response]().WithFailureThreshold(breakerThreshold).WithDelay(openDuration).WithSuccessThreshold(halfOpenProbes).Build()
		run(b, &http.Client{Transport: failsafehttp.NewRoundTripper(answer{}, rp, br)})
	})
}
