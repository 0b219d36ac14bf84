package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"github.com/rafaelabs/rafael/faults"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The labels every object a target creates carries, and the annotation that
// asks Chaos Mesh to drop a stuck finalizer.
const (
	LabelRun      = "rafael.dev/run"    // the run that made it: "<host>.<pid>.<start>"
	LabelSeed     = "rafael.dev/seed"   // the run's seed
	LabelTarget   = "rafael.dev/target" // the target's name
	LabelHost     = "rafael.dev/host"   // the host of the process that made it
	LabelPID      = "rafael.dev/pid"    // its process id
	CleanFinalize = "chaos-mesh.chaos-mesh.org/cleanFinalizer"
)

// TB is the part of testing.TB a target uses: every object it creates is
// registered with Cleanup before it is created.
type TB interface {
	Helper()
	Cleanup(func())
	Context() context.Context
}

// Selector chooses the pods a target's faults act on: the namespaces and
// the labels they must carry. Mode is how many of them (default: all).
type Selector struct {
	Namespaces []string
	Labels     map[string]string
	Mode       v1alpha1.SelectorMode
	Containers []string // the containers of each pod a StressChaos or a container kill acts on; none: all
}

// DownAs says how a [faults.Down] is injected in a cluster.
type DownAs string

// The forms of a Down.
const (
	Partition  DownAs = "partition"   // NetworkChaos partition: the pods are cut off the network (the default)
	PodFailure DownAs = "pod-failure" // PodChaos pod-failure: the pods' containers stop serving
	PodKill    DownAs = "pod-kill"    // PodChaos pod-kill: the pods are killed (and rescheduled)
)

// Option configures a [Target].
type Option func(*Target)

// Namespace sets the namespace the experiment objects are created in
// (default "default"); the pods they act on are the Selector's.
func Namespace(ns string) Option { return func(t *Target) { t.ns = ns } }

// Seed labels the objects with the run's seed.
func Seed(seed uint64) Option { return func(t *Target) { t.seed = seed } }

// Lasting sets the duration of an object applied with Apply, as the
// dead-man's switch: Chaos Mesh recovers it by itself after this long even
// if the test process dies (default 10 minutes). A fault scheduled by a
// threat (faults.ScheduleTracked) is given its own length instead.
func Lasting(d time.Duration) Option { return func(t *Target) { t.lasting = d } }

// Wait sets how long Apply waits for AllInjected, and removal for
// AllRecovered, before giving up (default 2 minutes), and how often it
// looks (default 500ms).
func Wait(deadline, poll time.Duration) Option {
	return func(t *Target) { t.deadline, t.poll = deadline, poll }
}

// Down sets how a faults.Down is injected (default [Partition]).
func Down(as DownAs) Option { return func(t *Target) { t.down = as } }

// HTTPPort sets the port of the HTTP server an HTTPChaos acts on (default 80).
func HTTPPort(port int32) Option { return func(t *Target) { t.port = port } }

// Target is a faults.Target whose faults are Chaos Mesh experiments in a
// cluster, created through a controller-runtime client: latency, a
// partition, loss and bandwidth as NetworkChaos; an HTTP error as
// HTTPChaos; pod failure or kill as PodChaos; memory and CPU pressure
// ([Target.Pressure]) as StressChaos. Every object is labelled with the run
// and its seed, carries a duration, and is deleted when its fault is
// removed or, at the latest, by the test's cleanup.
type Target struct {
	tb                TB
	c                 client.Client
	name, ns          string
	sel               Selector
	run, host         string
	pid               int
	seed              uint64
	lasting, deadline time.Duration
	poll              time.Duration
	down              DownAs
	port              int32

	n        atomic.Int64 // objects created, for their names
	injected atomic.Int64 // pods the faults were injected into, for Touched

	mu      sync.Mutex
	witness string // what the last removed fault's object reported
}

// New returns a target named name (the name threats use) whose faults act
// on the pods sel selects, through c.
func New(tb TB, c client.Client, name string, sel Selector, opts ...Option) *Target {
	tb.Helper()
	host, _ := os.Hostname()
	t := &Target{tb: tb, c: c, name: name, sel: sel, ns: "default", host: label(host), pid: os.Getpid(),
		lasting: 10 * time.Minute, deadline: 2 * time.Minute, poll: 500 * time.Millisecond, down: Partition, port: 80}
	t.run = RunID(t.host, t.pid, time.Now())
	for _, o := range opts {
		o(t)
	}
	if t.sel.Mode == "" {
		t.sel.Mode = v1alpha1.AllMode
	}
	// The janitor: what dead runs left in the namespace goes first.
	if swept, err := Sweep(tb.Context(), c, t.ns, time.Minute); err != nil {
		t.note(fmt.Sprintf("chaosmesh: %s: the janitor could not sweep %s: %v", name, t.ns, err))
	} else if len(swept) > 0 {
		t.note(fmt.Sprintf("chaosmesh: %s: deleted %d object(s) left by dead runs in %s: %s", name, len(swept), t.ns, strings.Join(swept, ", ")))
	}
	return t
}

