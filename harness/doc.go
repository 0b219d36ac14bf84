// Package harness runs resilience trials inside go test: one call,
// [Run](t, [Spec]), in a _test.go file.
//
//	rep := harness.Run(t, harness.Spec{
//		Module:   "checkout",
//		Genome:   start, // genome.Load("testdata/rafael/checkout.genome.json")
//		Threats:  []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
//		Workload: svc.Place, // func(ctx, *genome.Policy) error: one request
//		SLO:      harness.SLO{SuccessRate: 0.99, P99: 500 * time.Millisecond},
//	})
//
// # Trials
//
// For every threat Run runs a few trials, each a subtest named
// "<threat>/seed=<n>". A trial compiles the genome into a fresh policy, sends
// the workload's requests at seeded arrival times spread over the threat's
// three phases (steady → inject → recover), injects the threat's faults,
// flood and memory pressure during the inject phase, and measures: success
// rate, latency percentiles (HdrHistogram), time to recover after the fault
// is removed, attempts per request, peak requests in flight and peak
// goroutines; the latency of successes and of failures apart, a request
// that never returns failing at the drain deadline. Package slo judges it:
// its fitness is 0.6·success + 0.2·recovery + 0.2·efficiency (slo.Weights;
// efficiency is 1 / attempts per request, the retry amplification), to
// which Weights.Latency adds the p99 against the SLO's, and Spec.Terms a
// team's own terms: functions of a trial's metrics, such as a cache-hit
// ratio of what the workload counted with [Count]. And its score is on its verdict's scale — 50 + 50·fitness when it meets
// the SLO, below 50 when it breaks any term. A trial that breaks the SLO
// fails its subtest with which term broke and by how much, what was
// measured, the seed and the command that replays it, to paste at the
// module's root: go test ./pkg -run '^…$' -rafael.seed=N.
//
// On the wire tier a broken trial is measured again (twice at most): a
// trial that then meets the SLO is unstable — logged with both
// measurements, reported as such, and failed only with -rafael.strict — and
// one that breaks it every time fails. A threat none of whose trials ran
// (the test's deadline came first) is skipped and reported as not run.
//
// # Reports
//
// Each Run writes its report as JSON, Markdown and HTML to -rafael.out, or
// the test's artifact directory with go test -artifacts, or else
// rafael-out/reports at the module's root (add rafael-out/ to .gitignore);
// a second Run in the same test gets its own files. The path is logged,
// printed where go test ./... shows it, and attached with the module, tier,
// seed and score as test attributes (go test -json, gotestsum's JUnit).
//
// # Evolution
//
// With Spec.Evolve the starting genome's trials only record how it fares;
// evolve.Search then looks for a genome that meets the SLO with margin,
// probes its champion with smaller threats and evolves again against what
// broke it; the champion runs the baseline's seeds as subtests
// "evolved/<threat>/seed=<n>" and a rapid property check over every threat up
// to the declared one as "evolved/<threat>/property". With -rafael.update the
// champion is proposed to the guardian, whose decision the report carries.
//
// # Tiers
//
//   - [Simulated]: every trial runs inside a testing/synctest bubble against
//     in-process targets (faults.NewHook): a 30-second outage costs
//     microseconds of real time and the same seed measures the same, request
//     for request. A real-time watchdog turns a trial that hangs into a
//     failed trial with a dump of its goroutines, and the tests go on.
//   - [Wire]: real time, real sockets, through an embedded Toxiproxy
//     (toxiproxy.Start, package faults/toxiproxy) to real servers; Spec.TimeScale compresses the phases.
//
// Auto, the zero Tier, picks Wire when a threat's target is networked
// (a proxy, or a hook in front of a real driver, dialer or transport).
//
// # Flags
//
// -rafael.seed, -rafael.tier, -rafael.trials, -rafael.out, -rafael.update
// and -rafael.dir, each mirrored by an environment variable (RAFAEL_SEED,
// ...): see [Run]. -short runs one trial per threat; Run stops before the
// test's deadline. After its trials Run checks with goleak that nothing was
// left running — nothing the run started: Run may be called from parallel
// tests, and its goroutines carry the pprof label rafael.run.
//
// # Sandboxes
//
// With Spec.Sandbox (or evolve.Options.Isolation evolve.Sandbox) every trial
// runs in a fresh copy of the test binary that the kernel confines: its own
// network namespace with only loopback up (and the loopback ports in
// Sandbox.Hand, forwarded to this host's), cgroup memory and task limits,
// and a wall-clock bound. The copy runs the test function again up to its
// call of Run, which runs the trials it was handed and ends that test: put
// each Run of a test that has several in a subtest of its own, and skip
// work only the parent needs with [InChild]. A copy the kernel kills for
// memory fails its trials with "killed: out of memory (limit …)", and a
// search goes on; on the wire tier a MemoryPressure threat lowers the
// sandbox's memory limit instead of holding a ballast. See [Sandbox].
//
// # Parallel evaluation
//
// On the simulated tier a search evaluates its candidates on GOMAXPROCS
// workers (evolve.Options.Workers), each trial in its own synctest bubble
// and fault scope, with the same result as one at a time. A workload's
// in-process fakes that keep state across calls (a capacity, a cache) must
// keep it per trial, keyed by faults.ScopeOf(ctx), or the search must set
// Workers: 1; a workload that drops the trial's context is counted by
// faults.Hook.Astray.
package harness
