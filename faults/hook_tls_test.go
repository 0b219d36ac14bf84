package faults

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFaultsActUnderTLS: the hook's dialer wraps the TCP connection, and
// TLS runs over the wrapped one, so faults act on a real HTTPS exchange
// with a real TLS server on loopback: a reset connection fails the
// request (the handshake or the response), a failed or refused dial fails it before
// any byte, and once the fault is removed the same client succeeds.
func TestFaultsActUnderTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "secret")
	}))
	t.Cleanup(srv.Close)
	h := NewHook("tls-upstream", 1)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = Dialer(h, nil)
	tr.DisableKeepAlives = true // every request dials: each sees the fault in force
	client := &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)

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
	assert.Equal(t, "secret", body, "TLS works through the hook")

	for _, f := range []Fault{Reset{}, Error{First: 1}, Down{}} {
		remove, err := h.Apply(f)
		require.NoError(t, err)
		_, err = get()
		assert.Error(t, err, "%v under TLS", f)
		if _, ok := f.(Down); ok {
			assert.True(t, errors.Is(err, ErrRefused), "a refused dial: %v", err)
		}
		remove()
		body, err = get()
		require.NoError(t, err, "after %v is removed", f)
		assert.Equal(t, "secret", body)
	}
}
