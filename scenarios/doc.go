// Package scenarios holds threats as values built from faults: what a test
// declares its code must survive.
//
// # Named threats
//
//   - [Latency]: a slow dependency (generated 50ms–2s).
//   - [DBOutage]: a dependency down, connections refused (generated 0.5–5s).
//   - [Flood]: a request flood beyond capacity (8–256 callers, 100–5000/s).
//   - [MemoryPressure]: memory held during the attack (16–512 MiB).
//   - [Cascade]: a slow dependency that drags a second one down with it.
//   - [Compose]: your own fault steps at offsets.
//
// Every [Threat] has a name, a [Severity], three phases (steady → inject →
// recover, see [Threat.Phases]), a String for reports, and a rapid generator
// of its parameters within their declared ranges ([Threat.Generator]), whose
// shrinking finds the smallest threat that still breaks the code.
// [Threat.AtMost] caps those ranges at the threat's own values (every threat
// up to this one, as the harness's property check draws them), and
// [Threat.WithValues] rebuilds a threat from parameter values.
//
// [Threat.Timed] makes a threat's timing generated parameters too (when
// each step starts and how long it lasts), and [Together] runs two threats
// at once: the envelope an adversarial search (evolve) moves through.
// [Threat.RapidBits] encodes a threat as the data of a rapid fail file, so
// that a threat found by other means is replayed as a counterexample is.
//
// Threats act on [faults.Target]s, so the same threat drives an embedded
// Toxiproxy on the wire tier and an in-process hook on the simulated tier.
// A threat runs nothing by itself: the harness calls [Threat.Schedule] when a
// trial reaches its inject phase, and runs the flood and the ballast.
package scenarios
