// Package harness will hold harness.Run(t, Spec): trials on the simulated
// (testing/synctest) and wire (real TCP, Toxiproxy) tiers, measurements, SLO
// checks, and the calls into evolve, report and guardian. It arrives with
// issue 5; this file only reserves its place.
package harness
