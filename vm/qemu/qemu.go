// Package qemu boots a kernel and initramfs in qemu-system-x86_64 and keeps
// what the guest said: the console (ttyS0) and the results port (ttyS1).
package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"oreore/harness/guest"
)

// Config describes one boot.
type Config struct {
	// Machine is the architecture the guest boots as; the zero value is
	// x86_64.
	Machine   Machine
	Kernel    string // bzImage, or the machine's Image
	Initramfs string
	Append    []string // kernel parameters added to the defaults
	InitArgs  []string // arguments for /init, after "--"
	Memory    string   // e.g. "1G"
	CPUs      int
	Timeout   time.Duration // 0: none (an interactive shell)
	Accel     Accelerator
	OutDir    string    // console.log and results.jsonl go here
	Console   io.Writer // a live copy of the console, or nil
	// Stdin, when set, is typed into the console: the user's terminal for
	// a shell (QEMU puts it in raw mode and passes ^C to the guest).
	Stdin io.Reader
	// TSCkHz is the guest's TSC rate, 0 to let the guest calibrate it; Run
	// fills it in with HostTSCkHz.
	TSCkHz uint64
	// Watch, when set, ends the boot early on the lines it picks.
	Watch *Watch
	// Dump, when set, writes the guest's memory when its kernel panics
	// (dump.go); without it a panic reboots the guest at once.
	Dump *Dump
	// GDBPort, when not 0, opens QEMU's gdbstub on this local port and
	// holds the guest until gdb attaches and continues; the kernel boots
	// with nokaslr so that vmlinux's addresses hold.
	GDBPort int

	// Context, when set, ends the boot when it is done (QEMU is killed).
	Context context.Context

	qmpSocket string // set by boot when Dump is
}

// Result is what happened, without judging it: package verdict does that.
type Result struct {
	Accel       string // how QEMU ran the guest, and why that way
	ConsolePath string
	ResultsPath string
	TimedOut    bool
	// Err is QEMU's own failure: it could not start, or exited non-zero.
	Err  error
	Wall time.Duration
	// FirstInit is when the guest's init first wrote to the console, from
	// QEMU's start (0 if it never did): the boot's cost.
	FirstInit time.Duration
	// Stop says why the Watch ended the boot early; nil if it did not.
	Stop *Stop
	// Dump is set when the guest panicked under a Config.Dump: the file,
	// or why there is none.
	Dump *Dumped
	// QMPErr says why the runner could not watch for a panic (no dump
	// would have been written); nil when it could, or was not asked to.
	QMPErr error
	// Rebooted says why the guest was booted a second time: QEMU itself
	// crashed in the first boot ("" when it did not).
	Rebooted string

	consoleBytes int64
	waitErr      error // cmd.Wait's, for the signal QEMU died of
}

// Accelerator is how QEMU runs the guest.
type Accelerator string

const (
	Auto Accelerator = "auto" // the faster of the two here, measured once (accel.go)
	KVM  Accelerator = "kvm"
	TCG  Accelerator = "tcg"
)

func (a Accelerator) args(m Machine) []string {
	if a == KVM {
		return []string{"-accel", "kvm", "-cpu", "host"}
	}
	// Without thread=multi this QEMU runs every vCPU on one host thread.
	args := []string{"-accel", "tcg,thread=multi"}
	if m.TCGCPU != "" {
		args = append(args, "-cpu", m.TCGCPU)
	}
	return args
}

// machine is cfg's machine, x86_64 when none is set.
func (cfg Config) machine() Machine {
	if cfg.Machine.Name == "" {
		return Machines["x86_64"]
	}
	return cfg.Machine
}

// kvmUsable reports whether /dev/kvm can be opened, and why not.
func kvmUsable() (bool, string) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false, err.Error()
	}
	f.Close()
	return true, ""
}