// RunID is the run label of a process: its host, pid and start time.
func RunID(host string, pid int, start time.Time) string {
	return fmt.Sprintf("%s.%d.%d", label(host), pid, start.Unix())
}

// label makes s a valid label value: at most 63 of [A-Za-z0-9._-].
func label(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	s = strings.Trim(string(b), ".-_")
	if len(s) > 63 {
		s = s[:63]
	}
	if s == "" {
		s = "unknown"
	}
	return s
}

// dnsName makes s a valid object name: lowercase letters, digits and '-'.
func dnsName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b[:min(len(b), 253)]), "-")
}

// Name returns the target's name.
func (t *Target) Name() string { return t.name }

// Networked reports true: the faults act on a cluster, never in a bubble.
func (t *Target) Networked() bool { return true }

// Supports reports whether the target can inject faults of kind k: latency,
// down, blackhole (100 % loss), bandwidth and error (an HTTP abort or
// status).
func (t *Target) Supports(k faults.Kind) bool {
	switch k {
	case faults.KindLatency, faults.KindDown, faults.KindBlackhole, faults.KindBandwidth, faults.KindError:
		return true
	}
	return false
}

// Touched returns how many pods the target's faults were injected into,
// from the experiments' records: the evidence that a fault fired.
func (t *Target) Touched(faults.Kind) (int64, string) { return t.injected.Load(), "pods" }

// Witness says what the last removed fault's object reported.
func (t *Target) Witness() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.witness
}

// Apply injects f for at most the target's Lasting.
func (t *Target) Apply(f faults.Fault) (remove func(), err error) { return t.ApplyFor(f, t.lasting) }

// ApplyFor injects f with its object's duration set to lasting: it creates
// the object (its deletion registered with the test's cleanup first), waits
// until Chaos Mesh reports it AllInjected, and records the per-pod records.
// remove deletes it and waits until it is recovered and gone, forcing a
// stuck finalizer off as a last resort.
func (t *Target) ApplyFor(f faults.Fault, lasting time.Duration) (remove func(), err error) {
	if err := faults.Check(t, f); err != nil {
		return nil, err
	}
	obj, err := t.object(f, lasting)
	if err != nil {
		return nil, err
	}
	return t.inject(obj)
}

// Pressure holds memory (bytes, with workers stress-ng workers) on the
// selected pods' containers as a StressChaos, until remove.
func (t *Target) Pressure(bytes int64, workers int) (remove func(), err error) {
	obj, err := t.stress(bytes, workers)
	if err != nil {
		return nil, err
	}
	return t.inject(obj)
}

// stress is the StressChaos of a memory pressure.
func (t *Target) stress(bytes int64, workers int) (*v1alpha1.StressChaos, error) {
	if bytes <= 0 || workers <= 0 {
		return nil, fmt.Errorf("chaosmesh: %s: memory pressure of %d bytes on %d workers: want both positive", t.name, bytes, workers)
	}
	return &v1alpha1.StressChaos{ObjectMeta: t.meta("stress"), Spec: v1alpha1.StressChaosSpec{
		ContainerSelector: t.containers(),
		Stressors: &v1alpha1.Stressors{MemoryStressor: &v1alpha1.MemoryStressor{
			Stressor: v1alpha1.Stressor{Workers: workers}, Size: strconv.FormatInt(bytes, 10) + "B"}},
		Duration: duration(t.lasting),
	}}, nil
}

// chaos is what the target needs of a Chaos Mesh object.
type chaos interface {
	client.Object
	GetStatus() *v1alpha1.ChaosStatus
}

// inject creates obj and waits for it to be injected.
func (t *Target) inject(obj chaos) (remove func(), err error) {
	key := client.ObjectKeyFromObject(obj)
	var once sync.Once
	del := func() { once.Do(func() { t.delete(obj) }) }
	t.tb.Cleanup(del) // before it exists: a test that dies waiting still deletes it
	ctx := t.tb.Context()
	if err := t.c.Create(ctx, obj); err != nil {
		return nil, fmt.Errorf("chaosmesh: %s: create %s %s: %w", t.name, kindOf(obj), key, err)
	}
	st, err := t.await(ctx, obj, v1alpha1.ConditionAllInjected)
	if err != nil {
		del()
		return nil, fmt.Errorf("chaosmesh: %s: %s %s: %w", t.name, kindOf(obj), key, err)
	}
	n := injectedCount(st)
	t.injected.Add(n)
	return func() {
		del()
		t.mu.Lock()
		t.witness = fmt.Sprintf("%s %s injected into %d pod(s)", kindOf(obj), key.Name, n)
		t.mu.Unlock()
	}, nil
}

