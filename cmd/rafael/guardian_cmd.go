package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rafaelabs/rafael/guardian"
	"github.com/rafaelabs/rafael/internal/atomicfile"
)

func guardianCommand() *command {
	return &command{
		name: "guardian",
		help: `Guardian sets up a guardian's directory (conventionally testdata/rafael):
its approver policy, guardian.json.`,
		subs: []*command{guardianInitCommand()},
	}
}

// policyFile is guardian.json as guardian init writes it: the fields of
// guardian.Config in the order the guardian reads them, with a "//" field
// of comment lines that says what each one means.
type policyFile struct {
	Comment   []string         `json:"//"`
	Approvers []policyApprover `json:"approvers"`
	Approvals struct {
		Medium int `json:"medium"`
		High   int `json:"high"`
		Policy int `json:"policy"`
	} `json:"approvals"`
	Impact struct {
		Medium      float64 `json:"medium"`
		High        float64 `json:"high"`
		MediumRatio float64 `json:"mediumRatio"`
		HighRatio   float64 `json:"highRatio"`
	} `json:"impact"`
	Modules map[string]policyModule `json:"modules"`
	Rules   struct {
		Enable      []string `json:"enable"`
		MaxAttempts int      `json:"maxAttempts"`
		MaxTimeout  string   `json:"maxTimeout"`
	} `json:"rules"`
}

type policyApprover struct {
	Name      string `json:"name"`
	Role      string `json:"role,omitempty"`
	PublicKey string `json:"publicKey"`
}

type policyModule struct {
	Criticality   string `json:"criticality"`
	External      bool   `json:"external"`
	NonIdempotent bool   `json:"nonIdempotent"`
}

// namedValue is one NAME=VALUE flag.
type namedValue struct{ name, value string }

// namedFlag appends NAME=VALUE arguments of a repeated flag to list.
func namedFlag(list *[]namedValue, what string) func(string) error {
	return func(s string) error {
		name, value, ok := strings.Cut(s, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return fmt.Errorf("want NAME=%s", what)
		}
		*list = append(*list, namedValue{name, value})
		return nil
	}
}

