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
// version 1), a Go example, the threats it was verified against as data
// (scenarios.Decl), its [SLO], the [Model] of the simulated dependencies of
// its model proof, a [Status], a declared score from 0 to 100, and its
// [Proof]s: each run that proved it — where it ran ("simulated model", or
// "wire: pgx v5.12.0 on PostgreSQL 15.20"), the score it measured, the digest
// of the genome it proved, the seed, the date, the SHA-256 of the harness
// report and the [Test] that runs it again. [Pattern.Reliability] is what
// backs the score: the last proof's measurement and how many proofs, where.
// A pattern exported from an adopted champion also records the audit entry
// that adopted it ([Adoption]).
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
// goroutines: about 40–50 ms for 1,000 patterns held in memory, on two
// cores, most of it genome.Parse. With the [Lazy] option they check at once
// only each file's header — id, name, summary, category, stack, tags,
// status, score, and the names of the members written among them — and that
// ids are unique: what a search needs. Files write their header first
// ([Export] does): the scan stops at the first member after it. Loading
// and searching 1,000 patterns then takes about 6–8 ms (issue 9 asks for
// under 10 ms). Reading 1,000 files from a directory adds
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
//     scenarios.Threat values against your targets, by name (hooks, proxies,
//     or both under one name), and names the threats no target can carry.
//   - Publishing: [FromReport] completes a pattern from a harness report
//     (champion genome, SLO, threats, a proof); [Export] writes it atomically
//     to a vault directory that [Open] reads. `rafael vault export` does
//     both and records the audit entry that adopted the champion;
//     `rafael vault verify DIR` re-runs every proof of a directory.
//   - Proving: package vaulttest runs a pattern on its model
//     (vaulttest.ProveModel) or on the wire with its client
//     (vaulttest.Prove), holds it to its SLO and declared score, and writes
//     the proof back when asked.
//
// # Honest scores
//
// Every shipped pattern is proven on its model (vaulttest.TestModelProofs:
// in-process dependencies built from its [Model], on the simulated tier,
// two trials per threat, the seed of its model proof) and, where its server
// runs on these machines, on the wire with the client it names
// (TestVaultProofs in the clients module: pgx, database/sql, MySQL, go-redis,
// nats.go, net/http, gRPC against the real servers through a real
// Toxiproxy). The Kafka and S3 patterns are proven on their model only, and
// say so. Every trial must meet the pattern's SLO and the measured score
// must be at least the declared one. The declared score is derived from the
// proofs (RAFAEL_VAULT_UPDATE=<dir> rewrites them): what the lowest proof
// measured, rounded down, less a margin — one point on the model, three
// for a flood (its callers race, its score varies), four on the wire (real
// time on a shared machine). A file declaring more than a proof measured,
// or whose proofs are of another genome, does not load.
package vaultdata
