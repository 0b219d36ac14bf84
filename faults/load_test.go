package faults

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sleepCall is a call that takes d of (virtual) time and counts itself.
func sleepCall(d time.Duration, n *atomic.Int64) func(context.Context) error {
	return func(context.Context) error {
		n.Add(1)
		time.Sleep(d)
		return nil
	}
}

// TestLoadPacedIsExact: 100/s for 2 s is calls at 0, 10 ms, …, 1990 ms, so
// 200 calls, and the run lasts exactly Duration.
func TestLoadPacedIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		l := Load{Concurrency: 4, Rate: 100, Duration: 2 * time.Second}
		r, err := l.Run(t.Context(), sleepCall(time.Millisecond, &n))
		require.NoError(t, err)
		assert.Equal(t, int64(200), r.Calls)
		assert.Equal(t, int64(200), n.Load())
		assert.Zero(t, r.Errors)
		assert.Zero(t, r.Interrupted)
		assert.Equal(t, 2*time.Second, r.Elapsed)
		assert.Equal(t, 100.0, r.Achieved)
		assert.Equal(t, time.Millisecond, r.MinLatency)
		assert.Equal(t, time.Millisecond, r.MeanLatency)
		assert.Equal(t, time.Millisecond, r.MaxLatency)
		assert.Equal(t, "200 calls (0 errors, 0 interrupted) in 2s: 100.0/s; latency min 1ms mean 1ms max 1ms", r.String())
	})
}

// TestLoadPacedCatchesUp: one worker whose calls take 25 ms cannot keep a
// 10 ms schedule; every worker-free moment starts the next overdue call.
func TestLoadPacedCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		r, err := Load{Rate: 100, Duration: time.Second}.Run(t.Context(), sleepCall(25*time.Millisecond, &n))
		require.NoError(t, err)
		// Calls start at 0, 25, …, 975 ms (40 calls); the 40th ends at 1 s.
		assert.Equal(t, int64(40), r.Calls)
		assert.Equal(t, time.Second, r.Elapsed)
	})
}

func TestLoadMaxCallsBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		r, err := Load{Concurrency: 4, Rate: 100, Duration: 2 * time.Second, MaxCalls: 50}.Run(t.Context(), sleepCall(time.Millisecond, &n))
		require.NoError(t, err)
		assert.Equal(t, int64(50), r.Calls)
		assert.Equal(t, 491*time.Millisecond, r.Elapsed, "the 50th call starts at 490 ms and takes 1 ms")
	})
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		r, err := Load{Concurrency: 4, Duration: time.Minute, MaxCalls: 10}.Run(t.Context(), sleepCall(time.Millisecond, &n))
		require.NoError(t, err)
		assert.Equal(t, int64(10), r.Calls)
		assert.Equal(t, int64(10), n.Load())
		assert.Equal(t, 3*time.Millisecond, r.Elapsed, "unpaced: rounds of 4, 4 and 2 calls")
	})
}

func TestLoadUnpacedStopsAtDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		r, err := Load{Concurrency: 3, Duration: 100 * time.Millisecond}.Run(t.Context(), sleepCall(10*time.Millisecond, &n))
		require.NoError(t, err)
		assert.Equal(t, int64(30), r.Calls)
		assert.Equal(t, 100*time.Millisecond, r.Elapsed)
	})
}

func TestLoadContextCancelStopsEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		time.AfterFunc(495*time.Millisecond, cancel)
		var n atomic.Int64
		r, err := Load{Concurrency: 4, Rate: 100, Duration: 2 * time.Second}.Run(ctx, sleepCall(time.Millisecond, &n))
		require.ErrorIs(t, err, context.Canceled)
		assert.EqualError(t, err, "faults: load: stopped early after 50 calls: context canceled")
		assert.Equal(t, int64(50), r.Calls)
		assert.Equal(t, 495*time.Millisecond, r.Elapsed)
	})
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r, err := Load{Duration: time.Second}.Run(ctx, func(context.Context) error { return nil })
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, r.Calls)
	})
}

func TestLoadCountsErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		boom := errors.New("boom")
		r, err := Load{Concurrency: 2, Rate: 100, Duration: time.Second}.Run(t.Context(), func(context.Context) error {
			if n.Add(1)%2 == 0 {
				return boom
			}
			return nil
		})
		require.NoError(t, err, "failing calls are counted, not returned")
		assert.Equal(t, int64(100), r.Calls)
		assert.Equal(t, int64(50), r.Errors)
		assert.ErrorIs(t, r.FirstErr, boom)
	})
}

// TestLoadInterruptedCalls: calls still running when Duration elapses see
// their context end; they are Interrupted, not Errors.
func TestLoadInterruptedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := Load{Concurrency: 2, Duration: time.Second}.Run(t.Context(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		require.NoError(t, err)
		assert.Equal(t, int64(2), r.Calls)
		assert.Equal(t, int64(2), r.Interrupted)
		assert.Zero(t, r.Errors)
		assert.Nil(t, r.FirstErr)
		assert.Zero(t, r.MaxLatency, "interrupted calls have no latency")
		assert.Equal(t, time.Second, r.Elapsed)
	})
}

