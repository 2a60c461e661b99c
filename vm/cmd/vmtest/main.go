// Command vmtest boots the kernel with the initramfs, waits for the guest's
// suites, prints a report and exits with the verdict's code:
//
//	0 passed, 1 a test failed, 2 the VM or harness broke,
//	3 a kernel splat (panic, Oops, BUG, WARNING, KASAN...), 4 timeout.
//
// It does not wait for a guest that is known to have failed: on the first
// kernel report the guest has until its console is quiet (at most -grace)
// to finish printing, then QEMU is stopped; a test that runs longer than
// -test-timeout has the guest dump its stacks and end (verdict 4).
//
// Arguments after "--" go to every test binary in the guest.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"oreore/harness/guest"
	"oreore/vm/qemu"
	"oreore/vm/report"
	"oreore/vm/verdict"
)

func main() {
	cfg := qemu.Config{}
	flag.StringVar(&cfg.Kernel, "kernel", "", "bzImage to boot")
	flag.StringVar(&cfg.Initramfs, "initramfs", "", "initramfs built by mkinitramfs")
	flag.StringVar(&cfg.OutDir, "out", "build/vm", "folder for console.log, results.jsonl, test-events.json and junit.xml")
	flag.StringVar(&cfg.Memory, "m", "1G", "guest memory")
	flag.IntVar(&cfg.CPUs, "smp", 2, "guest CPUs")
	flag.DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "kill the guest after this long")
	testTimeout := flag.Duration("test-timeout", guest.DefaultTestTimeout, "the guest dumps its stacks and ends when one test runs longer (0: no per-test limit)")
	grace := flag.Duration("grace", 10*time.Second, "after a kernel report, the most the guest may go on printing before QEMU is stopped (0: let the run go on)")
	accel := flag.String("accel", "auto", "auto (KVM when it works, else TCG), kvm or tcg")
	appendArgs := flag.String("append", "", "extra kernel parameters")
	verbose := flag.Bool("v", false, "stream the console while the guest runs")
	flag.Parse()
	if cfg.Kernel == "" || cfg.Initramfs == "" {
		fmt.Fprintln(os.Stderr, "usage: vmtest -kernel BZIMAGE -initramfs CPIO [-out DIR] [-timeout D] [-test-timeout D] [-grace D] [-v] [-- TEST ARGS]")
		os.Exit(int(verdict.VMBroke))
	}
	cfg.Accel = qemu.Accelerator(*accel)
	cfg.Append = append(strings.Fields(*appendArgs), fmt.Sprintf("%s=%g", guest.TestTimeoutParam, testTimeout.Seconds()))
	cfg.Watch = watch(*grace)
	cfg.InitArgs = flag.Args()
	if *verbose {
		cfg.Console = os.Stdout
	}
	os.Exit(int(run(cfg, os.Stdout)))
}

// watch stops the guest at the first kernel report on the console, once
// it has finished printing, and after the watchdog's record, as a backstop
// for a guest that does not end by itself after its stack dump.
func watch(grace time.Duration) *qemu.Watch {
	w := &qemu.Watch{Results: qemu.Rule{Stop: isWatchdog, Quiet: 5 * time.Second, Grace: 30 * time.Second}}
	if grace > 0 {
		var sc verdict.Scanner
		w.Console = qemu.Rule{Stop: sc.Report, Quiet: min(2*time.Second, grace), Grace: grace}
	}
	return w
}

func isWatchdog(line string) bool {
	var g struct{ Guest string }
	return json.Unmarshal([]byte(line), &g) == nil && g.Guest == guest.Watchdog
}