// Args is the QEMU command line. The machine's console is on stdout, and
// its results port writes the results file. Without ACPI a power-off would
// hang QEMU, so the guest ends with a reboot, which -no-reboot turns into
// QEMU's exit, and a panic reboots at once (panic=-1).
func Args(cfg Config, accel Accelerator, resultsPath string) []string {
	m := cfg.machine()
	kernelArgs := append([]string{"console=" + m.Console, "panic=-1", "rdinit=/init"}, m.KernelArgs...)
	if m.ResultsDevice != Machines["x86_64"].ResultsDevice {
		kernelArgs = append(kernelArgs, guest.ResultsParam+"="+m.ResultsDevice)
	}
	kernelArgs = append(kernelArgs, cfg.Append...)
	if cfg.Dump != nil {
		kernelArgs = append(kernelArgs, "oops=panic", fwCfgParam)
	}
	if cfg.GDBPort != 0 {
		kernelArgs = append(kernelArgs, "nokaslr")
	}
	if cfg.TSCkHz != 0 && m.Name == "x86_64" {
		// Under TCG the guest's PIT calibration of the TSC fails now and
		// then, which leaves it on a 4 ms jiffies clock: give it the rate.
		kernelArgs = append(kernelArgs, fmt.Sprintf("tsc_early_khz=%d", cfg.TSCkHz))
	}
	if len(cfg.InitArgs) > 0 {
		kernelArgs = append(append(kernelArgs, "--"), cfg.InitArgs...)
	}
	args := append(append([]string{}, m.Board...), "-m", cfg.Memory, "-smp", m.smp(cfg.CPUs),
		"-nodefaults", "-nographic", "-no-reboot", "-net", "none")
	args = append(args, accel.args(m)...)
	args = append(args, "-kernel", cfg.Kernel)
	if cfg.Initramfs != "" {
		args = append(args, "-initrd", cfg.Initramfs)
	}
	args = append(args, "-append", strings.Join(kernelArgs, " "))
	if cfg.Dump != nil {
		args = append(args, cfg.Dump.qemuArgs(cfg.qmpSocket)...)
	}
	if cfg.GDBPort != 0 {
		args = append(args, "-gdb", fmt.Sprintf("tcp:127.0.0.1:%d", cfg.GDBPort), "-S")
	}
	if cfg.Stdin != nil {
		// signal=off: ^C goes to the guest's shell, not to QEMU.
		args = append(args, "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console")
	} else {
		args = append(args, "-serial", "stdio")
	}
	return append(args, m.resultsArgs(resultsPath)...)
}

// newChooser makes the Chooser that resolves Auto (accel.go).
var newChooser = DefaultChooser

// Run boots the guest and waits until QEMU exits or the timeout kills it.
// Auto is resolved by measuring (accel.go); a KVM chosen so that then fails
// before the guest says anything is reported and the boot retried under TCG.
func Run(cfg Config) Result {
	if cfg.TSCkHz == 0 {
		cfg.TSCkHz = HostTSCkHz()
	}
	if cfg.Dump != nil && cfg.machine().NoDump != "" {
		cfg.Dump = nil
		if cfg.Console != nil {
			fmt.Fprintf(cfg.Console, "vm: no vmcore on a panic: %s\n", cfg.machine().NoDump)
		}
	}
	accel := cfg.Accel
	var why string
	if !cfg.machine().Native() && accel != TCG {
		// KVM runs only the host's own instructions.
		accel, why = TCG, fmt.Sprintf("an %s guest on an %s host: KVM cannot run it", cfg.machine().Name, HostMachine().Name)
	}
	if accel == Auto || accel == "" {
		choice := newChooser().Choose(cfg)
		accel = choice.Accel
		why = choice.Reason()
	}
	res := boot(cfg, accel)
	if res.Err != nil && accel == KVM && cfg.Accel != KVM && res.consoleBytes == 0 {
		why = "KVM failed before the guest printed anything: " + firstLine(res.Err.Error())
		accel = TCG
		res = boot(cfg, accel)
	}
	if sig, ok := crashSignal(res.waitErr); ok && cfg.Stdin == nil && cfg.GDBPort == 0 {
		// Debian 12's QEMU 7.2 segfaulted under TCG in CI, 2.6 s into a
		// boot. No guest can crash QEMU itself, so such a boot says
		// nothing of the kernel: booted once more, and said so; the
		// crashed boot's console is kept.
		kept := filepath.Join(cfg.OutDir, "console-qemu-crashed.log")
		os.Rename(res.ConsolePath, kept)
		note := fmt.Sprintf("QEMU itself died of %v after %v, which no guest can cause: booted again (the crashed boot's console: %s)",
			sig, res.Wall.Round(100*time.Millisecond), kept)
		if cfg.Console != nil {
			fmt.Fprintf(cfg.Console, "\nvm: %s\n", note)
		}
		res = boot(cfg, accel)
		res.Rebooted = note
	}
	res.Accel = string(accel)
	if why != "" {
		res.Accel += " (" + why + ")"
	}
	return res
}

