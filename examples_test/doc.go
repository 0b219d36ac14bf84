// Package examples holds walkthroughs a user copies: each is one harness.Run
// in a _test.go file, against real servers on the wire tier and in-process
// stand-ins on the simulated tier.
//
//   - checkout_test.go: a checkout service that writes orders to PostgreSQL
//     through pgx, facing a database outage and latency, on both tiers.
package examples