func run(cfg qemu.Config, w io.Writer) verdict.Code {
	fmt.Fprintf(w, "vm: booting %s, %d CPUs, %s, timeout %v\n", cfg.Kernel, cfg.CPUs, cfg.Memory, cfg.Timeout)
	res := qemu.Run(cfg)
	fmt.Fprintf(w, "vm: ran under %s\n", res.Accel)
	in := verdict.Input{TimedOut: res.TimedOut, QEMUErr: res.Err, CPUs: cfg.CPUs}
	if b, err := os.ReadFile(res.ConsolePath); err == nil {
		in.Console = string(b)
	}
	if f, err := os.Open(res.ResultsPath); err == nil {
		in.Results, err = guest.Parse(f)
		if err == nil && res.Stop != nil && !res.Stop.Results {
			f.Seek(0, io.SeekStart)
			in.ResultsAtReport, err = guest.Parse(io.LimitReader(f, res.Stop.ResultsSize))
		}
		f.Close()
		if err != nil {
			in.QEMUErr = fmt.Errorf("reading %s: %v", res.ResultsPath, err)
		}
	}
	v := verdict.Decide(in)
	if in.Results != nil {
		if err := writeEvents(filepath.Join(cfg.OutDir, "test-events.json"), in.Results.Events); err != nil {
			fmt.Fprintln(w, "vm:", err)
		}
		if err := writeJUnit(filepath.Join(cfg.OutDir, "junit.xml"), in.Results.Events); err != nil {
			fmt.Fprintln(w, "vm:", err)
		}
		printTests(w, in.Results.Events)
	}
	dumped := printWatchdog(w, in.Console, v.Watchdog, res.ConsolePath)
	if v.Code != verdict.Passed {
		printConsole(w, in.Console, v.Splats, res.ConsolePath, !dumped)
	}
	if s := res.Stop; s != nil {
		what := "a kernel report on the console"
		if s.Results {
			what = "the guest's watchdog record"
		}
		how := "stopped QEMU"
		if !s.Killed {
			how = "the guest ended"
		}
		fmt.Fprintf(w, "vm: %s at %.2fs; %s %.2fs later\n", what, s.At.Seconds(), how, (res.Wall - s.At).Seconds())
	}
	fmt.Fprintf(w, "vm: guest ran %.1fs wall, init's first line after %.2fs; console in %s\n", res.Wall.Seconds(), res.FirstInit.Seconds(), res.ConsolePath)
	fmt.Fprintf(w, "verdict: %v (exit %d)\n", v.Code, v.Code)
	for _, r := range v.Reasons {
		fmt.Fprintf(w, "  %s\n", r)
	}
	for _, l := range v.Tests.PackageLines() {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintln(w, v.Tests.Line())
	return v.Code
}

// writeEvents keeps the `go test -json` stream for other tools.
func writeEvents(path string, events []guest.TestEvent) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, ev := range events {
		if err := enc.Encode(ev); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func writeJUnit(path string, events []guest.TestEvent) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteJUnit(f, events); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printTests prints one line per finished test, and a failed test's output.
func printTests(w io.Writer, events []guest.TestEvent) {
	output := map[string]*strings.Builder{}
	for _, ev := range events {
		key := ev.Package + "." + ev.Test
		switch ev.Action {
		case "output":
			if ev.Test == "" {
				continue
			}
			if output[key] == nil {
				output[key] = &strings.Builder{}
			}
			output[key].WriteString(ev.Output)
		case "pass", "skip":
			if ev.Test != "" {
				fmt.Fprintf(w, "%-4s %s (%.2fs)\n", strings.ToUpper(ev.Action), key, ev.Elapsed)
			}
		case "fail":
			if ev.Test == "" {
				continue
			}
			fmt.Fprintf(w, "FAIL %s (%.2fs)\n", key, ev.Elapsed)
			if out := output[key]; out != nil {
				fmt.Fprint(w, indent(out.String()))
			}
		}
	}
}

// printConsole shows what matters of the console on a failure: each kernel
// report to its end, and the tail (when tail is set, or there is no report).
func printConsole(w io.Writer, console string, splats []verdict.Splat, path string, tail bool) {
	lines := strings.Split(strings.TrimRight(console, "\n"), "\n")
	show := func(from, to int) {
		from, to = max(from, 0), min(to, len(lines))
		for _, l := range lines[from:to] {
			fmt.Fprintln(w, "  | "+strings.TrimRight(l, "\r"))
		}
	}
	shownTo := -1
	for _, s := range splats {
		if s.Line < shownTo {
			continue
		}
		fmt.Fprintf(w, "vm: kernel report at %s:%d:\n", path, s.Line+1)
		from := max(s.Line-2, shownTo)
		shownTo = reportEnd(lines, s.Line)
		show(from, shownTo)
	}
	if !tail || shownTo >= len(lines) {
		return
	}
	fmt.Fprintf(w, "vm: last lines of %s:\n", path)
	show(max(len(lines)-40, shownTo), len(lines))
}

// reportEnd returns the line after the report that starts at start: after
// its "---[ end ...]---" line, or the closing "=====" of a KASAN or UBSAN
// report, or 40 lines on when it has neither within 200.
func reportEnd(lines []string, start int) int {
	for i := start + 1; i < min(start+200, len(lines)); i++ {
		body := strings.TrimSpace(lines[i])
		if _, after, ok := strings.Cut(body, "] "); ok && strings.HasPrefix(body, "[") {
			body = after
		}
		if strings.HasPrefix(body, "---[ end ") || strings.HasPrefix(body, "=========") {
			return i + 1
		}
	}
	return start + 40
}

// printWatchdog names each test the guest's watchdog caught and shows the
// stacks it had the kernel dump; it reports whether it showed a dump.
func printWatchdog(w io.Writer, console string, records []guest.Guest, path string) bool {
	shown := false
	for _, r := range records {
		fmt.Fprintf(w, "vm: watchdog: %s\n", r.Msg)
		if shown {
			continue
		}
		d, ok := verdict.FindDump(console, guest.Comm(r.Package))
		if !ok {
			fmt.Fprintf(w, "vm: the console has no stack dump: see the last lines of %s\n", path)
			continue
		}
		fmt.Fprintf(w, "vm: the guest's stacks at %s:%d (blocked tasks, CPUs, and the tasks of %s; %d other tasks left out):\n",
			path, d.Line+1, guest.Comm(r.Package), d.Omitted)
		for _, l := range d.Lines {
			fmt.Fprintln(w, "  | "+strings.TrimRight(l, "\r"))
		}
		if !d.Ended {
			fmt.Fprintln(w, "vm: the console ends inside the dump")
		}
		shown = true
	}
	return shown
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
