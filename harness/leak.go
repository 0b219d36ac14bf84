package harness

import (
	"testing"

	"go.uber.org/goleak"
)

// refuseParallel is replaced by the leak check's own (see the clients
// branch).
func refuseParallel(t *testing.T) {}

// checkLeaks checks, with goleak, that the run left no goroutine behind.
func checkLeaks(t *testing.T, module string, ignore goleak.Option, extra []goleak.Option, wire bool) {
	opts := append([]goleak.Option{ignore}, extra...)
	if wire {
		opts = append(opts, proxyGoroutines...)
	}
	if err := goleak.Find(opts...); err != nil {
		t.Errorf("rafael: %s left goroutines behind after its trials (a workload that ignores its context, or a client not closed):\n%s", module, shorten(err.Error(), 4<<10))
	}
}

// proxyGoroutines are the goroutines of the embedded Toxiproxy's live
// connections: they belong to the proxy, which the test's cleanup closes
// after Run returns (faults' own tests check it leaves nothing behind).
var proxyGoroutines = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).write"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*Proxy).server"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*Proxy).freeBlocker"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/stream.(*ChanWriter).Write"),
}