// await polls obj until its condition cond is true, the deadline passes or
// ctx ends; it returns the last status.
func (t *Target) await(ctx context.Context, obj chaos, cond v1alpha1.ChaosConditionType) (*v1alpha1.ChaosStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, t.deadline)
	defer cancel()
	tick := time.NewTicker(t.poll)
	defer tick.Stop()
	for {
		if err := t.c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return nil, fmt.Errorf("read its status: %w", err)
		}
		st := obj.GetStatus()
		if conditionTrue(st, cond) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("not %s within %v: %w: %s", cond, t.deadline, context.Cause(ctx), conditions(st))
		case <-tick.C:
		}
	}
}

// delete deletes obj and waits until it is gone (Chaos Mesh's finalizer
// removes it once the fault is recovered); when it is not gone by the
// deadline, it sets the cleanFinalizer annotation to "forced" and waits
// again. It uses a context of its own: it runs in cleanups, after the
// test's context has ended.
func (t *Target) delete(obj chaos) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*t.deadline+time.Second)
	defer cancel()
	if err := t.c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		t.note(fmt.Sprintf("chaosmesh: %s: delete %s %s: %v", t.name, kindOf(obj), obj.GetName(), err))
		return
	}
	if t.gone(ctx, obj, t.deadline) {
		return
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[CleanFinalize] = "forced"
	obj.SetAnnotations(ann)
	if err := t.c.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
		t.note(fmt.Sprintf("chaosmesh: %s: force the finalizer of %s %s off: %v", t.name, kindOf(obj), obj.GetName(), err))
		return
	}
	if !t.gone(ctx, obj, t.deadline) {
		t.note(fmt.Sprintf("chaosmesh: %s: %s %s is still there after its finalizer was forced off: delete it by hand (kubectl delete %s -n %s %s)",
			t.name, kindOf(obj), obj.GetName(), strings.ToLower(kindOf(obj)), obj.GetNamespace(), obj.GetName()))
	}
}

// gone polls until obj no longer exists, for at most d.
func (t *Target) gone(ctx context.Context, obj chaos, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		err := t.c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(t.poll):
		}
	}
}

// note reports a cleanup problem where the test can see it.
func (t *Target) note(msg string) {
	if l, ok := t.tb.(interface{ Log(...any) }); ok {
		l.Log(msg)
		return
	}
	fmt.Fprintln(os.Stderr, msg)
}

func conditionTrue(st *v1alpha1.ChaosStatus, cond v1alpha1.ChaosConditionType) bool {
	if st == nil {
		return false
	}
	for _, c := range st.Conditions {
		if c.Type == cond {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// conditions renders the conditions for an error: "AllInjected=False (…)".
func conditions(st *v1alpha1.ChaosStatus) string {
	if st == nil || len(st.Conditions) == 0 {
		return "no conditions reported: is Chaos Mesh's controller running?"
	}
	var parts []string
	for _, c := range st.Conditions {
		p := fmt.Sprintf("%s=%s", c.Type, c.Status)
		if c.Reason != "" {
			p += " (" + c.Reason + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// injectedCount is how many records report the fault injected.
func injectedCount(st *v1alpha1.ChaosStatus) int64 {
	var n int64
	for _, r := range st.Experiment.Records {
		if r != nil && r.Phase == v1alpha1.Injected {
			n++
		}
	}
	return n
}

// kindOf names obj's kind for messages.
func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *v1alpha1.NetworkChaos:
		return "NetworkChaos"
	case *v1alpha1.HTTPChaos:
		return "HTTPChaos"
	case *v1alpha1.PodChaos:
		return "PodChaos"
	case *v1alpha1.StressChaos:
		return "StressChaos"
	}
	return fmt.Sprintf("%T", obj)
}

// meta is the metadata of the target's next object.
func (t *Target) meta(kind string) metav1.ObjectMeta {
	n := t.n.Add(1)
	return metav1.ObjectMeta{
		Name:      dnsName(fmt.Sprintf("rafael-%s-%s-%d-%d", t.name, kind, t.pid, n)),
		Namespace: t.ns,
		Labels: map[string]string{
			LabelRun: t.run, LabelSeed: strconv.FormatUint(t.seed, 10), LabelTarget: label(t.name),
			LabelHost: t.host, LabelPID: strconv.Itoa(t.pid),
		},
	}
}

// errUnsupported is the error for a fault the cluster cannot carry as asked.
var errUnsupported = errors.New("chaosmesh: unsupported")
