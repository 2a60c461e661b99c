package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"oreore/harness/guest"
	"oreore/harness/progtype"
)

// tracefs is where mountAll mounts the tracing file system.
const tracefs = "/sys/kernel/tracing"

// traceFilter picks the functions a trace records, for every described
// type: the series' (all named bpf_<type>_*) and every function of the
// type's module, which has names of its own (bpf_store, bpf_show).
var traceFilter = func() string {
	var f []string
	for _, t := range progtype.All {
		f = append(f, t.TraceFilter())
	}
	return strings.Join(f, " ")
}()

// traceKeep is the most of a failing test's trace sent to the host: its
// end, where the failure is.
const traceKeep = 256 << 10

// laneTrace records the series' and the module's functions while one
// lane's test binaries run, and sends the trace of each failing test to the
// host. Each lane has a buffer of its own, so that the other lane's calls
// stay out of it: the buffer follows only the lane's own thread and what it
// forks (set_ftrace_pid with function-fork; see runLane). The slot lane and
// the alone lane, which runs after it, use the top-level buffer, the one
// ftrace_dump_on_oops prints: the slot lane holds the module's tests. The
// other lanes get an instance each.
//
// Without a test's cooperation the init cannot tell where one test's calls
// end and the next one's begin (it sees "=== RUN" after the test has
// started), so the buffer is cleared only when a binary starts, and the
// init marks each test's start and end in it (trace_marker) as it sees
// them: a failing test's trace is the binary's up to the failure.
type laneTrace struct {
	dir    string // the buffer's folder in tracefs
	tracer string // function_graph, or function where the buffer cannot have it
	out    *port

	mu     sync.Mutex
	pkg    string // the binary running
	failed bool   // a test of it failed, and its trace was sent
}

// wantTrace reports whether the kernel command line asks for traces.
func wantTrace() bool {
	v, _ := kernelParam(guest.TraceParam)
	return v == "1"
}

// newLaneTrace sets up the lane's buffer, with tracing off until a binary
// starts. It must run on the lane's locked thread: that thread's id is the
// PID filter.
func newLaneTrace(lane string, out *port) (*laneTrace, error) {
	t := &laneTrace{dir: tracefs, out: out}
	if lane != "slot" && lane != guest.AloneLane {
		t.dir = filepath.Join(tracefs, "instances", "oreore-"+lane)
		if err := os.Mkdir(t.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("trace: %w", err)
		}
	}
	// The filter comes before any tracer: an empty one traces every
	// function of the kernel.
	steps := []struct{ file, value string }{
		{"tracing_on", "0"},
		{"current_tracer", "nop"},
		{"buffer_size_kb", "512"},
		{"set_ftrace_filter", traceFilter},
		{"options/function-fork", "1"},
		{"set_ftrace_pid", strconv.Itoa(unix.Gettid())},
	}
	for _, s := range steps {
		if err := t.write(s.file, s.value); err != nil {
			return nil, err
		}
	}
	// Only the top-level buffer gets function_graph. Instances take it
	// from 6.6 on, but with two graph tracers a task's returns also land
	// in the buffer whose PID filter refused its entries (seen on 6.12:
	// the other lane's "} /* bpf_store */" in the slot lane's trace).
	tracers := []string{"function"}
	if t.dir == tracefs {
		tracers = []string{"function_graph", "function"}
	}
	for _, tracer := range tracers {
		if err := t.write("current_tracer", tracer); err == nil {
			t.tracer = tracer
			break
		}
	}
	if t.tracer == "" {
		return nil, fmt.Errorf("trace: %s takes neither function_graph nor function", t.dir)
	}
	if t.tracer == "function_graph" {
		// Each line names the task, as the function tracer's do.
		if err := t.write("options/funcgraph-proc", "1"); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *laneTrace) write(file, value string) error {
	f, err := os.OpenFile(filepath.Join(t.dir, file), os.O_WRONLY|os.O_TRUNC, 0)
	if err == nil {
		_, err = f.WriteString(value)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("trace: %s into %s: %w", value, filepath.Join(t.dir, file), err)
	}
	return nil
}

// mark puts a line in the buffer, in order with the traced calls.
func (t *laneTrace) mark(format string, args ...any) {
	t.write("trace_marker", "oreore-init: "+fmt.Sprintf(format, args...))
}

// started empties the buffer and starts tracing for a binary.
func (t *laneTrace) started(pkg string) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	t.pkg, t.failed = pkg, false
	t.mu.Unlock()
	// A module's functions leave the filter when it is removed, and do
	// not come back when it is loaded again (tests reload it): match them
	// anew for each binary.
	if f, err := os.ReadFile(filepath.Join(t.dir, "set_ftrace_filter")); err == nil && !strings.Contains(string(f), "[oreore]") {
		if err := t.write("set_ftrace_filter", traceFilter); err != nil {
			return err
		}
	}
	// Opening "trace" for writing with O_TRUNC clears the buffer.
	if err := t.write("trace", ""); err != nil {
		return err
	}
	if err := t.write("tracing_on", "1"); err != nil {
		return err
	}
	t.mark("start %s", pkg)
	return nil
}

// ended stops tracing; a binary that failed without a failing test (a
// panic outside one, TestMain) gets its trace sent by the package's name.
func (t *laneTrace) ended(failed bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mark("end %s", t.pkg)
	if failed && !t.failed {
		t.send(t.pkg, "")
	}
	t.write("tracing_on", "0")
}

// lines takes whole lines of test2json output: it marks each top-level
// test's start and end, and sends the trace of one that failed.
func (t *laneTrace) lines(b []byte) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		var ev guest.TestEvent
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Test == "" || strings.Contains(ev.Test, "/") {
			continue
		}
		switch ev.Action {
		case "run", "pass", "skip":
			t.mark("%s %s.%s", ev.Action, ev.Package, ev.Test)
		case "fail":
			t.mark("fail %s.%s", ev.Package, ev.Test)
			t.send(ev.Package, ev.Test)
			t.failed = true
		}
	}
}

// send reads the buffer (reading "trace" pauses tracing meanwhile) and
// sends its end to the host.
func (t *laneTrace) send(pkg, test string) {
	b, err := os.ReadFile(filepath.Join(t.dir, "trace"))
	text := string(b)
	if err != nil {
		text = fmt.Sprintf("oreore-init: reading %s: %v\n", filepath.Join(t.dir, "trace"), err)
	}
	text = tail(text, traceKeep)
	for _, g := range guest.TracePieces(pkg, test, text) {
		t.out.emit(g)
	}
}

// tail keeps the last max bytes of text, from a line's start, and says
// how many lines it left out.
func tail(text string, max int) string {
	if len(text) <= max {
		return text
	}
	cut := len(text) - max
	if i := strings.IndexByte(text[cut:], '\n'); i >= 0 {
		cut += i + 1
	}
	return fmt.Sprintf("oreore-init: %d earlier lines left out\n", strings.Count(text[:cut], "\n")) + text[cut:]
}
