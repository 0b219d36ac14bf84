package faults

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookRoundTrip is an in-memory http.RoundTripper.
type hookRoundTrip func(*http.Request) (*http.Response, error)

func (f hookRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func hookOKResponse(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
}

// hookBody records whether it was closed.
type hookBody struct {
	io.Reader
	closed bool
}

func (b *hookBody) Close() error { b.closed = true; return nil }

// TestRoundTripperDownAndError runs over real TCP (httptest), so outside a
// bubble and without timing assertions.
func TestRoundTripperDownAndError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "pong")
	}))
	t.Cleanup(srv.Close)
	h := NewHook("api", 1)
	client := &http.Client{Transport: RoundTripper(h, srv.Client().Transport)}
	get := func() (string, error) {
		resp, err := client.Get(srv.URL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	body, err := get()
	require.NoError(t, err)
	assert.Equal(t, "pong", body)

	remove, _ := h.Apply(Down{})
	_, err = get()
	var ue *url.Error
	require.ErrorAs(t, err, &ue, "a transport error, wrapped by the client")
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	remove()

	boom := errors.New("boom")
	remove, _ = h.Apply(Error{Err: boom})
	req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
	b := &hookBody{Reader: strings.NewReader("payload")}
	req.Body = b
	_, err = client.Do(req)
	require.ErrorIs(t, err, boom)
	assert.True(t, b.closed, "the request body is closed even on error")
	remove()

	body, err = get()
	require.NoError(t, err)
	assert.Equal(t, "pong", body)
}

func TestRoundTripperLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("api", 1)
		_, err := h.Apply(Latency{Delay: 250 * time.Millisecond})
		require.NoError(t, err)
		client := &http.Client{Transport: RoundTripper(h, hookRoundTrip(hookOKResponse))}
		start := time.Now()
		resp, err := client.Get("http://api.invalid/")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, 250*time.Millisecond, time.Since(start))
	})
}

func TestRoundTripperHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("api", 1)
		_, _ = h.Apply(Hang{})
		sent := false
		client := &http.Client{Transport: RoundTripper(h, hookRoundTrip(func(r *http.Request) (*http.Response, error) {
			sent = true
			return hookOKResponse(r)
		}))}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://api.invalid/", nil)
		start := time.Now()
		_, err := client.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 2*time.Second, time.Since(start))
		assert.False(t, sent, "a hung request is never sent")
	})
}

func TestRoundTripperNilNext(t *testing.T) {
	rt := RoundTripper(NewHook("api", 1), nil)
	assert.Same(t, http.DefaultTransport, rt.(*hookRoundTripper).next)
}
