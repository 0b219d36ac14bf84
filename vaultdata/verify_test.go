package vaultdata_test

import (
	"testing"

	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/vaultdata"
	"github.com/rafaelabs/rafael/vaultdata/vaulttest"
)

// The proofs of the shipped patterns run in package vaulttest
// (TestModelProofs, on each pattern's model) and in the clients module
// (TestVaultProofs, on the wire with each pattern's named client).

// harnessRun is harness.Run.
func harnessRun(t *testing.T, s harness.Spec) *report.Report { return harness.Run(t, s) }

// specOf is the harness spec that proves p on its model.
func specOf(t *testing.T, p vaultdata.Pattern) harness.Spec { return vaulttest.ModelSpec(t, p) }
