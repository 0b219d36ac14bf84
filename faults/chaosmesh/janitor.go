package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Sweep deletes, in namespace ns, the Chaos Mesh objects left by dead runs:
// those labelled by a run of a process on this host that no longer exists,
// and those of any host older than their duration plus grace (their
// dead-man's switch has long fired; only the object is left). Objects of
// live runs and objects RAFAEL did not make are never touched. It returns
// the names it deleted.
func Sweep(ctx context.Context, c client.Client, ns string, grace time.Duration) ([]string, error) {
	host, _ := os.Hostname()
	host = label(host)
	var deleted []string
	var errs []error
	for _, list := range []client.ObjectList{&v1alpha1.NetworkChaosList{}, &v1alpha1.HTTPChaosList{}, &v1alpha1.PodChaosList{}, &v1alpha1.StressChaosList{}} {
		if err := c.List(ctx, list, client.InNamespace(ns), client.HasLabels{LabelRun}); err != nil {
			errs = append(errs, fmt.Errorf("chaosmesh: sweep: list %T: %w", list, err))
			continue
		}
		for _, obj := range items(list) {
			if !dead(obj, host, grace) {
				continue
			}
			if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("chaosmesh: sweep: delete %s: %w", obj.GetName(), err))
				continue
			}
			deleted = append(deleted, obj.GetName())
		}
	}
	return deleted, errors.Join(errs...)
}

// items returns the objects of a list.
func items(list client.ObjectList) []chaos {
	switch l := list.(type) {
	case *v1alpha1.NetworkChaosList:
		return ptrs(l.Items)
	case *v1alpha1.HTTPChaosList:
		return ptrs(l.Items)
	case *v1alpha1.PodChaosList:
		return ptrs(l.Items)
	case *v1alpha1.StressChaosList:
		return ptrs(l.Items)
	}
	return nil
}

// ptrs returns pointers to the elements of items.
func ptrs[T any, P interface {
	*T
	chaos
}](items []T) []chaos {
	out := make([]chaos, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

// dead reports whether obj was left by a run that is over.
func dead(obj chaos, host string, grace time.Duration) bool {
	labels := obj.GetLabels()
	if labels[LabelHost] == host {
		pid, err := strconv.Atoi(labels[LabelPID])
		if err == nil && pid != os.Getpid() && !alive(pid) {
			return true
		}
		if err == nil && (pid == os.Getpid() || alive(pid)) {
			return false // a live run of this host: its own cleanup deletes it
		}
	}
	if d := objDuration(obj); d > 0 {
		return time.Since(obj.GetCreationTimestamp().Time) > d+grace
	}
	return false
}

// objDuration is the duration an object was given, or 0.
func objDuration(obj chaos) time.Duration {
	var s *string
	switch o := obj.(type) {
	case *v1alpha1.NetworkChaos:
		s = o.Spec.Duration
	case *v1alpha1.HTTPChaos:
		s = o.Spec.Duration
	case *v1alpha1.PodChaos:
		s = o.Spec.Duration
	case *v1alpha1.StressChaos:
		s = o.Spec.Duration
	}
	if s == nil {
		return 0
	}
	d, _ := time.ParseDuration(*s)
	return d
}

// alive reports whether process pid exists on this machine.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
