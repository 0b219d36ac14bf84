// Package toxiproxy is RAFAEL's network fault backend: a [Proxy] is a
// [faults.Target] that puts a Toxiproxy v2.12.0 proxy between the code under
// test and a real upstream (PostgreSQL, Redis, an HTTP server), so faults
// act on real TCP connections.
//
// It is the only package of the module that links Toxiproxy and its
// dependencies; package harness never imports it. A test imports it to
// build the targets of its threats:
//
//	db := toxiproxy.Start(t, "postgres", "127.0.0.1:5432")
//	pool := openPool(t, db.Addr()) // the client dials the proxy
//	harness.Run(t, harness.Spec{Threats: []scenarios.Threat{scenarios.DBOutage(db, 5*time.Second)}, ...})
//
// # Embedded or external
//
// By default the proxy runs inside the test process on 127.0.0.1, one
// Toxiproxy server per proxy with no HTTP API. It never touches the
// process's loggers: zerolog's global logger stays the user's.
//
// With TOXIPROXY_URL set, proxies are created on that toxiproxy-server
// instead — for example a CI service container (see the README's GitHub
// Actions job). There
//
//   - each proxy is named for its run and numbered within it, so runs and
//     tests sharing the server never collide, even on one name;
//   - at a run's first proxy, a janitor deletes the proxies left by runs
//     that died (a process of this host that is gone, or a run of another
//     host older than [StaleAfter]);
//   - on SIGINT or SIGTERM the run deletes its live proxies before the
//     signal ends it;
//   - proxies listen on TOXIPROXY_URL's host, or on RAFAEL_PROXY_LISTEN.
//
// # Where traffic may go
//
// The upstream, the server and the proxies' address must be loopback or a
// host the user lists in RAFAEL_ALLOW_HOSTS ([faults.CheckAllowed]);
// anything else is refused with an error naming the variable.
package toxiproxy
