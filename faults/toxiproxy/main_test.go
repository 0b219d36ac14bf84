package toxiproxy

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test of the package leaves a goroutine behind.
// The two ignores cover goroutines that Toxiproxy v2.12.0 itself leaks in
// known cases (a client closing while a latency toxic holds two or more
// chunks, removing a timeout toxic mid-flow, reset_peer under continuous
// writes): upstream issues Shopify/toxiproxy#558 and #412.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"), // toxiproxy#558
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"),       // toxiproxy#412
	)
}
