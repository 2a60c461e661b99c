package qemu

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Watch ends a boot early. After the first line a Rule picks, the guest
// has until its console has been quiet for the Rule's Quiet, or at most its
// Grace, to finish printing (a report's trace, a stack dump); then QEMU is
// killed. A guest that ends by itself meanwhile (a panic reboots) ends the
// boot as usual.
type Watch struct {
	Console Rule // on each console line
	Results Rule // on each results port line
}

// Settle is how long after the stop the results file's size is taken: a
// test's start event passes through test2json, the init and a serial port,
// and may still be on its way when the kernel prints a report.
const Settle = 250 * time.Millisecond

// Rule picks a line that ends the boot, and says how long the guest then has.
type Rule struct {
	Stop  func(line string) bool // nil: no line ends it
	Quiet time.Duration
	Grace time.Duration
}

// Stop is why and when a Watch ended the boot.
type Stop struct {
	Line    string        // the line that ended it
	Results bool          // it came on the results port (else the console)
	At      time.Duration // when the runner read it, from QEMU's start
	// ResultsSize is how much the results file held shortly after (Settle):
	// what the guest had sent when it printed the line, including a test's
	// start still on its way, but not what came in the grace.
	ResultsSize int64
	// Killed: the runner killed QEMU after the grace; false when the guest
	// ended within it.
	Killed bool
}

// watcher splits the console into lines for the Watch, follows the results
// file, and kills QEMU once the grace after a picked line is over. A nil
// Watch makes it a plain sink.
type watcher struct {
	watch       *Watch
	start       time.Time
	resultsPath string

	mu        sync.Mutex
	tail      []byte    // a console line not yet ended
	lastOut   time.Time // the console's last output
	stop      *Stop
	sized     bool // stop.ResultsSize is taken
	rule      Rule
	triggered chan struct{} // closed at the stop
	held      bool          // a dump is being written: QEMU must not be killed
}

func newWatcher(w *Watch, start time.Time, resultsPath string) *watcher {
	return &watcher{watch: w, start: start, resultsPath: resultsPath, triggered: make(chan struct{})}
}

// Write takes the console's output.
func (w *watcher) Write(b []byte) (int, error) {
	if w.watch == nil {
		return len(b), nil
	}
	w.mu.Lock()
	w.lastOut = time.Now()
	w.tail = append(w.tail, b...)
	var lines []string
	for {
		i := bytes.IndexByte(w.tail, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, strings.TrimRight(string(w.tail[:i]), "\r"))
		w.tail = w.tail[i+1:]
	}
	w.mu.Unlock()
	// Lines are judged on this goroutine only, in order: Stop may keep state.
	for _, line := range lines {
		if w.watch.Console.Stop != nil && w.watch.Console.Stop(line) {
			w.trigger(line, false, w.watch.Console)
		}
	}
	return len(b), nil
}

// results follows the results file until QEMU has exited.
func (w *watcher) results(exited <-chan struct{}) {
	if w.watch == nil || w.watch.Results.Stop == nil {
		return
	}
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var tail []byte
	buf := make([]byte, 64<<10)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			return
		case <-tick.C:
		}
		if f == nil {
			var err error
			if f, err = os.Open(w.resultsPath); err != nil {
				continue // QEMU has not created it yet
			}
		}
		for {
			n, err := f.Read(buf)
			tail = append(tail, buf[:n]...)
			if n == 0 || err == io.EOF {
				break
			}
		}
		for {
			i := bytes.IndexByte(tail, '\n')
			if i < 0 {
				break
			}
			line := strings.TrimRight(string(tail[:i]), "\r")
			tail = tail[i+1:]
			if w.watch.Results.Stop(line) {
				w.trigger(line, true, w.watch.Results)
			}
		}
	}
}

// trigger notes the first picked line; later ones change nothing.
func (w *watcher) trigger(line string, results bool, rule Rule) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop != nil {
		return
	}
	w.stop = &Stop{Line: line, Results: results, At: time.Since(w.start)}
	w.rule = rule
	close(w.triggered)
}

// resultsSize notes the results file's size into the stop, once.
func (w *watcher) resultsSize() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sized {
		return
	}
	w.sized = true
	if fi, err := os.Stat(w.resultsPath); err == nil {
		w.stop.ResultsSize = fi.Size()
	}
}

// stopAfterGrace kills QEMU when the grace after the trigger is over: the
// console has been quiet for the rule's Quiet, or its Grace has passed. It
// returns once QEMU has exited.
func (w *watcher) stopAfterGrace(p *os.Process, exited <-chan struct{}) {
	select {
	case <-exited:
	case <-w.triggered:
	}
	w.mu.Lock()
	stop, rule := w.stop, w.rule
	w.mu.Unlock()
	if stop == nil {
		return
	}
	at := w.start.Add(stop.At)
	settled := time.After(Settle)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			// QEMU is gone (a panic reboots at once): the file is complete.
			w.resultsSize()
			return
		case <-settled:
			w.resultsSize()
			continue
		case <-tick.C:
		}
		w.mu.Lock()
		quietSince, killed, held := w.lastOut, w.stop.Killed, w.held
		w.mu.Unlock()
		if killed || held {
			continue
		}
		if quietSince.Before(at) {
			quietSince = at
		}
		if now := time.Now(); now.Sub(quietSince) >= rule.Quiet || now.Sub(at) >= rule.Grace {
			w.resultsSize()
			w.mu.Lock()
			w.stop.Killed = true
			w.mu.Unlock()
			p.Kill()
		}
	}
}

// hold keeps QEMU alive past the grace until release: the guest's memory
// is being dumped, and QEMU quits by itself when it is done.
func (w *watcher) hold() {
	w.mu.Lock()
	w.held = true
	w.mu.Unlock()
}

func (w *watcher) release() {
	w.mu.Lock()
	w.held = false
	w.mu.Unlock()
}

// stopped returns the stop, if there was one; call it after QEMU's exit.
func (w *watcher) stopped() *Stop {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop == nil {
		return nil
	}
	s := *w.stop
	return &s
}
