// Package examples will hold the walkthroughs a user copies: services on
// real PostgreSQL and Redis and an HTTP client of a flaky upstream, each a
// harness.Run. They arrive with issue 10; this file only reserves the place.
package examples
