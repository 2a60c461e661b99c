// Command vmtest boots the kernel with the initramfs, waits for the guest's
// suites, prints a report and exits with the verdict's code:
//
//	0 passed, 1 a test failed, 2 the VM or harness broke,
//	3 a kernel splat (panic, Oops, BUG, WARNING, KASAN...), 4 timeout.
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
	accel := flag.String("accel", "auto", "auto (KVM when it works, else TCG), kvm or tcg")
	appendArgs := flag.String("append", "", "extra kernel parameters")
	verbose := flag.Bool("v", false, "stream the console while the guest runs")
	flag.Parse()
	if cfg.Kernel == "" || cfg.Initramfs == "" {
		fmt.Fprintln(os.Stderr, "usage: vmtest -kernel BZIMAGE -initramfs CPIO [-out DIR] [-timeout D] [-v] [-- TEST ARGS]")
		os.Exit(int(verdict.VMBroke))
	}
	cfg.Accel = qemu.Accelerator(*accel)
	cfg.Append = strings.Fields(*appendArgs)
	cfg.InitArgs = flag.Args()
	if *verbose {
		cfg.Console = os.Stdout
	}
	os.Exit(int(run(cfg, os.Stdout)))
}

func run(cfg qemu.Config, w io.Writer) verdict.Code {
	fmt.Fprintf(w, "vm: booting %s, %d CPUs, %s, timeout %v\n", cfg.Kernel, cfg.CPUs, cfg.Memory, cfg.Timeout)
	res := qemu.Run(cfg)
	fmt.Fprintf(w, "vm: ran under %s\n", res.Accel)
	in := verdict.Input{TimedOut: res.TimedOut, QEMUErr: res.Err}
	if b, err := os.ReadFile(res.ConsolePath); err == nil {
		in.Console = string(b)
	}
	if f, err := os.Open(res.ResultsPath); err == nil {
		in.Results, err = guest.Parse(f)
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
	if v.Code != verdict.Passed {
		printConsole(w, in.Console, v.Splats, res.ConsolePath)
	}
	fmt.Fprintf(w, "vm: guest ran %.1fs wall, init's first line after %.2fs; console in %s\n", res.Wall.Seconds(), res.FirstInit.Seconds(), res.ConsolePath)
	fmt.Fprintf(w, "verdict: %v (exit %d)\n", v.Code, v.Code)
	for _, r := range v.Reasons {
		fmt.Fprintf(w, "  %s\n", r)
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
// report with the lines that follow it, or else the tail.
func printConsole(w io.Writer, console string, splats []verdict.Splat, path string) {
	lines := strings.Split(strings.TrimRight(console, "\n"), "\n")
	show := func(from, to int) {
		from, to = max(from, 0), min(to, len(lines))
		for _, l := range lines[from:to] {
			fmt.Fprintln(w, "  | "+strings.TrimRight(l, "\r"))
		}
	}
	if len(splats) == 0 {
		fmt.Fprintf(w, "vm: last lines of %s:\n", path)
		show(len(lines)-40, len(lines))
		return
	}
	shownTo := -1
	for _, s := range splats {
		if s.Line < shownTo {
			continue
		}
		fmt.Fprintf(w, "vm: kernel report at %s:%d:\n", path, s.Line+1)
		show(s.Line-2, s.Line+40)
		shownTo = s.Line + 40
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
