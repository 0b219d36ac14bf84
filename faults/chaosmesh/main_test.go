package chaosmesh

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the stand-in
// controllers and every wait loop end with their tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
