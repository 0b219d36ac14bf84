package genomehttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomehttp"
)

// A client whose requests go through the genome a RAFAEL test evolved: the
// server fails twice, the retry gene carries the request through.
func ExampleNewClient() {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "hello")
	}))
	defer srv.Close()

	g := &genome.Genome{Module: "greeter",
		Retry:   &genome.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2},
		Timeout: &genome.Timeout{PerAttempt: time.Second, Overall: 3 * time.Second}}
	p, err := genome.Compile(g)
	if err != nil {
		panic(err)
	}
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	res, err := genomehttp.NewClient(p, base).Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(body), "after", n.Load(), "requests")
	// Output: 200 hello after 3 requests
}

// Server-side shedding with the genome's bulkhead and rate limit: a
// request beyond them gets 503 and a Retry-After.
func ExampleShed() {
	shed, err := genomehttp.Shed(&genome.Genome{Module: "api", RateLimit: &genome.RateLimit{Rate: 1, Burst: 1}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(shed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))
	defer srv.Close()
	c := srv.Client()
	defer c.CloseIdleConnections()
	for range 2 {
		res, err := c.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		fmt.Printf("%d Retry-After=%q\n", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Output:
	// 200 Retry-After=""
	// 503 Retry-After="1"
}
