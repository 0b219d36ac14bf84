// Package vaultdata will hold the pattern library as embedded data files,
// each pattern verified by a test. It arrives with issue 9; this file only
// reserves its place.
package vaultdata
