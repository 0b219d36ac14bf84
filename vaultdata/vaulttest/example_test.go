package vaulttest_test

import (
	"fmt"

	"github.com/rafaelabs/rafael/vaultdata"
)

// Where a shipped pattern was proven, and what backs its score.
func Example() {
	p, err := vaultdata.Default().Pattern("pgx-outage-retry")
	if err != nil {
		panic(err)
	}
	for _, pr := range p.Proofs {
		if pr.Where == vaultdata.ModelProof {
			fmt.Println(pr.Where, "re-run by:", pr.Test.Command())
		}
	}
	// Output:
	// simulated model re-run by: go test -count=1 -run '^TestModelProofs$/^pgx-outage-retry$' ./vaultdata/vaulttest
}
