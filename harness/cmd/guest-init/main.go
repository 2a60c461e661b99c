// Command guest-init is /init of the test VM. It mounts what the suites
// need, loads the modules in /lib/modules, runs every test binary in /tests
// under test2json with the events going to the results port (the lanes at
// the same time, then the alone lane by itself), and ends the VM with
// reboot(RESTART), which QEMU's -no-reboot turns into an exit.
//
// A test that runs longer than oreore.test_timeout seconds (kernel command
// line; default guest.DefaultTestTimeout, 0 for none) is reported on the
// results port, the kernel dumps every task's stack with SysRq, and the VM
// ends.
//
// With oreore.trace=1 on the kernel command line each lane records the
// series' and the module's functions while its binaries run, and the trace
// of each failing test goes to the host (trace.go).
//
// Arguments after "--" on the kernel command line are passed to every test
// binary, e.g. -test.run=Attach. When the initramfs holds a run spec
// (guest.RunSpecPath), the init runs that command on the console instead
// of the suites and reports its exit status.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"

	"oreore/harness/guest"
)

// port writes JSON lines to the results port; test2json and the init share it.
type port struct {
	mu sync.Mutex
	f  *os.File
}

func (p *port) emit(g guest.Guest) {
	line, _ := json.Marshal(g)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.f.Write(append(line, '\n'))
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "oreore-init: "+format+"\n", args...)
}

func main() {
	exit := 2
	var out *port
	var once sync.Once
	// end sends the done record and ends the VM; the watchdog calls it too,
	// and the first call wins (reboot does not return).
	end := func(code int) {
		once.Do(func() {
			if out != nil {
				out.emit(guest.Guest{Guest: "done", Exit: code})
				out.f.Sync()
			}
			unix.Sync()
			unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
		})
	}
	defer func() {
		if r := recover(); r != nil {
			logf("panic: %v", r)
			if out != nil {
				out.emit(guest.Guest{Guest: "error", Msg: fmt.Sprintf("guest-init panicked: %v", r)})
			}
		}
		end(exit)
	}()

	if err := mountAll(); err != nil {
		logf("%v", err)
		return
	}
	cmdline, _ := os.ReadFile("/proc/cmdline")
	f, err := openPort(guest.ResultsPortFrom(string(cmdline)))
	if err != nil {
		logf("results port: %v", err)
		return
	}
	out = &port{f: f}
	if err := loadModules(); err != nil {
		logf("%v", err)
		out.emit(guest.Guest{Guest: "error", Msg: err.Error()})
		return
	}
	if spec, ok, err := readRunSpec(); err != nil || ok {
		if err != nil {
			out.emit(guest.Guest{Guest: "error", Msg: err.Error()})
			return
		}
		exit = runCommand(out, spec)
		if err := sendCollected(out, spec.Collect); err != nil {
			out.emit(guest.Guest{Guest: "error", Msg: err.Error()})
		}
		return
	}
	limit, err := testTimeout()
	if err != nil {
		out.emit(guest.Guest{Guest: "error", Msg: err.Error()})
		return
	}
	if wantLeakScan() {
		// The run ends with scans of its own. kmemleak's periodic scan,
		// started while tests load the CPUs under TCG, held an RCU read
		// side long enough for a stall report (debug flavor, 2G).
		if err := os.WriteFile("/sys/kernel/debug/kmemleak", []byte("scan=off"), 0); err != nil {
			out.emit(guest.Guest{Guest: "error", Msg: "kmemleak scan=off: " + err.Error()})
			return
		}
	}
	var wd *watchdog
	if limit > 0 {
		wd = newWatchdog(limit, out, end)
		go wd.run()
	}
	cover := wantCover()
	args := testArgs(os.Args[1:])
	if cover {
		args = append(goCoverArgs(), args...)
	}
	exit = runSuites(out, wd, args)
	if cover {
		if err := sendCounters(out); err != nil {
			out.emit(guest.Guest{Guest: "error", Msg: err.Error()})
			exit = 2
		}
	}
	if wantLeakScan() {
		if err := scanLeaks(); err != nil {
			out.emit(guest.Guest{Guest: "error", Msg: err.Error()})
			exit = 2
		}
	}
}

// wantLeakScan reports whether the kernel command line asks for a kmemleak
// scan at the end (the debug flavor does).
func wantLeakScan() bool {
	v, _ := kernelParam("oreore.kmemleak")
	return v == "1"
}

