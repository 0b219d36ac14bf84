// Package vaultdata is RAFAEL's pattern vault: proven starting genomes for
// the stacks Go services use, so that evolution need not start from nothing,
// each backed by a test.
//
//	rep := harness.Run(t, harness.Spec{
//		Module: "checkout",
//		Genome: vaultdata.MustGenome(t, "pgx-outage-retry"),
//		...
//	})
//
// # Patterns
//
// A [Pattern] is a JSON file: an id, a name, a [Category] (retry,
// circuit-breaker, timeout, rate-limit, bulkhead, fallback, hedging,
// composite), a technology stack (one of [Stacks]: postgres/pgx, redis/go-redis,
// net/http, grpc, nats, kafka, s3, ...), tags, the genome (genome JSON, schema
// version 1), a Go example, the [Threat]s it was verified against, its [SLO],
// the [Model] of the simulated dependencies it ran on, a [Status], a
// reliability score from 0 to 100, and the [Provenance] of that score: the
// seed, the tier, the date and the SHA-256 of the harness report.
//
// Decoding is strict. Every problem of every file is reported at once,
// joined, each a [FieldError] "<file>: <field>: <problem>": an unknown field,
// a missing id, an invalid genome (its fields named "genome.retry.baseDelay"),
// an unknown stack or category, a genome without the gene its category
// promises, a bad threat, two files with one id.
//
// # When files are checked
//
// [Load] and [Open] check every file before they return, on GOMAXPROCS
// goroutines: about 23–28 ms for 1,000 patterns held in memory, on two
// cores, most of it genome.Parse. With the [Lazy] option they check at once
// only each file's header — id, name, summary, category, stack, tags,
// status, score, its top-level fields — and that ids are unique: what a
// search needs. Loading and searching 1,000 patterns then takes about 5–6 ms
// (issue 9 asks for under 10 ms). Reading 1,000 files from a directory adds
// its own cost, about 15 ms on the machine of BENCHMARKS.md, with or without
// Lazy. The rest of a file is decoded and checked when its pattern is first
// used, once; [Vault.Pattern] and [Vault.Genome] then report its problems,
// [Vault.List] and [Vault.Search] leave it out, and [Vault.Check] reports
// every problem of every file, as Load would have.
// [Default] and [Export] always check everything.
//
// # Catalogue
//
//   - Vaults: [Default] (the shipped patterns, embedded with go:embed),
//     [Open] (a team's own directory), [Load] (any fs.FS); [Lazy] to check
//     only the headers at once, [Vault.Check] to check the rest.
//   - Lookup: [Vault.List], [Vault.Search] by stack, category, tags and
//     minimum score ([Query]), [Vault.Pattern] and [Vault.Genome] by id; an
//     unknown id is [ErrNotFound] with the closest ids.
//   - Fixtures: [MustGenome] loads a shipped pattern's genome in a test and
//     fails it, with the closest ids, when the id is unknown.
//   - Threats: [Pattern.Scenarios] builds a pattern's declared threats as
//     scenarios.Threat values against your targets (hooks or proxies).
//   - Publishing: [FromReport] completes a pattern from a harness report
//     (champion genome, SLO, score, provenance); [Export] writes it atomically
//     to a vault directory that [Open] reads.
//
// # Honest scores
//
// The package's tests run every shipped pattern with harness.Run on the
// simulated tier, against its declared threats, on in-process dependencies
// built from its model, with the seed in its provenance and two trials per
// threat. Every trial must meet the pattern's SLO and the measured score
// (the report's baseline score) must be at least the declared one. The
// declared scores were written by that test itself
// (RAFAEL_VAULT_MEASURE=<dir>): the measured score rounded down, less one
// point (three for patterns facing a flood, whose callers race and whose
// score varies by up to two points between runs). BENCHMARKS.md lists the
// measured figures.
package vaultdata
