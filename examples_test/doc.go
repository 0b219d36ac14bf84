// Package examples holds the walkthroughs a user copies: each is a
// harness.Run in a _test.go file, and each states in its doc comment what it
// shows. Every threat kind appears at least once.
//
//   - checkout_test.go: a checkout service writing orders to the real
//     PostgreSQL through pgx (wire tier: a database outage and latency
//     through an embedded Toxiproxy), the same service against an
//     in-process store (simulated tier), and evolution from no resilience
//     at all, with the report read back from its JSON.
//   - cache_test.go: a cache-aside read path on the real Redis through
//     go-redis: latency and connection resets; evolved in-process, proven on
//     the wire.
//   - upstream_test.go: an HTTP client of two capacity-limited upstreams: a
//     request flood and a cascading failure; evolved in-process (an
//     in-process transport behind fault hooks), proven over real HTTP
//     through Toxiproxy.
//   - workers_test.go: a worker pool with a memory budget under memory
//     pressure: evolved in-process against modelled pressure
//     (faults.Pressure), proven on the wire tier against a real ballast.
//   - approval_test.go: the guardian's loop with the rafael command:
//     propose, approve with the reviewers' keys, adopt, start from it.
//   - shop_test.go and shop/: the whole loop on a service's production
//     code — PostgreSQL through genomesql and a tax service through
//     genomehttp, the service running its genome file with genome.Live:
//     evolved on the wire tier, proposed, approved, adopted, reloaded while
//     it serves, its live figures better under the same fault.
//
// make demo runs them all and leaves the reports and a signed audit log in
// rafael-out/demo.
package examples
