// Package scenarios will hold threats as values built from faults: Latency,
// DBOutage, Flood, MemoryPressure, Cascade and user-composed threats, each with a
// severity, phases and a rapid generator of its parameters. It runs nothing by
// itself. It arrives with issue 5; this file only reserves its place.
package scenarios
