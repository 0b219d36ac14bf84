// Package faults will hold RAFAEL's fault primitives on targets: embedded
// Toxiproxy proxies on real TCP, in-process hooks (funcs, http.RoundTripper,
// net.Conn, database/sql connectors) and resource faults (memory ballast, load
// generator). It knows nothing of genomes or evolution. It arrives with issue 4;
// this file only reserves the package's place in the layout.
package faults
