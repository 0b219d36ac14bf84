package genomehttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A full bulkhead sheds a request with 503 and Retry-After; the request in
// flight is served.
func TestShedAFullBulkhead(t *testing.T) {
	shed, err := Shed(&genome.Genome{Module: "api", Bulkhead: &genome.Bulkhead{MaxConcurrent: 1}})
	require.NoError(t, err)
	inside, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(shed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inside)
		<-release
		io.WriteString(w, "served")
	})))
	t.Cleanup(srv.Close)
	c := srv.Client()
	t.Cleanup(c.CloseIdleConnections)

	first := make(chan string)
	go func() {
		res, err := c.Get(srv.URL)
		if err != nil {
			first <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		first <- string(b)
	}()
	<-inside
	res, err := c.Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Equal(t, "1", res.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "bulkhead full")
	close(release)
	assert.Equal(t, "served", <-first)
}

// Past the rate, requests are shed with the wait the rate implies.
func TestShedBeyondTheRate(t *testing.T) {
	shed, err := Shed(&genome.Genome{Module: "api", RateLimit: &genome.RateLimit{Rate: 0.2, Burst: 1}})
	require.NoError(t, err)
	srv := httptest.NewServer(shed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))
	t.Cleanup(srv.Close)
	c := srv.Client()
	t.Cleanup(c.CloseIdleConnections)
	var codes []int
	for range 3 {
		res, err := c.Get(srv.URL)
		require.NoError(t, err)
		res.Body.Close()
		codes = append(codes, res.StatusCode)
		if res.StatusCode == http.StatusServiceUnavailable {
			assert.Equal(t, "5", res.Header.Get("Retry-After"), "one call in 5s")
		}
	}
	assert.Equal(t, []int{200, 503, 503}, codes)
}

// A client through Transport reads the server's Retry-After and comes back
// when asked: the two edges of one genome fit together.
func TestAShedRequestIsRetriedWhenTheServerSays(t *testing.T) {
	shed, err := Shed(&genome.Genome{Module: "api", RateLimit: &genome.RateLimit{Rate: 1, Burst: 1}})
	require.NoError(t, err)
	srv := httptest.NewServer(shed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))
	t.Cleanup(srv.Close)
	base := srv.Client().Transport.(*http.Transport)
	t.Cleanup(base.CloseIdleConnections)
	c := NewClient(policy(t, nil), base)
	for range 2 {
		res, err := c.Get(srv.URL)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, 200, res.StatusCode, "the second waited the second the server asked for")
	}
}

func TestShedNeedsAGeneToShedWith(t *testing.T) {
	_, err := Shed(&genome.Genome{Module: "api", Retry: &genome.Retry{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Second, Multiplier: 2}})
	assert.ErrorContains(t, err, "needs a genome with a bulkhead or a rate limit gene")
	_, err = Shed(nil)
	assert.Error(t, err)
}