func TestLoadValidate(t *testing.T) {
	for _, tc := range []struct {
		l     Load
		field string
	}{
		{Load{}, "load.Duration = 0s"},
		{Load{Duration: MaxLoadDuration + 1}, "load.Duration"},
		{Load{Duration: time.Second, Concurrency: -1}, "load.Concurrency = -1"},
		{Load{Duration: time.Second, Concurrency: MaxLoadConcurrency + 1}, "load.Concurrency"},
		{Load{Duration: time.Second, Rate: -1}, "load.Rate = -1"},
		{Load{Duration: time.Second, Rate: math.NaN()}, "load.Rate = NaN"},
		{Load{Duration: time.Second, MaxCalls: -1}, "load.MaxCalls = -1"},
		{Load{Duration: time.Second, MaxCalls: MaxLoadCalls + 1}, "load.MaxCalls"},
	} {
		err := tc.l.Validate()
		require.ErrorIs(t, err, ErrInvalid, "%+v", tc.l)
		assert.Contains(t, err.Error(), tc.field)
		_, err = tc.l.Run(context.Background(), func(context.Context) error { panic("called") })
		assert.ErrorIs(t, err, ErrInvalid)
	}
	assert.NoError(t, Load{Duration: MaxLoadDuration, Concurrency: MaxLoadConcurrency, MaxCalls: MaxLoadCalls, Rate: 1e6}.Validate())
	_, err := Load{Duration: time.Second}.Run(context.Background(), nil)
	assert.ErrorIs(t, err, ErrInvalid)
}

// failTransport fails the test if anything reaches it.
type failTransport struct{ n atomic.Int64 }

func (f *failTransport) RoundTrip(*http.Request) (*http.Response, error) {
	f.n.Add(1)
	return nil, errors.New("request sent")
}

func TestLoadHTTPRefusesNonLoopback(t *testing.T) {
	ft := &failTransport{}
	client := &http.Client{Transport: ft}
	l := Load{Duration: time.Second, MaxCalls: 1}
	for _, u := range []string{
		"http://10.0.0.1/", "http://example.com/", "http://192.168.1.1:8080/x", "http://[2001:db8::1]/",
		"http://0.0.0.0/", "http://localhost.example.com/", "http://127.0.0.1.nip.io/", "ftp://127.0.0.1/",
		"http:///x", "http://user:secret@10.0.0.1/", "::not a url",
	} {
		for _, c := range []*http.Client{client, nil} {
			r, err := LoadHTTP(context.Background(), l, c, http.MethodGet, u)
			require.ErrorIs(t, err, ErrNotLoopback, u)
			assert.NotContains(t, err.Error(), "secret")
			assert.Zero(t, r.Calls)
		}
	}
	_, err := LoadHTTP(context.Background(), l, client, http.MethodGet, "http://10.0.0.1/")
	assert.EqualError(t, err, "faults: not a loopback address: load: refusing http://10.0.0.1/: only loopback targets (127.0.0.0/8, ::1, localhost) may be flooded, over http or https")
	assert.Zero(t, ft.n.Load(), "no request may be sent")
	for _, u := range []string{"http://127.0.0.1/", "http://127.9.8.7:99/", "https://[::1]:8443/a", "http://LocalHost/", "http://[::ffff:127.0.0.1]/"} {
		assert.NoError(t, loadCheckURL(u), u)
	}
}

func TestLoadDialRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:80", "[2001:db8::1]:80"} {
		_, err := loadDialer().DialContext(t.Context(), "tcp", addr)
		assert.ErrorIs(t, err, ErrNotLoopback, addr)
	}
}

func TestLoadHTTP(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("a body to drain"))
	}))
	defer srv.Close()
	r, err := LoadHTTP(t.Context(), Load{Concurrency: 2, Duration: 10 * time.Second, MaxCalls: 50}, srv.Client(), http.MethodGet, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, int64(50), r.Calls)
	assert.Zero(t, r.Errors, "first error: %v", r.FirstErr)
	assert.Equal(t, int64(50), hits.Load())
}

func TestLoadHTTPCountsServerErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/", http.StatusFound)
	})
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	l := Load{Duration: 10 * time.Second, MaxCalls: 5}

	r, err := LoadHTTP(t.Context(), l, nil, http.MethodPost, srv.URL+"/fail")
	require.NoError(t, err)
	assert.Equal(t, int64(5), r.Errors)
	assert.ErrorContains(t, r.FirstErr, "POST "+srv.URL+"/fail: status 503 Service Unavailable")

	r, err = LoadHTTP(t.Context(), l, nil, http.MethodGet, srv.URL+"/teapot")
	require.NoError(t, err)
	assert.Zero(t, r.Errors, "4xx is an answer, not an error")

	r, err = LoadHTTP(t.Context(), l, nil, http.MethodGet, srv.URL+"/away")
	require.NoError(t, err)
	assert.Equal(t, int64(5), r.Errors, "a redirect off loopback is refused")
	assert.ErrorIs(t, r.FirstErr, ErrNotLoopback)

	_, err = LoadHTTP(t.Context(), l, nil, "BAD METHOD", srv.URL)
	assert.Error(t, err)
}
