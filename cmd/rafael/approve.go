package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rafaelabs/rafael/guardian"
)

// digestArg is a proposal digest or a prefix of one: "sha256:" and 12 to
// 64 hex digits.
var digestArg = regexp.MustCompile(`^sha256:[0-9a-f]{12,64}$`)

func approveCommand() *command {
	var keyFile, actor, dir string
	var trust []string
	return &command{
		name:    "approve",
		args:    "[-dir testdata/rafael] [-trust pub.pem]... [-key KEY.pem] [-actor LABEL] [proposal-digest]",
		summary: "list the pending proposals, or sign an approval of one",
		help: `Approve lists the proposals pending in DIR, or approves one. Without a digest
it prints each open proposal: its digest, what it changes (a module's genome,
or the approver policy guardian.json), where it is in the audit log, who
proposed it (label and key fingerprint), its impact and why, its changes, and
the approvals it has and needs, with the ones that do not count and why.

With a digest (or a unique prefix of 12 hex digits or more after "sha256:")
it prints that proposal, signs an approval of it with the -key private key
(guardian.Approve: bound to the proposal's digest and its position in the
log) and stores it in DIR/approvals (Guardian.WriteApproval, which refuses a
key that is not an approver's in the policy in force). It prints the
approval's path last. The next go test -rafael.update of the same change
counts it; the key that proposed a change never approves it.

The audit log is verified first against the keys trusted to sign it: the
-trust files (the CI's public key), $RAFAEL_AUDIT_KEYS and the public half of
$RAFAEL_SIGNING_KEY; never keys in DIR, and never the approver's own -key.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", filepath.Join("testdata", "rafael"), "the guardian's directory")
			keysFlag(fs, "trust", "a public key trusted to sign the audit log (PEM PKIX Ed25519, one or more blocks); repeat for several", &trust)
			fs.StringVar(&keyFile, "key", "", "the approver's private key (PEM PKCS#8 Ed25519); needed to approve")
			fs.StringVar(&actor, "actor", "", "a label recorded with the approval (default: the key's fingerprint); the key is the identity")
		},
		run: func(e *env, args []string) int {
			switch {
			case len(args) > 1:
				return e.usagef("approve: want at most one proposal digest, got %d arguments", len(args))
			case len(args) == 1:
				return approve(e, dir, trust, args[0], keyFile, actor)
			}
			return listPending(e, dir, trust)
		},
	}
}

// openForApproval opens dir's guardian with the keys trusted to sign its
// log; it signs nothing. ok is false when there is no audit log yet.
func openForApproval(e *env, dir string, trustFiles []string, approver ed25519.PublicKey) (g *guardian.Guardian, ok bool, code int) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, false, e.usagef("approve: %s is not a directory: give the guardian's directory with -dir", dir)
	}
	keys, err := trustedKeys(e, "-trust", trustFiles)
	if err != nil {
		return nil, false, e.usagef("approve: %s", err)
	}
	if len(keys) == 0 {
		return nil, false, e.usagef("approve: no trusted key: give the public key that signs the audit log with -trust pub.pem or $%s; keys in the directory are never trusted", guardian.AuditKeysEnv)
	}
	if approver != nil && indexKey(keys, approver) >= 0 {
		return nil, false, e.usagef("approve: the -key's public key is among the keys trusted to sign the audit log (-trust, $%s, $%s): an approver's key never vouches for the log it approves in, and the key that signed a proposal never approves it; trust the CI's key instead",
			guardian.AuditKeysEnv, guardian.SigningKeyEnv)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.jsonl")); errors.Is(err, os.ErrNotExist) {
		return nil, false, exitOK
	}
	g, err = guardian.Open(dir, guardian.WithSigningKey(nil), guardian.WithTrustedKeys(keys...),
		guardian.WithPinFile(e.getenv(guardian.PinEnv)), guardian.WithPolicy(e.getenv(guardian.PolicyEnv)))
	if err != nil {
		return nil, false, e.usagef("approve: %s", oneLine(err))
	}
	return g, true, exitOK
}

func listPending(e *env, dir string, trustFiles []string) int {
	g, ok, code := openForApproval(e, dir, trustFiles, nil)
	if code != exitOK {
		return code
	}
	if !ok {
		fmt.Fprintf(e.stdout, "no pending proposals in %s: it has no audit log yet\n", dir)
		return exitOK
	}
	pending, err := g.Pending(context.Background())
	if err != nil {
		return guardianFailure(e, "approve", err)
	}
	if len(pending) == 0 {
		fmt.Fprintf(e.stdout, "no pending proposals in %s\n", dir)
		return exitOK
	}
	for i, p := range pending {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		printProposal(e.stdout, p)
	}
	fmt.Fprintf(e.stdout, "\napprove one with: rafael approve -dir %s -trust CI.pub.pem -key YOUR-KEY.pem <digest>\n", dir)
	return exitOK
}

func approve(e *env, dir string, trustFiles []string, digest, keyFile, actor string) int {
	if !digestArg.MatchString(digest) {
		return e.usagef("approve: %q is not a proposal digest: want \"sha256:\" and its 64 hex digits (or a unique prefix of 12 or more), as rafael approve -dir %s lists them", digest, dir)
	}
	if keyFile == "" {
		return e.usagef("approve: -key is required to approve: the approver's private key (PEM PKCS#8 Ed25519)")
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return e.usagef("approve: -key: %v", err)
	}
	key, err := guardian.ParsePrivateKey(data)
	if err != nil {
		return e.usagef("approve: -key %s: %s: give a PEM PRIVATE KEY (PKCS#8 Ed25519)", keyFile, oneLine(err))
	}
	pub := key.Public().(ed25519.PublicKey)
	g, ok, code := openForApproval(e, dir, trustFiles, pub)
	if code != exitOK {
		return code
	}
	notPending := func() int {
		return e.usagef("approve: %s is not pending in %s: run rafael approve -dir %s to list them", digest, dir, dir)
	}
	if !ok {
		return notPending()
	}
	ctx := context.Background()
	pending, err := g.Pending(ctx)
	if err != nil {
		return guardianFailure(e, "approve", err)
	}
	var matches []guardian.PendingProposal
	for _, p := range pending {
		if strings.HasPrefix(p.Proposal, digest) {
			matches = append(matches, p)
		}
	}
	switch len(matches) {
	case 0:
		return notPending()
	case 1:
	default:
		return e.usagef("approve: %s is the start of %d pending proposals' digests in %s: give more of it", digest, len(matches), dir)
	}
	p := matches[0]
	printProposal(e.stdout, p)
	fp := guardian.Fingerprint(pub)
	label := actor
	if label == "" {
		label = fp
	}
	envelope, err := guardian.Approve(p.Proposal, p.At, key, label)
	if err != nil {
		return e.usagef("approve: %s", oneLine(err))
	}
	path, err := g.WriteApproval(ctx, envelope)
	if err != nil {
		return guardianFailure(e, "approve", err)
	}
	fmt.Fprintf(e.stdout, "\napproved as %s (key %s)", label, fp)
	// Say where the proposal stands now, and whether this approval counts.
	var ignored string
	if after, err := g.Pending(ctx); err == nil {
		rel := filepath.Join("approvals", filepath.Base(path)) + ":"
		for _, q := range after {
			if q.Proposal != p.Proposal || q.At != p.At {
				continue
			}
			fmt.Fprintf(e.stdout, "; %s", approvalCount(q))
			if len(q.Approvers) >= q.Required {
				fmt.Fprint(e.stdout, "; the next go test -rafael.update adopts it")
			}
			for _, why := range q.Ignored {
				if strings.HasPrefix(why, rel) {
					ignored = strings.TrimSpace(strings.TrimPrefix(why, rel))
				}
			}
		}
	}
	fmt.Fprintf(e.stdout, "\n%s\n", path)
	if ignored != "" {
		return e.failf(exitFailure, "approve: %s does not count: %s", path, ignored)
	}
	return exitOK
}

// approvalCount is "approvals: k of n (names)".
func approvalCount(p guardian.PendingProposal) string {
	s := fmt.Sprintf("approvals: %d of %d", len(p.Approvers), p.Required)
	if len(p.Approvers) > 0 {
		s += " (" + strings.Join(p.Approvers, ", ") + ")"
	}
	return s
}

// printProposal prints one pending proposal as an approver reads it.
func printProposal(w io.Writer, p guardian.PendingProposal) {
	fmt.Fprintln(w, p.Proposal)
	switch p.Kind {
	case "policy":
		fmt.Fprintf(w, "  policy change of guardian.json (%s → %s), at audit seq %d\n", p.From, p.To, p.At.Seq)
	default:
		fmt.Fprintf(w, "  %s change of module %s, at audit seq %d\n", p.Kind, p.Module, p.At.Seq)
	}
	if p.Label != "" {
		fmt.Fprintf(w, "  proposed by %s, key %s\n", p.Label, p.Proposer)
	} else {
		fmt.Fprintf(w, "  proposed by key %s\n", p.Proposer)
	}
	if p.Impact != nil {
		fmt.Fprintf(w, "  impact: %s\n", p.Impact.Level)
		for _, r := range p.Impact.Reasons {
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
	if len(p.Changes) > 0 {
		fmt.Fprintln(w, "  changes:")
		for _, c := range p.Changes {
			fmt.Fprintf(w, "    %s\n", c)
		}
	}
	fmt.Fprintf(w, "  %s\n", approvalCount(p))
	for _, why := range p.Ignored {
		fmt.Fprintf(w, "  ignored: %s\n", why)
	}
}
