package harness

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test of the package leaves a goroutine behind,
// except in the child processes that the failure tests start on purpose.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}
