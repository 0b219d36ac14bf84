package chaosmesh

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// fakeCluster is a controller-runtime fake client with Chaos Mesh's types
// and their status subresources.
func fakeCluster(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, v1alpha1.AddToScheme(scheme))
	kinds := []client.Object{&v1alpha1.NetworkChaos{}, &v1alpha1.HTTPChaos{}, &v1alpha1.PodChaos{}, &v1alpha1.StressChaos{}}
	return fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(kinds...).WithObjects(objs...).Build()
}

// controller stands in for Chaos Mesh's controller, driving the objects'
// status as the test asks: it adds the records finalizer and reports
// AllInjected (one record per pod) for every new object, and on deletion
// reports AllRecovered and removes the finalizer — unless stuck, when it
// removes it only once the cleanFinalizer annotation says "forced", as
// Chaos Mesh does.
type controller struct {
	c      client.Client
	pods   int
	inject bool // report AllInjected
	stuck  bool // never recover on its own
	stop   chan struct{}
	done   sync.WaitGroup
}

const finalizer = "chaos-mesh/records"

func runController(t *testing.T, c client.Client, inject, stuck bool) *controller {
	ctl := &controller{c: c, pods: 3, inject: inject, stuck: stuck, stop: make(chan struct{})}
	ctl.done.Add(1)
	go ctl.loop()
	t.Cleanup(func() { close(ctl.stop); ctl.done.Wait() })
	return ctl
}

