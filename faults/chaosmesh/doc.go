// Package chaosmesh is RAFAEL's cluster backend: a faults.Target whose
// faults are Chaos Mesh experiments, so that a champion evolved locally is
// proven in a Kubernetes cluster on the same seeded threats. It is a module
// of its own (github.com/rafaelabs/rafael/faults/chaosmesh): the root
// module never requires Kubernetes.
//
// # The shape
//
// The search stays local and in virtual time; the cluster re-runs the
// baseline and the champion, a few trials per run, with evidence that each
// fault fired:
//
//	func TestCheckoutInTheCluster(t *testing.T) {
//		c, _ := client.New(config.GetConfigOrDie(), client.Options{Scheme: scheme}) // v1alpha1.AddToScheme(scheme)
//		db := chaosmesh.New(t, c, "postgres",
//			chaosmesh.Selector{Namespaces: []string{"shop"}, Labels: map[string]string{"app": "postgres"}},
//			chaosmesh.Namespace("chaos-testing"), chaosmesh.Seed(seed))
//		harness.Run(t, harness.Spec{
//			Module:  "checkout",
//			Genome:  champion, // evolved on the simulated tier with in-process hooks
//			Threats: []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second), scenarios.Latency(db, 300*time.Millisecond)},
//			Workload: callTheServiceInTheCluster,
//			Tier:    harness.Wire,
//			Trials:  1,
//		})
//	}
//
// # Faults as objects
//
//   - faults.Latency → NetworkChaos delay (latency, jitter), downstream
//     only: what the selected pods send (Chaos Mesh's own validation refuses
//     the other directions without a second selector);
//   - faults.Down → NetworkChaos partition, or with [Down] a PodChaos
//     pod-failure or pod-kill;
//   - faults.Blackhole → NetworkChaos loss of 100 % of what the pods send;
//     faults.Bandwidth → NetworkChaos bandwidth, downstream;
//   - faults.Error → HTTPChaos: abort, or a replaced status code
//     (faults.Error.Status); every request, not a rate — a rate needs an
//     in-process hook;
//   - memory pressure → StressChaos ([Target.Pressure]).
//
// Every object is named for the target, labelled with the run
// ([LabelRun], [LabelHost], [LabelPID]) and its seed ([LabelSeed]), and
// carries a duration: the threat's phase length when a threat schedules it
// (faults.Bounded), else [Lasting] — a dead-man's switch, so the cluster
// heals itself if the test process dies.
//
// # Inject, prove, recover
//
// Apply registers the object's deletion with the test's Cleanup before it
// creates it, then waits (with a deadline, [Wait]) for Chaos Mesh to report
// AllInjected, and counts the per-pod records that say injected: the
// evidence (faults.Toucher, "pods"; faults.Witness) that goes into the
// trial's injections and the report's "fired" lines. Removal deletes the
// object and waits until Chaos Mesh has recovered it and its finalizer is
// gone; if it is not gone by the deadline, it sets the
// chaos-mesh.chaos-mesh.org/cleanFinalizer annotation to "forced" and waits
// again. [New] first runs the janitor ([Sweep]): objects left by dead
// processes of this host, and objects of any host long past their
// duration, are deleted; objects of live runs and objects RAFAEL did not
// make are never touched.
//
// # What was run, and what was not
//
// No Kubernetes can run on the machines RAFAEL is built on. The package's
// tests use controller-runtime's fake client with Chaos Mesh's API types:
// every object is checked field by field and by Chaos Mesh's own defaulting
// and validation; the wait for AllInjected, the recovery, the forced
// finalizer and the janitor are driven by a stand-in controller that
// writes the status and finalizers as Chaos Mesh does. Nothing here has
// been run against a real cluster: the Chaos Mesh version, RBAC for the
// four kinds, and the timing of real injections are for the first team
// that does to confirm.
package chaosmesh
