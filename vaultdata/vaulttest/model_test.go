package vaulttest_test

import (
	"testing"

	"github.com/rafaelabs/rafael/vaultdata/vaulttest"
)

// TestModelProofs proves every pattern of the vault (the shipped patterns,
// or RAFAEL_VAULT_DIR's) that has a model on it: its genome under its
// threats, against in-process dependencies built from the model, with the
// seed of its model proof. Every trial must meet the pattern's SLO and the
// measured score must be at least the declared one. `rafael vault verify`
// runs it; RAFAEL_VAULT_UPDATE=<dir> writes each proof back.
//
//	RAFAEL_VAULT_UPDATE=$PWD/vaultdata/patterns go test -run TestModelProofs ./vaultdata/vaulttest/
func TestModelProofs(t *testing.T) {
	for _, p := range vaulttest.Vault(t).List() {
		t.Run(p.ID, func(t *testing.T) {
			if len(p.Model.Dependencies) == 0 {
				t.Skipf("%s has no model: its proofs run elsewhere (%d)", p.ID, len(p.Proofs))
			}
			vaulttest.ProveModel(t, p)
		})
	}
}