func (ctl *controller) loop() {
	defer ctl.done.Done()
	for {
		select {
		case <-ctl.stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
		var list v1alpha1.NetworkChaosList
		if err := ctl.c.List(context.Background(), &list); err != nil {
			continue
		}
		for i := range list.Items {
			ctl.step(&list.Items[i])
		}
	}
}

func (ctl *controller) step(obj *v1alpha1.NetworkChaos) {
	ctx := context.Background()
	switch {
	case obj.DeletionTimestamp != nil:
		if ctl.stuck && obj.Annotations[CleanFinalize] != "forced" {
			return
		}
		obj.Finalizers = slices.DeleteFunc(obj.Finalizers, func(f string) bool { return f == finalizer })
		_ = ctl.c.Update(ctx, obj)
	case !slices.Contains(obj.Finalizers, finalizer):
		obj.Finalizers = append(obj.Finalizers, finalizer)
		_ = ctl.c.Update(ctx, obj)
	case ctl.inject && !conditionTrue(&obj.Status.ChaosStatus, v1alpha1.ConditionAllInjected):
		obj.Status.Conditions = []v1alpha1.ChaosCondition{
			{Type: v1alpha1.ConditionSelected, Status: corev1.ConditionTrue},
			{Type: v1alpha1.ConditionAllInjected, Status: corev1.ConditionTrue},
			{Type: v1alpha1.ConditionAllRecovered, Status: corev1.ConditionFalse},
		}
		obj.Status.Experiment.Records = nil
		for p := range ctl.pods {
			obj.Status.Experiment.Records = append(obj.Status.Experiment.Records,
				&v1alpha1.Record{Id: "shop/postgres-" + string(rune('a'+p)), Phase: v1alpha1.Injected, InjectedCount: 1})
		}
		_ = ctl.c.Status().Update(ctx, obj)
	}
}

// tb is a testing.T whose Context the test can end early.
type tb struct {
	*testing.T
	ctx context.Context
}

func (t tb) Context() context.Context { return t.ctx }

var selector = Selector{Namespaces: []string{"shop"}, Labels: map[string]string{"app": "postgres"}}

func quick() Option { return Wait(2*time.Second, time.Millisecond) }

// Each threat kind's object, checked field by field against Chaos Mesh's
// API types and by the API's own defaulting and validation.
func TestEachFaultBecomesAValidChaosMeshObject(t *testing.T) {
	c := fakeCluster(t)
	target := New(t, c, "postgres", selector, Seed(42), Namespace("chaos"))
	net := func(t *testing.T, f faults.Fault) *v1alpha1.NetworkChaos {
		obj, err := target.object(f, 5*time.Second)
		require.NoError(t, err)
		nc, ok := obj.(*v1alpha1.NetworkChaos)
		require.True(t, ok, "%T", obj)
		assert.Equal(t, "5s", *nc.Spec.Duration, "the phase's length: the dead-man's switch")
		assert.Equal(t, []string{"shop"}, nc.Spec.Selector.Namespaces)
		assert.Equal(t, map[string]string{"app": "postgres"}, nc.Spec.Selector.LabelSelectors)
		assert.Equal(t, v1alpha1.AllMode, nc.Spec.Mode)
		return nc
	}
	t.Run("latency", func(t *testing.T) {
		nc := net(t, faults.Latency{Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond})
		assert.Equal(t, v1alpha1.DelayAction, nc.Spec.Action)
		assert.Equal(t, "300ms", nc.Spec.Delay.Latency)
		assert.Equal(t, "50ms", nc.Spec.Delay.Jitter)
		assert.Equal(t, v1alpha1.To, nc.Spec.Direction, "downstream: what the dependency sends back")
		valid(t, nc)
	})
	t.Run("partition", func(t *testing.T) {
		nc := net(t, faults.Down{})
		assert.Equal(t, v1alpha1.PartitionAction, nc.Spec.Action)
		assert.Equal(t, v1alpha1.Both, nc.Spec.Direction)
		valid(t, nc)
	})
	t.Run("loss", func(t *testing.T) {
		nc := net(t, faults.Blackhole{})
		assert.Equal(t, v1alpha1.LossAction, nc.Spec.Action)
		assert.Equal(t, "100", nc.Spec.Loss.Loss)
		valid(t, nc)
	})
	t.Run("bandwidth", func(t *testing.T) {
		nc := net(t, faults.Bandwidth{BytesPerSecond: 125_000})
		assert.Equal(t, v1alpha1.BandwidthAction, nc.Spec.Action)
		assert.Equal(t, "1000kbps", nc.Spec.Bandwidth.Rate)
		valid(t, nc)
	})
	for _, c := range []struct {
		as     DownAs
		action v1alpha1.PodChaosAction
	}{{PodFailure, v1alpha1.PodFailureAction}, {PodKill, v1alpha1.PodKillAction}} {
		t.Run(string(c.as), func(t *testing.T) {
			down := New(t, fakeCluster(t), "postgres", selector, Down(c.as))
			obj, err := down.object(faults.Down{}, 2*time.Second)
			require.NoError(t, err)
			pc := obj.(*v1alpha1.PodChaos)
			assert.Equal(t, c.action, pc.Spec.Action)
			assert.Equal(t, "2s", *pc.Spec.Duration)
			assert.Equal(t, []string{"shop"}, pc.Spec.Selector.Namespaces)
			valid(t, pc)
		})
	}
	t.Run("http-abort", func(t *testing.T) {
		obj, err := target.object(faults.Error{}, 3*time.Second)
		require.NoError(t, err)
		hc := obj.(*v1alpha1.HTTPChaos)
		assert.True(t, *hc.Spec.Abort)
		assert.Equal(t, v1alpha1.PodHttpRequest, hc.Spec.Target)
		assert.EqualValues(t, 80, hc.Spec.Port)
		assert.Equal(t, "3s", *hc.Spec.Duration)
		valid(t, hc)
	})
	t.Run("http-status", func(t *testing.T) {
		obj, err := target.object(faults.Error{Status: 503}, 3*time.Second)
		require.NoError(t, err)
		hc := obj.(*v1alpha1.HTTPChaos)
		assert.EqualValues(t, 503, *hc.Spec.Replace.Code)
		assert.Equal(t, v1alpha1.PodHttpResponse, hc.Spec.Target)
		valid(t, hc)
	})
	t.Run("memory-pressure", func(t *testing.T) {
		sc, err := target.stress(256<<20, 2)
		require.NoError(t, err)
		assert.Equal(t, "268435456B", sc.Spec.Stressors.MemoryStressor.Size)
		assert.Equal(t, 2, sc.Spec.Stressors.MemoryStressor.Workers)
		assert.Equal(t, "10m0s", *sc.Spec.Duration, "Lasting's default")
		assert.Equal(t, []string{"shop"}, sc.Spec.Selector.Namespaces)
		valid(t, sc)
		_, err = target.stress(0, 1)
		assert.ErrorContains(t, err, "want both positive")
	})
	t.Run("labels", func(t *testing.T) {
		nc := net(t, faults.Down{})
		assert.Equal(t, "chaos", nc.Namespace)
		assert.Equal(t, "42", nc.Labels[LabelSeed])
		assert.Equal(t, target.run, nc.Labels[LabelRun])
		assert.Equal(t, "postgres", nc.Labels[LabelTarget])
	})
	t.Run("unsupported", func(t *testing.T) {
		_, err := target.ApplyFor(faults.Error{Rate: 0.2}, time.Second)
		assert.ErrorIs(t, err, errUnsupported)
		assert.ErrorContains(t, err, "use an in-process hook for a rate")
		_, err = target.Apply(faults.Hang{})
		assert.ErrorIs(t, err, faults.ErrUnsupported)
		_, err = target.Apply(faults.Latency{Delay: time.Second, Direction: faults.Upstream})
		assert.ErrorIs(t, err, errUnsupported, "Chaos Mesh refuses an upstream delay without a second selector")
	})
}

// valid runs Chaos Mesh's own defaulting and validation (its webhooks') on obj.
func valid(t *testing.T, obj interface {
	Default(context.Context, runtime.Object) error
	Validate() ([]string, error)
}) {
	t.Helper()
	require.NoError(t, obj.Default(context.Background(), obj.(runtime.Object)))
	warnings, err := obj.Validate()
	assert.NoError(t, err, "Chaos Mesh's validation of the object")
	assert.Empty(t, warnings)
}

func TestApplyWaitsForAllInjectedAndRemoveForRecovery(t *testing.T) {
	c := fakeCluster(t)
	runController(t, c, true, false)
	target := New(t, c, "postgres", selector, quick())
	var evidence faults.Injection
	stop := faults.ScheduleTracked(target, faults.Latency{Delay: 200 * time.Millisecond}, 0, time.Hour, func(err error) { t.Error(err) })
	require.Eventually(t, func() bool { return count(t, c) == 1 && target.injected.Load() > 0 }, 5*time.Second, time.Millisecond)
	var list v1alpha1.NetworkChaosList
	require.NoError(t, c.List(context.Background(), &list))
	assert.Equal(t, "1h0m0s", *list.Items[0].Spec.Duration, "ApplyFor: the scheduled length is the object's duration")
	evidence = stop()
	assert.Zero(t, count(t, c), "removed: deleted, recovered and gone")
	assert.EqualValues(t, 3, evidence.Touched, "three pods' records said injected")
	assert.Equal(t, "pods", evidence.Unit)
	assert.Contains(t, evidence.Detail, "injected into 3 pod(s)")
}

// The test's context ends while Apply waits for AllInjected (no controller
// answers): Apply fails with the cause, and the object is still deleted by
// the cleanup registered before it was created.
func TestACancelledWaitStillDeletesTheObject(t *testing.T) {
	c := fakeCluster(t)
	var applyErr error
	t.Run("test", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		target := New(tb{t, ctx}, c, "postgres", selector, Wait(time.Minute, time.Millisecond))
		go func() {
			for count(t, c) == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel() // the test dies mid-injection
		}()
		_, applyErr = target.Apply(faults.Down{})
		assert.Equal(t, 0, count(t, c), "Apply deleted the object it gave up on")
	})
	require.Error(t, applyErr)
	assert.ErrorIs(t, applyErr, context.Canceled)
	assert.ErrorContains(t, applyErr, "not AllInjected")
	assert.Zero(t, count(t, c), "nothing left in the cluster")
}

