//go:build guest

package fuzz

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"oreore/harness/guest"
)

var (
	inputLog = flag.String("fuzz.log", "", "write each input, before it runs, as a record to this results port (make fuzz: the host finds the input that crashed the kernel)")
	pcLog    = flag.String("fuzz.pcs", "", "append each kernel PC an input reached first to this file (make fuzz's coverage report)")
	stderr   = flag.String("fuzz.stderr", "", "send the process's standard error here (make fuzz: /dev/console): Go runs the fuzz worker with its output discarded, so a crash of the worker (exit status 2) would say nothing")
	needKCOV = flag.Bool("fuzz.kcov", false, "fail unless KCOV traces the inputs: under make fuzz it is the signal, and without it the Go fuzzer sees only the harness")
)

var (
	execOnce sync.Once
	executor *Executor
	execErr  error
)

func getExecutor(tb testing.TB) *Executor {
	tb.Helper()
	execOnce.Do(func() { executor, execErr = NewExecutor() })
	if execErr != nil {
		tb.Fatal(execErr)
	}
	return executor
}

// FuzzSeries fuzzes every described type's calls. Under `go test -fuzz`
// (make fuzz) the kernel's KCOV coverage of the series' objects is the
// signal; run as a test it runs the seeds and the regressions once.
func FuzzSeries(f *testing.F) {
	if *stderr != "" {
		console, err := os.OpenFile(*stderr, os.O_WRONLY|unix.O_NOCTTY, 0)
		if err != nil {
			f.Fatal(err)
		}
		// The runtime writes a fatal error's trace to fd 2.
		if err := unix.Dup2(int(console.Fd()), 2); err != nil {
			f.Fatal(err)
		}
	}
	e := getExecutor(f)
	if *needKCOV && !e.HasKCOV() {
		f.Fatalf("no KCOV (%s): fuzzing would be blind to the kernel; make fuzz boots the debug flavor, whose config has CONFIG_KCOV", KCOVPath)
	}
	for _, s := range Seeds(e.Types()) {
		f.Add(s)
	}
	for _, r := range readRegressions(f) {
		f.Add(r.data)
	}
	logger, err := newLogger(*inputLog, *pcLog)
	if err != nil {
		f.Fatal(err)
	}
	klog, err := OpenKernelLog()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Decode(data, e.Types())
		logger.input(data)
		res, err := e.Run(p)
		if err != nil {
			t.Fatalf("%v\ninput:\n%s", err, p)
		}
		// A report that did not end the guest (lockdep's) fails the
		// input here, so that the Go fuzzer keeps and minimises it.
		if reports := klog.Reports(); len(reports) > 0 {
			t.Fatalf("the kernel reported: %s\ninput:\n%s", strings.Join(reports, "\n"), p)
		}
		signal(res.Slots(p))
		logger.pcs(res)
	})
}

// TestRegressions runs each input the fuzzer found a kernel bug with: the
// kernel must survive it (the runner's verdict catches a KASAN report, an
// Oops or a WARN), leave the slots empty (Run's error), and answer each
// call as testdata/regressions/NAME.want says. Only what the input decides
// is compared: a value a program read from the CPU it ran on is written as
// such, not as its number; a call that races the other thread may list
// each outcome it can have; a test_run on CPU 1 counts on make vm-test's
// two CPUs. Each run writes its outcomes to the test's output
// (NAME.want| LINE), where TestRegressionsWant -want-from finds them.
func TestRegressions(t *testing.T) {
	e := getExecutor(t)
	rs := readRegressions(t)
	if len(rs) == 0 {
		t.Fatalf("no inputs in %s", regressionDir)
	}
	for _, r := range rs {
		t.Run(r.name, func(t *testing.T) {
			p, err := r.decode(e.Types())
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Run(p)
			if err != nil {
				t.Fatalf("%v\ninput:\n%s", err, p)
			}
			got := wantText(p, res.Outcomes(p))
			for _, line := range strings.SplitAfter(got, "\n") {
				if line != "" {
					fmt.Fprint(t.Output(), wantOutputPrefix(r.name)+line)
				}
			}
			if r.want == "" {
				t.Fatalf("no %s: these are this kernel's outcomes above; write them with go test ./harness/fuzz -run TestRegressionsWant -want-from=EVENTS (testdata/README.md)", wantFile(r.name))
			}
			for _, bad := range checkWant(p, res.Outcomes(p), r.want) {
				t.Errorf("%s: %s", wantFile(r.name), bad)
			}
		})
	}
}

// logger writes what make fuzz's host side reads back.
type logger struct {
	port *os.File
	pcf  *os.File
	seen map[PC]bool
}

func newLogger(port, pcs string) (*logger, error) {
	l := &logger{seen: map[PC]bool{}}
	var err error
	if port != "" {
		if l.port, err = os.OpenFile(port, os.O_WRONLY|unix.O_NOCTTY, 0); err != nil {
			return nil, err
		}
	}
	if pcs != "" {
		if err := os.MkdirAll(filepath.Dir(pcs), 0o755); err != nil {
			return nil, err
		}
		if l.pcf, err = os.OpenFile(pcs, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// input sends the input before it runs, in one write: if the kernel dies
// running it, this is the last record of its worker on the port.
func (l *logger) input(data []byte) {
	if l.port == nil {
		return
	}
	line, _ := json.Marshal(guest.Guest{Guest: InputRecord, Msg: strconv.Itoa(os.Getpid()), Text: base64.StdEncoding.EncodeToString(data)})
	l.port.Write(append(line, '\n'))
}

// pcs appends the PCs no earlier input of this worker process reached.
// Go restarts a worker now and then, so the file may repeat a PC: the
// host counts distinct ones.
func (l *logger) pcs(res Result) {
	if l.pcf == nil {
		return
	}
	var b strings.Builder
	for _, pcs := range res.PCs {
		for _, pc := range pcs {
			if !l.seen[pc] {
				l.seen[pc] = true
				fmt.Fprintf(&b, "%s\n", pc)
			}
		}
	}
	if b.Len() > 0 {
		l.pcf.WriteString(b.String())
	}
}
