package faults

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// This file is the one place that decides where traffic may go. The load
// generator checks its target with CheckLoopback; a network backend's
// upstream and server with CheckAllowed (loopback, or a host the user lists
// in RAFAEL_ALLOW_HOSTS). Both report ErrNotLoopback: do not define another.

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

// AllowHostsEnv names the environment variable that lists, comma-separated,
// the hosts besides loopback that a network backend may forward to and
// reach: host names ("postgres", matched exactly, never resolved), IP
// addresses, or CIDR prefixes ("10.1.0.0/16"). It is the user's own setting,
// for a toxiproxy-server run as a CI service container next to the
// databases; unset, only loopback is allowed.
const AllowHostsEnv = "RAFAEL_ALLOW_HOSTS"

// CheckAllowed returns nil when hostport names loopback ([CheckLoopback]) or
// a host listed in RAFAEL_ALLOW_HOSTS, and otherwise an error matching
// [ErrNotLoopback] that names the variable. A malformed entry in the list is
// an error naming it.
func CheckAllowed(hostport string) error {
	if CheckLoopback(hostport) == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", hostport, err)
	}
	list := os.Getenv(AllowHostsEnv)
	ok, err := allowed(host, list)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s is neither loopback nor listed in %s=%q: add the host to %s (comma-separated names, IPs or CIDR prefixes) to allow it",
			ErrNotLoopback, hostport, AllowHostsEnv, list, AllowHostsEnv)
	}
	return nil
}

// allowed reports whether host matches an entry of list (RAFAEL_ALLOW_HOSTS).
func allowed(host, list string) (bool, error) {
	ip := net.ParseIP(host)
	for entry := range strings.SplitSeq(list, ",") {
		entry = strings.TrimSpace(entry)
		switch {
		case entry == "":
			continue
		case strings.Contains(entry, "/"):
			_, n, err := net.ParseCIDR(entry)
			if err != nil {
				return false, fmt.Errorf("faults: %s entry %q is not a CIDR prefix: %v", AllowHostsEnv, entry, err)
			}
			if ip != nil && n.Contains(ip) {
				return true, nil
			}
		case ip != nil && net.ParseIP(entry) != nil:
			if ip.Equal(net.ParseIP(entry)) {
				return true, nil
			}
		case strings.EqualFold(entry, host):
			return true, nil
		}
	}
	return false, nil
}
