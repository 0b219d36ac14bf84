// Package report will hold the resilience-delta report: its model and its
// JSON, Markdown and HTML renderings, merges and diffs. It arrives with issue 7;
// this file only reserves its place.
package report
