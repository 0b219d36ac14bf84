package faults

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// This file is the one place that decides what "loopback" means. Every fault
// that sends traffic (Proxy's upstream, the load generator) checks its target
// with CheckLoopback and reports ErrNotLoopback: do not define another.

// ErrNotLoopback is matched by the error for a target outside loopback.
var ErrNotLoopback = errors.New("faults: not a loopback address")

// CheckLoopback returns an error unless hostport names a loopback address:
// a literal IP in 127.0.0.0/8 or ::1, or "localhost". Names are never
// resolved.
func CheckLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", hostport, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %s (only 127.0.0.0/8, ::1 and localhost may be targeted)", ErrNotLoopback, hostport)
}