// A cleanup that runs when the test is cut short (the fault never removed
// by the threat) still deletes the object.
func TestTheCleanupDeletesAnObjectNeverRemoved(t *testing.T) {
	c := fakeCluster(t)
	runController(t, c, true, false)
	t.Run("test", func(t *testing.T) {
		target := New(t, c, "postgres", selector, quick())
		_, err := target.Apply(faults.Down{})
		require.NoError(t, err)
		assert.Equal(t, 1, count(t, c))
	})
	assert.Zero(t, count(t, c), "the subtest's cleanup deleted it")
}

// Chaos Mesh never recovers the object (a stuck finalizer): removal forces
// the finalizer off with the cleanFinalizer annotation, and it is gone.
func TestAStuckFinalizerIsForcedOff(t *testing.T) {
	c := fakeCluster(t)
	runController(t, c, true, true)
	target := New(t, c, "postgres", selector, Wait(100*time.Millisecond, time.Millisecond))
	remove, err := target.Apply(faults.Down{})
	require.NoError(t, err)
	remove()
	assert.Zero(t, count(t, c), "forced off and gone")
}

func TestSweepRemovesWhatDeadRunsLeft(t *testing.T) {
	host := New(t, fakeCluster(t), "x", selector).host
	obj := func(name, pid, duration string, age time.Duration, host string) *v1alpha1.NetworkChaos {
		return &v1alpha1.NetworkChaos{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "chaos", CreationTimestamp: metav1.NewTime(time.Now().Add(-age)),
				Labels: map[string]string{LabelRun: "r", LabelHost: host, LabelPID: pid}},
			Spec: v1alpha1.NetworkChaosSpec{Action: v1alpha1.PartitionAction, Duration: &duration},
		}
	}
	foreign := &v1alpha1.NetworkChaos{ObjectMeta: metav1.ObjectMeta{Name: "not-ours", Namespace: "chaos"}}
	c := fakeCluster(t,
		obj("dead-run", "999999999", "5m", time.Second, host),             // a process of this host that is gone
		obj("live-run", "1", "5m", time.Second, host),                     // pid 1 lives
		obj("expired-elsewhere", "7", "5s", time.Hour, "another-host"),    // its switch fired long ago
		obj("running-elsewhere", "7", "10m", time.Minute, "another-host"), // maybe a live run elsewhere
		foreign)
	deleted, err := Sweep(context.Background(), c, "chaos", time.Minute)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"dead-run", "expired-elsewhere"}, deleted)
	var list v1alpha1.NetworkChaosList
	require.NoError(t, c.List(context.Background(), &list))
	var left []string
	for _, o := range list.Items {
		left = append(left, o.Name)
	}
	assert.ElementsMatch(t, []string{"live-run", "running-elsewhere", "not-ours"}, left)
}

