package faults

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outcomes calls the hook n times and records which calls failed.
func outcomes(h *Hook, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = h.Before(context.Background()) != nil
	}
	return out
}

func TestErrorFailsTheFirstNOrEveryNthCall(t *testing.T) {
	h := NewHook("db", 1)
	remove, err := h.Apply(Error{First: 3})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true, true, false, false, false}, outcomes(h, 6))
	remove()

	remove, err = h.Apply(Error{Every: 3})
	require.NoError(t, err)
	assert.Equal(t, []bool{false, false, true, false, false, true}, outcomes(h, 6))
	remove()

	remove, err = h.Apply(Error{First: 2})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true, false}, outcomes(h, 3), "a fault applied again counts from its own first call")
	remove()
	assert.Equal(t, []bool{false}, outcomes(h, 1), "removed, nothing fails")

	remove, err = h.Apply(Error{Status: http.StatusServiceUnavailable, First: 1})
	require.NoError(t, err)
	var status *StatusError
	require.ErrorAs(t, h.Before(context.Background()), &status, "a func hook returns the status as an error")
	assert.Equal(t, 503, status.Code)
	assert.EqualError(t, status, "faults: injected HTTP status 503")
	remove()
}

func TestErrorValidatesItsForm(t *testing.T) {
	for _, c := range []struct {
		f    Error
		want string
	}{
		{Error{First: -1}, "First"},
		{Error{Every: -2}, "Every"},
		{Error{First: 1, Every: 2}, "set at most one of them"},
		{Error{Rate: 0.5, First: 2}, "set at most one of them"},
		{Error{Status: 200}, "is not an HTTP error status: want 400–599"},
	} {
		assert.ErrorContains(t, c.f.Validate(), c.want, "%+v", c.f)
		_, err := NewHook("db", 1).Apply(c.f)
		assert.Error(t, err, "%+v applied", c.f)
	}
	assert.NoError(t, Error{Every: 2, Status: 429}.Validate())
	assert.Equal(t, "error injected HTTP status 429 (every 2 calls)", Error{Every: 2, Status: 429}.String())
	assert.Equal(t, "error injected error (first 3 calls)", Error{First: 3}.String())
}

// TestRoundTripperAnswersWithTheInjectedStatus runs over real TCP: an
// http.Client through the hook sees 503 for the first two requests, which
// never reach the server, then the server's answers.
func TestRoundTripperAnswersWithTheInjectedStatus(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	h := NewHook("upstream", 1)
	client := &http.Client{Transport: RoundTripper(h, srv.Client().Transport)}
	remove, err := h.Apply(Error{Status: http.StatusServiceUnavailable, First: 2})
	require.NoError(t, err)
	defer remove()

	var codes []int
	for range 4 {
		resp, err := client.Get(srv.URL)
		require.NoError(t, err, "an injected status is an answer, not a transport error")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 503 {
			assert.Equal(t, "faults: injected HTTP status 503\n", string(body))
			assert.Equal(t, "503 Service Unavailable", resp.Status)
		}
	}
	assert.Equal(t, []int{503, 503, 200, 200}, codes)
	assert.Equal(t, int32(2), served.Load(), "the failed requests never reached the server")
	assert.False(t, errors.Is(err, ErrInjected))
}