func guardianInitCommand() *command {
	var dir string
	var force bool
	var approvers, roles []namedValue
	return &command{
		name:    "init",
		args:    "[-dir testdata/rafael] [-approver NAME=pub.pem]... [-role NAME=ROLE]... [-force]",
		summary: "write a documented guardian.json: approvers, thresholds, rules",
		help: `Guardian init writes DIR/guardian.json, the guardian's approver policy, with
a "//" field of comment lines that explains every field: the approvers (each
-approver NAME=pub.pem adds one, with the PEM Ed25519 public key in pub.pem; a
-role NAME=ROLE gives one a role), how many approvals a medium and a high
impact change and a change of the policy itself need, what impact means, the
module marks and the compliance rules. It never overwrites a guardian.json
unless -force is given.

The policy is recorded in the audit log on the first proposal, which prints
its digest: pin it from outside the directory as $RAFAEL_GUARDIAN_POLICY.
Later edits of the file count only when approved by the approvers of the
policy in force (rafael approve lists them) or pinned anew.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", filepath.Join("testdata", "rafael"), "the guardian's directory (created if missing)")
			fs.Func("approver", "an approver: NAME=pub.pem, a PEM PKIX Ed25519 public key; repeat for several", namedFlag(&approvers, "pub.pem"))
			fs.Func("role", "an approver's role, recorded with each approval: NAME=ROLE (e.g. alice=sre-lead)", namedFlag(&roles, "ROLE"))
			fs.BoolVar(&force, "force", false, "replace an existing guardian.json")
		},
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("guardian init: unexpected argument %q: give the directory with -dir", args[0])
			}
			return guardianInit(e, dir, approvers, roles, force)
		},
	}
}

func guardianInit(e *env, dir string, approvers, roles []namedValue, force bool) int {
	const name = "guardian init"
	var f policyFile
	var keys []ed25519.PublicKey
	for _, a := range approvers {
		data, err := os.ReadFile(a.value)
		if err != nil {
			return e.usagef("%s: -approver %s=%s: %v", name, a.name, a.value, errors.Unwrap(err))
		}
		k, err := guardian.ParsePublicKey(data)
		if err != nil {
			return e.usagef("%s: -approver %s=%s: %s", name, a.name, a.value, oneLine(err))
		}
		for i, prev := range f.Approvers {
			switch {
			case strings.EqualFold(prev.Name, a.name):
				return e.usagef("%s: -approver %s is given twice", name, a.name)
			case keys[i].Equal(k):
				return e.usagef("%s: -approver %s=%s is also %s's key: one key per approver", name, a.name, a.value, prev.Name)
			}
		}
		keys = append(keys, k)
		f.Approvers = append(f.Approvers, policyApprover{Name: a.name, PublicKey: string(publicPEM(k))})
	}
	for _, r := range roles {
		i := indexApprover(f.Approvers, r.name)
		if i < 0 {
			return e.usagef("%s: -role %s=%s: %s is not an approver: give -approver %s=pub.pem too", name, r.name, r.value, r.name, r.name)
		}
		f.Approvers[i].Role = r.value
	}
	if f.Approvers == nil {
		f.Approvers = []policyApprover{}
	}
	f.Approvals.Medium, f.Approvals.High = 1, 2
	f.Approvals.Policy = min(2, len(f.Approvers))
	f.Impact.Medium, f.Impact.High = guardian.DefaultMediumShift, guardian.DefaultHighShift
	f.Impact.MediumRatio, f.Impact.HighRatio = guardian.DefaultMediumRatio, guardian.DefaultHighRatio
	f.Modules = map[string]policyModule{}
	rules := guardian.BuiltinRules(guardian.DefaultMaxAttempts, guardian.DefaultMaxTimeout)
	for _, r := range rules {
		f.Rules.Enable = append(f.Rules.Enable, r.ID)
	}
	f.Rules.MaxAttempts, f.Rules.MaxTimeout = guardian.DefaultMaxAttempts, guardian.DefaultMaxTimeout.String()
	f.Comment = policyComment(rules)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&f); err != nil {
		return e.failf(exitUsage, "%s: %v", name, err)
	}

	path := filepath.Join(dir, "guardian.json")
	if _, err := os.Lstat(path); err == nil && !force {
		return e.usagef("%s: %s exists: give -force to replace it (a changed policy counts only when the approvers of the policy in force approve it)", name, path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return e.usagef("%s: %v", name, err)
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return e.usagef("%s: writing %s: %v", name, path, err)
	}

	names := make([]string, len(f.Approvers))
	for i, a := range f.Approvers {
		names[i] = a.Name
	}
	w := e.stdout
	switch len(names) {
	case 0:
		fmt.Fprintf(w, "wrote %s: no approvers, so only low impact changes will be adopted (add them with -approver NAME=pub.pem -force)\n", path)
	default:
		fmt.Fprintf(w, "wrote %s: %d approver(s) (%s); a medium change needs %d approval, a high one %d, a change of the policy %d\n",
			path, len(names), strings.Join(names, ", "), f.Approvals.Medium, f.Approvals.High, f.Approvals.Policy)
	}
	if digest, err := guardian.PolicyDigest(buf.Bytes()); err == nil {
		fmt.Fprintf(w, "its digest is %s: once the first proposal records it, pin it in CI with %s=%s\n", digest, guardian.PolicyEnv, digest)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.jsonl")); err == nil {
		fmt.Fprintf(w, "%s already has an audit log: this policy counts once the approvers of the policy in force approve it (rafael approve -dir %s lists it after the next proposal), or once its digest is pinned with $%s\n",
			dir, dir, guardian.PolicyEnv)
	}
	fmt.Fprintf(w, `
Next steps:
  1. Make the CI's signing key with rafael keygen; never commit the private key.
  2. Store the private key's PEM text as the CI secret $%[1]s: it signs the audit
     log and is the proposer's identity (its approvals never count).
  3. Commit the public key and verify with it: $%[2]s=ci.pub.pem, or
     rafael audit verify -dir %[3]s -key ci.pub.pem
  4. go test -rafael.update ./... : the first proposal records this policy in the
     audit log and prints its digest; set $%[4]s to it in CI.
  5. Approvers list the pending changes with rafael approve -dir %[3]s -trust ci.pub.pem
     and sign one with -key their-key.pem <digest>.
`, guardian.SigningKeyEnv, guardian.AuditKeysEnv, dir, guardian.PolicyEnv)
	return exitOK
}

// policyComment is the "//" field of the guardian.json init writes.
func policyComment(rules []guardian.Rule) []string {
	c := []string{
		"guardian.json: the approver policy of the RAFAEL guardian for the genomes in this directory (written by rafael guardian init; go doc github.com/rafaelabs/rafael/guardian.Config).",
		"approvers: the people whose signed approvals (rafael approve) count: name, role (recorded with each approval) and publicKey (a PEM PKIX Ed25519 public key, the approver's identity). The key that proposed a change, and an approver named as the proposal's actor, never count for it.",
		"approvals.medium, approvals.high: the distinct approvers a medium and a high impact change need (at least 1 and 2). A low impact change is adopted without approval.",
		"approvals.policy: how many approvers of the policy in force must approve a change of this file (0 means 2, or 1 with a single approver; with no approvers only a pin changes it).",
		"impact.medium, impact.high: the fraction of a parameter's range a change must move to be of medium or high impact (0 < medium <= high <= 1). A switched mode or an added gene is medium, a removed gene high.",
		"impact.mediumRatio, impact.highRatio: the ratio to the old value (new/old or old/new) that makes a parameter's change, or its effect on a call's worst-case time or attempts, of medium or high impact (1 < mediumRatio <= highRatio).",
		`modules: marks per module name, e.g. "payments": {"criticality": "high", "external": true, "nonIdempotent": true}. criticality high raises the impact of every change to the module one level; external: it calls a dependency outside the process; nonIdempotent: repeating its operation is unsafe. A module not listed is internal, idempotent, of normal criticality.`,
		"rules.enable: the compliance rules every adopted genome must pass:",
	}
	for _, r := range rules {
		c = append(c, "  "+r.ID+": "+r.Explain+".")
	}
	c = append(c,
		"rules.maxAttempts bounds retry.maxAttempts (max-attempts); rules.maxTimeout, a Go duration, bounds an external module's timeout (external-timeout).",
		"This file is recorded in the audit log (audit.jsonl) on the first proposal, which prints its digest: pin it from outside the directory as $"+guardian.PolicyEnv+"=sha256:... (a CI variable), so that a swapped first policy or a replaced history is caught.",
		"Later edits of this file, comments included, count only when the approvers of the policy in force approve them (rafael approve lists the change after the next proposal), or when the new digest is pinned with $"+guardian.PolicyEnv+".",
		"The keys that verify the audit log are never read from this directory: give them with rafael audit verify -key pub.pem or $"+guardian.AuditKeysEnv+".",
	)
	return c
}

func indexApprover(as []policyApprover, name string) int {
	for i, a := range as {
		if strings.EqualFold(a.Name, name) {
			return i
		}
	}
	return -1
}

// publicPEM encodes k as a PEM "PUBLIC KEY" block (PKIX), as guardian.json
// lists approvers' keys.
func publicPEM(k ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(k) // cannot fail for an Ed25519 key
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// readPublicKeys reads every PEM "PUBLIC KEY" block of a file; errors do
// not repeat its name, which the caller gives with the flag.
func readPublicKeys(path string) ([]ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return guardian.ParsePublicKeys(data)
}

// trustedKeys are the keys trusted to have signed the audit log: those in
// the files of flag (read with readPublicKeys), those of $RAFAEL_AUDIT_KEYS
// and the public half of $RAFAEL_SIGNING_KEY. Never anything in the
// guardian's directory.
func trustedKeys(e *env, flagName string, files []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	add := func(ks ...ed25519.PublicKey) {
		for _, k := range ks {
			if indexKey(keys, k) < 0 {
				keys = append(keys, k)
			}
		}
	}
	for _, f := range files {
		ks, err := readPublicKeys(f)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %s", flagName, f, oneLine(err))
		}
		add(ks...)
	}
	ks, err := guardian.PublicKeysFromEnv(e.getenv(guardian.AuditKeysEnv))
	if err != nil {
		return nil, fmt.Errorf("$%s: %s", guardian.AuditKeysEnv, oneLine(err))
	}
	add(ks...)
	k, err := guardian.SigningKeyFromEnv(e.getenv(guardian.SigningKeyEnv))
	if err != nil {
		return nil, fmt.Errorf("$%s: %s", guardian.SigningKeyEnv, oneLine(err))
	}
	if k != nil {
		add(k.Public().(ed25519.PublicKey))
	}
	return keys, nil
}

func indexKey(keys []ed25519.PublicKey, k ed25519.PublicKey) int {
	for i, x := range keys {
		if x.Equal(k) {
			return i
		}
	}
	return -1
}

// isVerifyFailure reports whether err says the record fails verification
// (tampered with, or an interrupted write), as opposed to bad input.
func isVerifyFailure(err error) bool {
	return errors.Is(err, guardian.ErrTampered) || errors.Is(err, guardian.ErrInterrupted)
}

// printLines prints a multi-line message on w, each line prefixed
// "rafael: ".
func printLines(w io.Writer, msg string) {
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(w, "rafael: %s\n", l)
	}
}

// guardianFailure reports an error of the guardian: a record that fails
// verification line by line, exit 1; anything else on one line, exit 2.
func guardianFailure(e *env, name string, err error) int {
	if isVerifyFailure(err) {
		printLines(e.stderr, name+": "+err.Error())
		return exitFailure
	}
	return e.usagef("%s: %s", name, oneLine(err))
}