// count is how many NetworkChaos objects exist.
func count(t *testing.T, c client.Client) int {
	var list v1alpha1.NetworkChaosList
	if err := c.List(context.Background(), &list); err != nil && !apierrors.IsNotFound(err) {
		t.Error(err)
	}
	return len(list.Items)
}

// The flow: a spec whose threat acts on a cluster target runs on the wire
// tier (the target is networked), the stand-in controller injects and
// recovers the object, and the report's evidence says how many pods the
// fault reached and what Chaos Mesh reported.
func TestASpecOnAClusterTargetRunsOnTheWireWithItsEvidence(t *testing.T) {
	c := fakeCluster(t)
	runController(t, c, true, false)
	db := New(t, c, "postgres", selector, Seed(7), Wait(5*time.Second, time.Millisecond))
	rep := harness.Run(t, harness.Spec{
		Module:  "checkout",
		Genome:  &genome.Genome{Retry: &genome.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Multiplier: 2}},
		Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(context.Context) error { return nil })
		},
		TimeScale: 0.25,
		Requests:  10,
		Seed:      7,
	})
	require.NotNil(t, rep)
	assert.Equal(t, "wire", rep.Tier, "a cluster target never runs in a bubble")
	require.NotEmpty(t, rep.Threats[0].Fired)
	fired := rep.Threats[0].Fired[0]
	assert.Contains(t, fired, "acted on 3 pods")
	assert.Contains(t, fired, "NetworkChaos")
	assert.Zero(t, count(t, c), "the fault's object is gone after the trial")
}
