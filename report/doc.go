// Package report holds the resilience report of a harness run: its model
// ([Report], one [Threat] row per threat, one [Trial] per seed with its
// [Metrics]) and its JSON form, versioned by [SchemaVersion]. It records;
// it decides nothing.
package report
