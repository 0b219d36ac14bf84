package faults_test

import (
	"sync"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
)

// cluster stands for a backend whose faults outlive the process unless
// bounded: it records the length it was given, and says what it did.
type cluster struct {
	mu      sync.Mutex
	lasting time.Duration
}

func (c *cluster) Name() string                         { return "cluster" }
func (c *cluster) Supports(faults.Kind) bool            { return true }
func (c *cluster) Witness() string                      { return "injected into 3 pods" }
func (c *cluster) Apply(f faults.Fault) (func(), error) { return c.ApplyFor(f, 0) }
func (c *cluster) ApplyFor(_ faults.Fault, d time.Duration) (func(), error) {
	c.mu.Lock()
	c.lasting = d
	c.mu.Unlock()
	return func() {}, nil
}

func TestABoundedTargetIsToldHowLongAFaultLasts(t *testing.T) {
	c := &cluster{}
	stop := faults.ScheduleTracked(c, faults.Down{}, 0, 42*time.Second, nil)
	for i := 0; ; i++ {
		if i == 5000 {
			t.Fatal("the fault was never applied")
		}
		c.mu.Lock()
		d := c.lasting
		c.mu.Unlock()
		if d != 0 {
			if d != 42*time.Second {
				t.Errorf("ApplyFor was told %v; want the scheduled 42s", d)
			}
			break
		}
		time.Sleep(time.Millisecond)
	}
	if ev := stop(); ev.Detail != "injected into 3 pods" {
		t.Errorf("the injection's detail %q; want what the target witnessed", ev.Detail)
	}
}