// kernelParam returns the value of NAME=VALUE on the kernel command line.
func kernelParam(name string) (string, bool) {
	cmdline, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(cmdline)) {
		if k, v, ok := strings.Cut(f, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// testTimeout is the per-test watchdog's limit: oreore.test_timeout in
// seconds, or the default; 0 turns it off.
func testTimeout() (time.Duration, error) {
	v, ok := kernelParam(guest.TestTimeoutParam)
	if !ok {
		return guest.DefaultTestTimeout, nil
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs < 0 {
		return 0, fmt.Errorf("%s=%s: want a number of seconds", guest.TestTimeoutParam, v)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// scanLeaks has kmemleak scan now and copies its report to the console,
// where the host's verdict finds each "unreferenced object".
func scanLeaks() error {
	const path = "/sys/kernel/debug/kmemleak"
	// kmemleak does not report an object younger than 5 s (its
	// MSECS_MIN_AGE): a scan right after the last test would miss that
	// test's leaks. A second of margin for TCG's clock.
	time.Sleep(kmemleakMinAge + time.Second)
	if err := os.WriteFile(path, []byte("scan"), 0); err != nil {
		return fmt.Errorf("kmemleak scan asked for, but: %w", err)
	}
	report, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("kmemleak report: %w", err)
	}
	os.Stderr.Write(report)
	logf("kmemleak: scanned, %d suspected leaks", strings.Count(string(report), "unreferenced object"))
	return nil
}

// kmemleakMinAge is the age an unreferenced object must reach before
// kmemleak reports it (mm/kmemleak.c's MSECS_MIN_AGE).
const kmemleakMinAge = 5 * time.Second

// testArgs drops the "--" the kernel may leave in front of init's arguments.
func testArgs(args []string) []string {
	if len(args) > 0 && args[0] == "--" {
		return args[1:]
	}
	return args
}

func mountAll() error {
	mounts := []struct{ source, target, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
		{"debugfs", "/sys/kernel/debug", "debugfs"},
		{"tracefs", "/sys/kernel/tracing", "tracefs"},
		{"bpffs", "/sys/fs/bpf", "bpf"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.source, m.target, m.fstype, 0, ""); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	return nil
}

// openPort opens the serial port raw, so that "\n" is not sent as "\r\n".
func openPort(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// loadModules tries every module, so that one report names all that failed.
func loadModules() error {
	mods, _ := filepath.Glob(filepath.Join(guest.ModulesDir, "*.ko"))
	sort.Strings(mods)
	var errs *multierror.Error
	for _, path := range mods {
		if err := insmod(path); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("insmod %s: %w (the console has the kernel's reason)", path, err))
			continue
		}
		logf("loaded %s", path)
	}
	return errs.ErrorOrNil()
}

func insmod(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.FinitModule(int(f.Fd()), "", 0)
}

// runSuites runs the lanes at the same time, each lane's test binaries
// one after another, then the alone lane, and returns 0 when all of them
// passed, 1 when a test failed, 2 when a binary could not be run.
func runSuites(out *port, wd *watchdog, args []string) int {
	binaries, _ := filepath.Glob(filepath.Join(guest.TestsDir, "*", "*.test"))
	if len(binaries) == 0 {
		out.emit(guest.Guest{Guest: "error", Msg: "no test binaries in " + guest.TestsDir + "/LANE"})
		return 2
	}
	lanes, alone := planLanes(binaries)
	trace := wantTrace()
	var wg sync.WaitGroup
	codes := make(chan int, len(lanes))
	for lane, suites := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- runLane(out, wd, lane, trace, suites, args)
		}()
	}
	wg.Wait()
	close(codes)
	exit := 0
	for c := range codes {
		exit = max(exit, c)
	}
	if len(alone) > 0 {
		logf("the other lanes have ended: running the %s lane", guest.AloneLane)
		// A goroutine of its own, as the others: a traced lane locks its
		// thread for good.
		code := make(chan int)
		go func() { code <- runLane(out, wd, guest.AloneLane, trace, alone, args) }()
		exit = max(exit, <-code)
	}
	return exit
}

// planLanes groups the binaries (TestsDir/LANE/NAME.test, sorted) by lane,
// each lane in name order, and takes the alone lane out: it runs last, by
// itself.
func planLanes(binaries []string) (lanes map[string][]string, alone []string) {
	lanes = map[string][]string{}
	for _, b := range binaries {
		lane := filepath.Base(filepath.Dir(b))
		if lane == guest.AloneLane {
			alone = append(alone, b)
			continue
		}
		lanes[lane] = append(lanes[lane], b)
	}
	return lanes, alone
}

// runLane runs test binaries one after another; a binary that cannot be
// run ends the lane. It runs on a goroutine of its own: with trace set, the
// goroutine keeps its thread to itself until it exits (the thread ends
// with it), and the lane's trace follows that thread's children, the test
// binaries, and theirs. The Go runtime never starts a thread from a locked
// one, so no thread of the init joins them.
func runLane(out *port, wd *watchdog, lane string, trace bool, suites, args []string) int {
	var tr *laneTrace
	if trace {
		runtime.LockOSThread()
		var err error
		if tr, err = newLaneTrace(lane, out); err != nil {
			out.emit(guest.Guest{Guest: "error", Msg: fmt.Sprintf("the %s lane runs without a trace: %v", lane, err)})
			tr = nil
		} else {
			logf("tracing the %s lane with %s in %s", lane, tr.tracer, tr.dir)
		}
	}
	exit := 0
	for _, suite := range suites {
		name := strings.TrimSuffix(filepath.Base(suite), ".test")
		logf("running %s", name)
		cmdArgs := append([]string{"-t", "-p", name, suite, "-test.v=test2json"}, args...)
		cmd := exec.Command(guest.Test2JSON, cmdArgs...)
		cmd.Dir = "/"
		// The host runs the same generic suites with the objects in build/.
		cmd.Env = append(os.Environ(), "OREORE_PROGRAMS="+guest.ProgramsDir)
		events := &lineWriter{p: out, wd: wd, tr: tr}
		cmd.Stdout = events
		cmd.Stderr = os.Stderr
		if err := tr.started(name); err != nil {
			out.emit(guest.Guest{Guest: "error", Msg: err.Error()})
		}
		wd.started(name)
		err := cmd.Run()
		events.flush()
		wd.ended(name)
		tr.ended(err != nil)
		var exitErr *exec.ExitError
		switch {
		case errors.As(err, &exitErr):
			logf("%s: %v", name, err)
			exit = 1
		case err != nil:
			out.emit(guest.Guest{Guest: "error", Msg: fmt.Sprintf("running %s: %v", name, err)})
			return 2
		}
	}
	return exit
}

// lineWriter passes test2json's output to the port in whole lines: exec
// copies it in arbitrary chunks, and the other lane's lines and the init's
// own must never land inside one.
type lineWriter struct {
	p    *port
	wd   *watchdog  // told each event; nil without a watchdog
	tr   *laneTrace // told each event; nil without a trace
	tail []byte     // a line not yet ended
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.tail = append(w.tail, b...)
	end := bytes.LastIndexByte(w.tail, '\n') + 1
	if end == 0 {
		return len(b), nil
	}
	w.p.mu.Lock()
	_, err := w.p.f.Write(w.tail[:end])
	w.p.mu.Unlock()
	w.wd.lines(w.tail[:end])
	w.tr.lines(w.tail[:end])
	w.tail = append(w.tail[:0], w.tail[end:]...)
	return len(b), err
}

// flush writes what is left when the process has exited: a last line
// without a newline, which the host reports as garbage.
func (w *lineWriter) flush() {
	if len(w.tail) > 0 {
		w.Write([]byte{'\n'})
	}
}

func readRunSpec() (guest.RunSpec, bool, error) {
	var spec guest.RunSpec
	b, err := os.ReadFile(guest.RunSpecPath)
	if errors.Is(err, os.ErrNotExist) {
		return spec, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err == nil && len(spec.Argv) == 0 {
		err = errors.New("no command")
	}
	if err != nil {
		return spec, false, fmt.Errorf("%s: %w", guest.RunSpecPath, err)
	}
	return spec, true, nil
}

// runCommand runs the spec's command on the console and returns its exit
// status; a command that cannot start is reported as an error, status 127.
func runCommand(out *port, spec guest.RunSpec) int {
	// exec.Command looks the command up in the init's own PATH.
	os.Setenv("PATH", "/bin")
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/bin", "HOME=/tmp", "TERM=linux", "OREORE_PROGRAMS=" + guest.ProgramsDir}
	if spec.Interactive {
		tty, err := os.OpenFile("/dev/ttyS0", os.O_RDWR, 0)
		if err != nil {
			out.emit(guest.Guest{Guest: "error", Msg: fmt.Sprintf("console: %v", err)})
			return 127
		}
		defer tty.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	}
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return exitErr.ExitCode()
	case errors.As(err, &exitErr):
		out.emit(guest.Guest{Guest: "error", Msg: fmt.Sprintf("%s: %v", spec.Argv[0], err)})
		return 128 + int(exitErr.Sys().(unix.WaitStatus).Signal())
	default:
		out.emit(guest.Guest{Guest: "error", Msg: fmt.Sprintf("%s: %v", spec.Argv[0], err)})
		return 127
	}
}
