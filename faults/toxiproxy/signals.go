package toxiproxy

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// The run's live proxies on external servers, deleted on SIGINT or SIGTERM.
// Signals are the process's, so this is the one process-wide registry of
// the package: it holds a proxy from its creation to its Close, and listens
// for signals only while it holds one.
var live struct {
	sync.Mutex
	proxies map[*external]struct{}
	sig     chan os.Signal
	stop    chan struct{}
	done    chan struct{}
}

// watch adds e to the live proxies, listening for signals if it is the
// first.
func watch(e *external) {
	live.Lock()
	defer live.Unlock()
	if live.proxies == nil {
		live.proxies = map[*external]struct{}{}
	}
	live.proxies[e] = struct{}{}
	if live.sig == nil {
		// A signal the process ignores (SIGINT for a background job of a
		// non-interactive shell, or under nohup) would not end it: deleting
		// the proxies on it would leave the run going without them.
		var sigs []os.Signal
		for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
			if !signal.Ignored(s) {
				sigs = append(sigs, s)
			}
		}
		if len(sigs) == 0 {
			return
		}
		live.sig, live.stop, live.done = make(chan os.Signal, 1), make(chan struct{}), make(chan struct{})
		signal.Notify(live.sig, sigs...)
		go watchSignals(live.sig, live.stop, live.done)
	}
}

// unwatch removes e from the live proxies, and stops listening for signals
// (waiting for the listener to end) when it was the last.
func unwatch(e *external) {
	live.Lock()
	delete(live.proxies, e)
	if len(live.proxies) > 0 || live.sig == nil {
		live.Unlock()
		return
	}
	signal.Stop(live.sig)
	close(live.stop)
	done := live.done
	live.sig, live.stop, live.done = nil, nil, nil
	live.Unlock()
	<-done
}

// watchSignals deletes the live proxies when a signal comes, then lets the
// signal do what it would have done without this package: it stops
// listening and sends the signal again.
func watchSignals(sig chan os.Signal, stop, done chan struct{}) {
	defer close(done)
	select {
	case <-stop:
		return
	case s := <-sig:
		live.Lock()
		for e := range live.proxies {
			_ = e.p.Delete()
		}
		live.proxies = nil
		signal.Stop(sig)
		live.sig, live.stop, live.done = nil, nil, nil
		live.Unlock()
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Signal(s)
		}
	}
}
