package faults

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// RoundTripper returns next wrapped so that h's faults act on each request
// before it is sent: [Down] refuses it with an error matching [ErrRefused]
// and syscall.ECONNREFUSED, [Error] fails it (with its Status, it answers
// with that HTTP status instead), [Reset] resets it, [Hang]
// holds it until the request's context is done, and [Latency] delays it.
// These errors are transport errors: an http.Client returns them wrapped in a
// *url.Error. A nil next means http.DefaultTransport.
//
// An http.Transport dials real sockets, and no other RoundTripper can be
// known to stay in the process, so h becomes [Networked] and a harness runs
// it in real time; for a RoundTripper that calls an http.Handler directly,
// declare the hook with [Hook.InProcess].
func RoundTripper(h *Hook, next http.RoundTripper) http.RoundTripper {
	h.frontsRemote()
	if next == nil {
		next = http.DefaultTransport
	}
	return &hookRoundTripper{h: h, next: next}
}

type hookRoundTripper struct {
	h    *Hook
	next http.RoundTripper
}

// RoundTrip consults the hook, then sends req with the next RoundTripper.
func (rt *hookRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := rt.h.Before(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		var status *StatusError
		if errors.As(err, &status) {
			return statusResponse(req, status), nil
		}
		return nil, err
	}
	return rt.next.RoundTrip(req)
}

// statusResponse is the answer to req of an [Error] fault with a Status:
// that status, and its message as the body.
func statusResponse(req *http.Request, s *StatusError) *http.Response {
	body := s.Error() + "\n"
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", s.Code, http.StatusText(s.Code)),
		StatusCode:    s.Code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