func boot(cfg Config, accel Accelerator) Result {
	res := Result{
		ConsolePath: filepath.Join(cfg.OutDir, "console.log"),
		ResultsPath: filepath.Join(cfg.OutDir, "results.jsonl"),
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		res.Err = err
		return res
	}
	console, err := os.Create(res.ConsolePath)
	if err != nil {
		res.Err = err
		return res
	}
	defer console.Close()
	// A results file left from an earlier run must not pass for this one's,
	// nor a dump.
	os.Remove(res.ResultsPath)
	if cfg.Dump != nil {
		os.Remove(cfg.Dump.Path)
		// A folder of its own: a socket's path is limited to 107 bytes.
		dir, err := os.MkdirTemp("", "oreore-qmp-")
		if err != nil {
			res.Err = err
			return res
		}
		defer os.RemoveAll(dir)
		cfg.qmpSocket = filepath.Join(dir, "qmp.sock")
	}

	parent := cfg.Context
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	if cfg.Timeout > 0 {
		ctx, cancel = context.WithTimeout(parent, cfg.Timeout)
	}
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.machine().QEMU, Args(cfg, accel, res.ResultsPath)...)
	var stderr bytes.Buffer
	start := time.Now()
	counted := &countingWriter{w: console, start: start, mark: []byte("oreore-init:")}
	w := newWatcher(cfg.Watch, start, res.ResultsPath)
	cmd.Stdout = io.MultiWriter(counted, w)
	if cfg.Console != nil {
		cmd.Stdout = io.MultiWriter(counted, w, cfg.Console)
	}
	cmd.Stderr = &stderr
	if cfg.Stdin != nil {
		// In the foreground: QEMU sets the terminal raw, which a background
		// process group may not.
		cmd.Stdin = cfg.Stdin
	} else {
		// QEMU gets its own process group: a ^C meant for make must not
		// reach it before the runner has read what it wrote.
		cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	}

	if err := cmd.Start(); err != nil {
		res.Err = fmt.Errorf("%s: %v", cfg.machine().QEMU, err)
		return res
	}
	exited, graceDone, panicDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go w.results(exited)
	go func() {
		w.stopAfterGrace(cmd.Process, exited)
		close(graceDone)
	}()
	var pw *panicWatch
	if cfg.Dump != nil {
		pw = &panicWatch{dump: cfg.Dump, socket: cfg.qmpSocket, watcher: w}
		go func() {
			pw.run(exited)
			close(panicDone)
		}()
	} else {
		close(panicDone)
	}
	err = cmd.Wait()
	close(exited)
	<-graceDone
	<-panicDone
	if pw != nil {
		res.Dump, res.QMPErr = pw.dumped, pw.connErr
	}
	res.Wall = time.Since(start)
	res.consoleBytes = counted.n
	res.waitErr = err
	res.FirstInit = counted.markedAt
	res.Stop = w.stopped()
	switch {
	case res.Stop != nil && res.Stop.Killed:
		// The runner ended it: its exit status is the kill's.
	case ctx.Err() == context.DeadlineExceeded:
		res.TimedOut = true
	case err != nil:
		res.Err = fmt.Errorf("%s: %v: %s", cfg.machine().QEMU, err, strings.TrimSpace(stderr.String()))
	}
	return res
}

// countingWriter counts the console's bytes and notes when mark first
// appears in them.
type countingWriter struct {
	w        io.Writer
	n        int64
	start    time.Time
	mark     []byte
	tail     []byte
	markedAt time.Duration
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	if c.markedAt == 0 {
		c.tail = append(c.tail, b...)
		if bytes.Contains(c.tail, c.mark) {
			c.markedAt = time.Since(c.start)
		}
		if len(c.tail) > len(c.mark) {
			c.tail = c.tail[len(c.tail)-len(c.mark):]
		}
	}
	return n, err
}

// crashSignal returns the signal QEMU died of when it is one of a crash:
// the runner only ever ends QEMU with SIGKILL.
func crashSignal(err error) (unix.Signal, bool) {
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return 0, false
	}
	ws, ok := exitErr.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	switch sig := ws.Signal(); sig {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGABRT, unix.SIGILL, unix.SIGFPE:
		return sig, true
	}
	return 0, false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
